-- cost_trend_7d as of day D (docs/alerts.md): customers active on D whose cost over the last 7 days
-- [D-6, D] grew more than ${trend_growth} over the 7 days before [D-13, D-7], by at least
-- ${trend_min_increase}, and more than ${trend_over_revenue} faster than their revenue (g - r, with
-- r = (mrr(D) - mrr(D-7)) / mrr(D-7), 0 when mrr(D-7) is 0 or the customer had no version on D-7),
-- when all 14 days have billing data. Window bounds arrive as DATE literals:
-- ${window_start} = D-29, ${trend_start} = D-13, ${previous_end} = D-7, ${current_start} = D-6,
-- ${as_of} = D. Only customers that fire are returned.
WITH billing_days AS (
  SELECT usage_date FROM ${daily_summary} WHERE usage_date BETWEEN ${window_start} AND ${as_of}
),
window_days AS (
  SELECT
    count(*) AS days_with_data,
    count(CASE WHEN usage_date >= ${trend_start} THEN 1 END) AS trend_days_with_data
  FROM billing_days
),
-- The MRR a week before, from the version in force on D-7, for the revenue growth r.
versions_week_before AS (
  SELECT customer_id, max(effective_from) AS effective_from
  FROM ${customers}
  WHERE effective_from IS NULL OR effective_from <= ${previous_end}
  GROUP BY customer_id
),
mrr_week_before AS (
  SELECT DISTINCT c.customer_id, c.mrr
  FROM ${customers} AS c
  JOIN versions_week_before AS v
    ON v.customer_id = c.customer_id AND v.effective_from IS NOT DISTINCT FROM c.effective_from
),
-- Customers active on D, with the fields of their version in force (athena/alerts/active_customers.sql).
active_customers AS (${active_customers}),
window_costs AS (
  SELECT
    customer_id,
    sum(total_cost) AS cost_in_window,
    sum(CASE WHEN usage_date BETWEEN ${trend_start} AND ${previous_end} THEN total_cost ELSE 0 END) AS previous_7d,
    sum(CASE WHEN usage_date >= ${current_start} THEN total_cost ELSE 0 END) AS current_7d
  FROM ${customer_daily_cost}
  WHERE usage_date BETWEEN ${window_start} AND ${as_of}
  GROUP BY customer_id
),
facts AS (
  SELECT
    a.customer_id, a.name, a.tier, a.plan_status, a.mrr, a.owner_team,
    -- The alert carries the 30-day cost too, scaled as cost_to_mrr scales it (docs/alerts.md).
    coalesce(w.cost_in_window, 0) * 30 / NULLIF(CAST(d.days_with_data AS double), 0) AS cost_30d,
    coalesce(w.previous_7d, 0) AS previous_7d,
    coalesce(w.current_7d, 0) AS current_7d,
    coalesce((a.mrr - b.mrr) / NULLIF(CAST(b.mrr AS double), 0), 0) AS revenue_growth,
    d.trend_days_with_data
  FROM active_customers AS a
  CROSS JOIN window_days AS d
  LEFT JOIN window_costs AS w ON w.customer_id = a.customer_id
  LEFT JOIN mrr_week_before AS b ON b.customer_id = a.customer_id
),
growth AS (
  SELECT *, (current_7d - previous_7d) / NULLIF(previous_7d, 0) AS cost_growth
  FROM facts
  WHERE trend_days_with_data = 14 AND previous_7d > 0
)
SELECT
  customer_id, name, tier, plan_status, mrr, owner_team, cost_30d, previous_7d, current_7d,
  cost_growth AS measured, revenue_growth,
  ${trend_growth} AS threshold
FROM growth
WHERE cost_growth > ${trend_growth}
  AND current_7d - previous_7d >= ${trend_min_increase}
  AND cost_growth - revenue_growth > ${trend_over_revenue}
