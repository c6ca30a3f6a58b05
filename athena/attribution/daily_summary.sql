-- One row per day with billing data (docs/attribution.md section 5). total_cost comes from the classified
-- line items, not from the ledger, so that the conservation check compares two independent sums.
WITH day_totals AS (
  SELECT usage_date, max(billing_period) AS billing_period, sum(cost) AS total_cost, max(currency) AS currency
  FROM ${classified_cost}
  GROUP BY usage_date
),
day_outcomes AS (
  SELECT
    usage_date,
    sum(CASE WHEN outcome = 'customer' AND rule_id = 'direct' THEN cost ELSE 0 END) AS direct_cost,
    sum(CASE WHEN outcome = 'customer' AND rule_id <> 'direct' THEN cost ELSE 0 END) AS shared_cost,
    sum(CASE WHEN outcome = 'unattributed' THEN cost ELSE 0 END) AS unattributed_cost,
    sum(CASE WHEN outcome = 'excluded' THEN cost ELSE 0 END) AS excluded_cost
  FROM ${allocated_cost}
  GROUP BY usage_date
)
SELECT
  t.usage_date,
  t.billing_period,
  t.total_cost,
  coalesce(o.direct_cost, 0) AS direct_cost,
  coalesce(o.shared_cost, 0) AS shared_cost,
  coalesce(o.unattributed_cost, 0) AS unattributed_cost,
  coalesce(o.excluded_cost, 0) AS excluded_cost,
  coalesce(coalesce(o.unattributed_cost, 0) / NULLIF(t.total_cost - coalesce(o.excluded_cost, 0), 0), 0)
    AS unattributed_pct,
  t.currency,
  ${rules_version} AS rules_version,
  ${run_id} AS run_id
FROM day_totals AS t
LEFT JOIN day_outcomes AS o ON o.usage_date = t.usage_date
