-- Cost per customer per day (docs/attribution.md section 5), with the customer's dimension fields of the
-- version in force on the day (1.3: the greatest effective_from <= usage_date; NULL is the beginning).
-- Outputs are per usage day, each day labelled with its one billing month (classified_cost.sql), so a day
-- never appears twice.
WITH customer_totals AS (
  SELECT
    usage_date,
    max(billing_period) AS billing_period,
    customer_id,
    sum(CASE WHEN rule_id = 'direct' THEN cost ELSE 0 END) AS direct_cost,
    sum(CASE WHEN rule_id = 'direct' THEN 0 ELSE cost END) AS shared_cost,
    sum(cost) AS total_cost,
    max(currency) AS currency
  FROM ${allocated_cost}
  WHERE outcome = 'customer'
  GROUP BY usage_date, customer_id
),
-- One row per customer version (a version's tenants agree on these fields, customer_versions.sql).
customer_fields AS (
  SELECT DISTINCT customer_id, name, tier, plan_status, mrr, valid_from, valid_to
  FROM ${customer_versions}
)
SELECT
  t.usage_date,
  t.billing_period,
  t.customer_id,
  f.name AS customer_name,
  f.tier,
  f.plan_status,
  f.mrr,
  t.direct_cost,
  t.shared_cost,
  t.total_cost,
  t.currency,
  ${rules_version} AS rules_version,
  ${run_id} AS run_id
FROM customer_totals AS t
JOIN customer_fields AS f
  ON f.customer_id = t.customer_id
  AND f.valid_from <= t.usage_date
  AND t.usage_date < f.valid_to
WHERE t.total_cost <> 0
