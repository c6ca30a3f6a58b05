-- Cost that reaches no customer, and why (docs/attribution.md sections 3 and 4).
SELECT
  usage_date,
  max(billing_period) AS billing_period,
  reason,
  service,
  sum(cost) AS cost,
  ${rules_version} AS rules_version,
  ${run_id} AS run_id
FROM ${allocated_cost}
WHERE outcome = 'unattributed'
GROUP BY usage_date, reason, service
HAVING sum(cost) <> 0
