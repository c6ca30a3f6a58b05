-- Freemium cliff as of day D (docs/alerts.md): the median 30-day cost of active trial customers against that
-- of active paid customers. A customer with no cost in the window counts as 0. The median of an even
-- count is the mean of the two middle values; it is computed exactly with window functions (no
-- approx_percentile), the same way on both engines. One row per plan status present.
WITH billing_days AS (
  SELECT count(*) AS days_with_data
  FROM ${daily_summary}
  WHERE usage_date BETWEEN ${window_start} AND ${as_of}
),
-- Trial and paid customers active on D (athena/alerts/active_customers.sql).
active_customers AS (
  SELECT customer_id, plan_status
  FROM (${active_customers}) AS c
  WHERE plan_status IN ('trial', 'paid')
),
window_costs AS (
  SELECT customer_id, sum(total_cost) AS cost_in_window
  FROM ${customer_daily_cost}
  WHERE usage_date BETWEEN ${window_start} AND ${as_of}
  GROUP BY customer_id
),
ranked AS (
  SELECT
    a.plan_status,
    coalesce(w.cost_in_window, 0) * 30 / NULLIF(CAST(b.days_with_data AS double), 0) AS cost_30d,
    row_number() OVER (PARTITION BY a.plan_status ORDER BY coalesce(w.cost_in_window, 0), a.customer_id) AS position,
    count(*) OVER (PARTITION BY a.plan_status) AS customers
  FROM active_customers AS a
  CROSS JOIN billing_days AS b
  LEFT JOIN window_costs AS w ON w.customer_id = a.customer_id
)
-- Odd n: the middle position (2p = n + 1). Even n: the two middle positions (2p = n, 2p = n + 2).
SELECT plan_status, max(customers) AS customers, avg(cost_30d) AS median_cost_30d
FROM ranked
WHERE 2 * position BETWEEN customers AND customers + 2
GROUP BY plan_status
