-- The drill-down's unit costs: the finance view customer_unit_cost for the listed customers in the billing
-- period, one row per metric the customer used or was charged by.
SELECT
  u.customer_id,
  u.metric,
  u.unit,
  u.units,
  u.metric_cost,
  u.cost_per_unit,
  u.average_cost_per_unit,
  u.customer_cost_per_unit
FROM ${customer_unit_cost} AS u
WHERE u.billing_period = ${billing_period}
  AND u.customer_id IN (SELECT l.customer_id FROM ${listed_customers} AS l)
ORDER BY u.customer_id, u.metric
