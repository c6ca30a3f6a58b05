-- Cost per customer per day per provider, service and rule: what each customer's cost is made of. The
-- ledger's customer rows are already unique at this grain.
SELECT
  usage_date,
  billing_period,
  customer_id,
  provider,
  service,
  rule_id,
  driver,
  cost,
  currency,
  ${rules_version} AS rules_version,
  ${run_id} AS run_id
FROM ${allocated_cost}
WHERE outcome = 'customer'
