-- The report's unit costs: the finance view unit_cost for the billing period, one row per rule with a
-- metric driver and service (cost per 1,000 of a count, per GB-month of bytes, and per active customer).
SELECT
  u.rule_id,
  u.service,
  u.driver,
  u.metric,
  u.unit,
  u.cost,
  u.units,
  u.cost_per_unit,
  u.active_customers,
  u.cost_per_active_customer
FROM ${unit_cost} AS u
WHERE u.billing_period = ${billing_period}
ORDER BY u.cost DESC, u.rule_id, u.service
