-- unattributed_cost (docs/finance.md): where cost that reaches no customer comes from. One row per
-- (usage_date, reason, service) with unattributed cost.
--
-- The view has the name docs/finance.md gives it, which is also the name of the results table it reads: it
-- lives in the finance namespace (the `finance` schema locally, the finance views' own database or
-- prefix in Athena), never beside the results table.
--
-- Definitions:
-- - reason: why no customer got the cost (docs/attribution.md sections 3 and 4: unknown_tenant, no_rule,
--   no_usage_signal, no_active_customers). cost: the results table's cost, unrounded, summed over the
--   grain (the table is already unique at it, the sum only guards the grain).
-- - billing_period: the day's label in daily_summary (its one month; the later one on a day whose rows name two).
-- - attributable_cost: the day's total_cost - excluded_cost, the denominator of unattributed_pct
--   (docs/attribution.md section 5). share_of_attributable_cost = cost / attributable_cost, NULL when that is
--   0, so the shares of one day sum to that day's unattributed_pct.
WITH unattributed AS (
  SELECT
    usage_date,
    max(billing_period) AS billing_period,
    reason,
    service,
    sum(cost) AS unattributed_cost
  FROM ${unattributed_cost}
  GROUP BY usage_date, reason, service
)
SELECT
  u.usage_date,
  coalesce(s.billing_period, u.billing_period) AS billing_period,
  u.reason,
  u.service,
  u.unattributed_cost AS cost,
  s.total_cost - s.excluded_cost AS attributable_cost,
  u.unattributed_cost / NULLIF(s.total_cost - s.excluded_cost, 0) AS share_of_attributable_cost
FROM unattributed AS u
LEFT JOIN ${daily_summary} AS s ON s.usage_date = u.usage_date
