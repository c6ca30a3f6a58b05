-- Cost per customer per day per service and rule: what each customer's cost is made of.
SELECT
  usage_date,
  max(billing_period) AS billing_period,
  customer_id,
  service,
  rule_id,
  driver,
  sum(cost) AS cost,
  ${rules_version} AS rules_version,
  ${run_id} AS run_id
FROM ${allocated_cost}
WHERE outcome = 'customer'
GROUP BY usage_date, customer_id, service, rule_id, driver
HAVING sum(cost) <> 0
