-- Cost that reaches no customer, and why, by provider and service (docs/attribution.md sections 3 and 4).
SELECT
  usage_date,
  max(billing_period) AS billing_period,
  reason,
  provider,
  service,
  sum(cost) AS cost,
  max(currency) AS currency,
  ${rules_version} AS rules_version,
  ${run_id} AS run_id
FROM ${allocated_cost}
WHERE outcome = 'unattributed'
GROUP BY usage_date, reason, provider, service
HAVING sum(cost) <> 0
