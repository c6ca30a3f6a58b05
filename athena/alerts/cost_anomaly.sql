-- cost_anomaly as of day D (docs/alerts.md): customers active on D whose cost on D is far above their own
-- usual day. The baseline days are the days of [D-N, D-1] (${baseline_start} to ${baseline_end}) with
-- billing data on which the customer was active (its version in force that day, attribution.md 1.3); a
-- baseline day without cost for the customer counts as 0. With at least ${min_history_days} of them,
-- m = the median and MAD = the median absolute deviation of its daily cost; it fires when
-- cost(D) > m + ${mad_multiplier} x 1.4826 x MAD, and the impact cost(D) - m is at least ${min_impact} and
-- at least ${relative_impact} x m. Medians are exact (an even count takes the mean of the two middle
-- values), by window functions, the same on both engines. One row per firing customer and rising service
-- (at most three: the services whose cost on D rose most above their own baseline median), or one row
-- with no service when none rose.
WITH billing_days AS (
  SELECT DISTINCT usage_date AS day
  FROM ${daily_summary}
  WHERE usage_date BETWEEN ${baseline_start} AND ${as_of}
),
window_days AS (
  SELECT count(*) AS days_with_data
  FROM ${daily_summary}
  WHERE usage_date BETWEEN ${window_start} AND ${as_of}
),
-- The version of each customer in force on each billing day: the greatest effective_from <= that day,
-- NULL being the beginning; a customer whose first version is later does not exist yet.
day_versions AS (
  SELECT c.customer_id, b.day, max(c.effective_from) AS effective_from
  FROM ${customers} AS c
  CROSS JOIN billing_days AS b
  WHERE c.effective_from IS NULL OR c.effective_from <= b.day
  GROUP BY c.customer_id, b.day
),
active_days AS (
  SELECT DISTINCT v.customer_id, v.day
  FROM day_versions AS v
  JOIN ${customers} AS c
    ON c.customer_id = v.customer_id AND c.effective_from IS NOT DISTINCT FROM v.effective_from
  WHERE (c.start_date IS NULL OR c.start_date <= v.day) AND (c.end_date IS NULL OR v.day <= c.end_date)
),
-- The customer's fields on D, for customers active on D.
active_on_d AS (
  SELECT DISTINCT c.customer_id, c.name, c.tier, c.plan_status, c.mrr, c.owner_team
  FROM day_versions AS v
  JOIN ${customers} AS c
    ON c.customer_id = v.customer_id AND c.effective_from IS NOT DISTINCT FROM v.effective_from
  WHERE v.day = ${as_of}
    AND (c.start_date IS NULL OR c.start_date <= ${as_of}) AND (c.end_date IS NULL OR ${as_of} <= c.end_date)
),
day_costs AS (
  SELECT customer_id, usage_date AS day, sum(total_cost) AS cost
  FROM ${customer_daily_cost}
  WHERE usage_date BETWEEN ${baseline_start} AND ${as_of}
  GROUP BY customer_id, usage_date
),
baseline AS (
  SELECT a.customer_id, coalesce(k.cost, 0) AS cost
  FROM active_days AS a
  LEFT JOIN day_costs AS k ON k.customer_id = a.customer_id AND k.day = a.day
  WHERE a.day <= ${baseline_end}
),
-- The median and the MAD in one line of window steps (no self-join, which Trino would plan as copies of
-- the whole chain): position and count, the median as the mean of the middle position(s) (odd n: 2p =
-- n + 1; even n: 2p = n and 2p = n + 2), then the same over the absolute deviations from it.
baseline_ranked AS (
  SELECT
    customer_id,
    cost,
    row_number() OVER (PARTITION BY customer_id ORDER BY cost) AS position,
    count(*) OVER (PARTITION BY customer_id) AS days
  FROM baseline
),
with_median AS (
  SELECT
    customer_id,
    cost,
    days,
    avg(CASE WHEN 2 * position BETWEEN days AND days + 2 THEN cost END)
      OVER (PARTITION BY customer_id) AS median_cost
  FROM baseline_ranked
),
deviations_ranked AS (
  SELECT
    customer_id,
    days,
    median_cost,
    abs(cost - median_cost) AS deviation,
    row_number() OVER (PARTITION BY customer_id ORDER BY abs(cost - median_cost)) AS position
  FROM with_median
),
baselines AS (
  SELECT
    customer_id,
    max(days) AS baseline_days,
    max(median_cost) AS median_cost,
    avg(CASE WHEN 2 * position BETWEEN days AND days + 2 THEN deviation END) AS mad
  FROM deviations_ranked
  GROUP BY customer_id
  HAVING max(days) >= ${min_history_days}
),
window_costs AS (
  SELECT customer_id, sum(total_cost) AS cost_in_window
  FROM ${customer_daily_cost}
  WHERE usage_date BETWEEN ${window_start} AND ${as_of}
  GROUP BY customer_id
),
measured AS (
  SELECT
    a.customer_id, a.name, a.tier, a.plan_status, a.mrr, a.owner_team,
    coalesce(w.cost_in_window, 0) * 30 / NULLIF(CAST(d.days_with_data AS double), 0) AS cost_30d,
    b.baseline_days,
    b.median_cost,
    b.mad,
    coalesce(t.cost, 0) AS cost_today,
    b.median_cost + ${mad_multiplier} * CAST(1.4826 AS double) * b.mad AS threshold
  FROM active_on_d AS a
  CROSS JOIN window_days AS d
  JOIN baselines AS b ON b.customer_id = a.customer_id
  LEFT JOIN day_costs AS t ON t.customer_id = a.customer_id AND t.day = ${as_of}
  LEFT JOIN window_costs AS w ON w.customer_id = a.customer_id
),
fired AS (
  SELECT *
  FROM measured
  WHERE cost_today > threshold
    AND cost_today - median_cost >= ${min_impact}
    AND cost_today - median_cost >= ${relative_impact} * median_cost
),
-- Each service a firing customer has cost for on D, against its own baseline median over the customer's
-- baseline days (0 on a day without cost). Only a service with cost on D can have risen; only the
-- firing customers' services are ranked (all of them would be millions of rows at 5,000 customers).
service_costs AS (
  SELECT customer_id, service, usage_date AS day, sum(cost) AS cost
  FROM ${customer_daily_service_cost}
  WHERE usage_date BETWEEN ${baseline_start} AND ${as_of} AND customer_id IN (SELECT customer_id FROM fired)
  GROUP BY customer_id, service, usage_date
),
service_baseline_ranked AS (
  SELECT
    o.customer_id,
    o.service,
    o.cost AS cost_today,
    coalesce(s.cost, 0) AS cost,
    row_number() OVER (PARTITION BY o.customer_id, o.service ORDER BY coalesce(s.cost, 0)) AS position,
    count(*) OVER (PARTITION BY o.customer_id, o.service) AS days
  FROM service_costs AS o
  JOIN active_days AS a ON a.customer_id = o.customer_id AND a.day <= ${baseline_end}
  LEFT JOIN service_costs AS s ON s.customer_id = o.customer_id AND s.service = o.service AND s.day = a.day
  WHERE o.day = ${as_of} AND o.cost > 0
),
service_rises AS (
  SELECT
    customer_id,
    service,
    max(cost_today) - avg(CASE WHEN 2 * position BETWEEN days AND days + 2 THEN cost END) AS rise
  FROM service_baseline_ranked
  GROUP BY customer_id, service
),
ranked_rises AS (
  SELECT customer_id, service, rise, row_number() OVER (PARTITION BY customer_id ORDER BY rise DESC, service) AS rise_rank
  FROM service_rises
  WHERE rise > 0
)
SELECT
  f.customer_id, f.name, f.tier, f.plan_status, f.mrr, f.owner_team, f.cost_30d,
  f.baseline_days, f.median_cost, f.mad, f.cost_today AS measured, f.threshold,
  r.service AS rising_service, r.rise AS rising_cost, r.rise_rank
FROM fired AS f
LEFT JOIN ranked_rises AS r ON r.customer_id = f.customer_id AND r.rise_rank <= 3
