-- The drill-down's daily line: each listed customer's cost and MRR (the version in force that day) per
-- usage day of the billing period, from customer_daily_cost, whose billing_period already labels a day
-- that spans two billing periods with the later one, as the month's other figures do. A customer has no
-- row on a day without cost.
SELECT
  c.customer_id,
  CAST(c.usage_date AS varchar) AS usage_date,
  c.total_cost,
  c.mrr
FROM ${customer_daily_cost} AS c
WHERE c.billing_period = ${billing_period}
  AND c.customer_id IN (SELECT l.customer_id FROM ${listed_customers} AS l)
ORDER BY c.customer_id, c.usage_date
