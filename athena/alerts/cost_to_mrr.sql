-- cost_to_mrr as of day D (docs/alerts.md): customers active on D whose cost over [D-29, D], scaled to 30
-- days, is above ${p2_ratio} (P2) or ${p1_ratio} (P1) of their MRR and at least ${min_monthly_cost} (the
-- materiality floor). Window bounds arrive as DATE literals:
-- ${window_start} = D-29, ${as_of} = D. Only customers that fire are returned, so evaluation stays one
-- small result even for 100,000 customers.
WITH window_days AS (
  SELECT count(*) AS days_with_data
  FROM ${daily_summary}
  WHERE usage_date BETWEEN ${window_start} AND ${as_of}
),
-- Customers active on D, with the fields of their version in force (athena/alerts/active_customers.sql).
active_customers AS (${active_customers}),
window_costs AS (
  SELECT customer_id, sum(total_cost) AS cost_in_window
  FROM ${customer_daily_cost}
  WHERE usage_date BETWEEN ${window_start} AND ${as_of}
  GROUP BY customer_id
),
facts AS (
  SELECT
    a.customer_id, a.name, a.tier, a.plan_status, a.mrr, a.owner_team,
    -- Fewer than 30 days of billing data: scale to 30 days (docs/alerts.md).
    coalesce(w.cost_in_window, 0) * 30 / NULLIF(CAST(d.days_with_data AS double), 0) AS cost_30d
  FROM active_customers AS a
  CROSS JOIN window_days AS d
  LEFT JOIN window_costs AS w ON w.customer_id = a.customer_id
)
SELECT
  CASE WHEN cost_30d / NULLIF(mrr, 0) > ${p1_ratio} THEN 'P1' ELSE 'P2' END AS severity,
  customer_id, name, tier, plan_status, mrr, owner_team, cost_30d,
  cost_30d / NULLIF(mrr, 0) AS measured,
  CASE WHEN cost_30d / NULLIF(mrr, 0) > ${p1_ratio} THEN ${p1_ratio} ELSE ${p2_ratio} END AS threshold
FROM facts
WHERE mrr > 0 AND cost_30d / NULLIF(mrr, 0) > ${p2_ratio} AND cost_30d >= ${min_monthly_cost}
