-- The report's customers for the billing period (listed_customers.sql: the costliest and the worst
-- margins), highest cost first.
SELECT
  c.customer_id,
  c.customer_name,
  c.tier,
  c.plan_status,
  c.mrr,
  c.days_with_cost,
  c.direct_cost,
  c.shared_cost,
  c.total_cost,
  c.cost_to_mrr,
  c.is_complete
FROM ${listed_customers} AS c
ORDER BY c.total_cost DESC, c.customer_id
