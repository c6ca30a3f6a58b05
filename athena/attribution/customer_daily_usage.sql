-- The usage each customer had per day and metric (docs/finance.md "Usage"): the telemetry the run used
-- (usage_rows.sql) of the tenants that belong to a customer on that day (the version in force, 1.3), so
-- unit costs need no access to raw telemetry. Only the run's days (days with billing line items), each
-- labelled with that day's billing period as the cost outputs are; a zero sum is no row.
WITH run_days AS (
  SELECT usage_date, max(billing_period) AS billing_period
  FROM ${classified_cost}
  GROUP BY usage_date
),
-- The same tenant -> customer map in force per day as the ledger's (allocated_cost.sql).
tenant_customers AS (
  SELECT DISTINCT coalesce(nullif(tenant_id, ''), customer_id) AS tenant_id, customer_id, valid_from, valid_to
  FROM ${customer_versions}
)
SELECT
  d.usage_date,
  d.billing_period,
  t.customer_id,
  u.metric,
  sum(u.quantity) AS quantity,
  ${rules_version} AS rules_version,
  ${run_id} AS run_id
FROM ${usage_rows} AS u
JOIN run_days AS d ON d.usage_date = u.usage_date
JOIN tenant_customers AS t
  ON t.tenant_id = u.tenant_id
  AND t.valid_from <= u.usage_date
  AND u.usage_date < t.valid_to
GROUP BY d.usage_date, d.billing_period, t.customer_id, u.metric
HAVING sum(u.quantity) <> 0
