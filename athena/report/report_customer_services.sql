-- The drill-down's cost by service and by rule: each listed customer's cost in the billing period per
-- (provider, service, rule), from customer_daily_service_cost. Its days are the month's as
-- customer_daily_cost labels them (the join), so the rows of a customer sum to its month's cost.
SELECT
  s.customer_id,
  s.provider,
  s.service,
  s.rule_id,
  sum(s.cost) AS cost
FROM ${customer_daily_service_cost} AS s
JOIN ${customer_daily_cost} AS c ON c.usage_date = s.usage_date AND c.customer_id = s.customer_id
WHERE c.billing_period = ${billing_period}
  AND s.customer_id IN (SELECT l.customer_id FROM ${listed_customers} AS l)
GROUP BY s.customer_id, s.provider, s.service, s.rule_id
ORDER BY s.customer_id, sum(s.cost) DESC, s.provider, s.service, s.rule_id
