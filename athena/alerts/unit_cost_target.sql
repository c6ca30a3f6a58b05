-- unit_cost_target as of day D (docs/alerts.md): for each configured target, the unit cost of its scope
-- (the customers' cost of one rule or one service, from the service breakdown) over [D-29, D]:
--   per customer: S / the customers active on D, S scaled to 30 days as cost_30d is;
--   per metric:   S' / (Q / unit), S' unscaled and Q the customers' total quantity of the metric over the
--                 same days (no quantity: no figure, no alert).
-- The targets placeholder is a VALUES list of (target_id, scope_kind, scope_value, metric, per_unit, target_cost, team)
-- written from the validated configuration. Only targets that are exceeded are returned.
WITH targets AS (
  SELECT *
  FROM (VALUES ${targets}) AS t(target_id, scope_kind, scope_value, metric, per_unit, target_cost, team)
),
window_days AS (
  SELECT count(*) AS days_with_data
  FROM ${daily_summary}
  WHERE usage_date BETWEEN ${window_start} AND ${as_of}
),
-- The customers active on D (athena/alerts/active_customers.sql).
active_customers AS (
  SELECT count(*) AS customers FROM (${active_customers}) AS c
),
-- A scope is a rule or a service: two equality joins rather than one join on an OR, which DuckDB would
-- run as a nested loop over the whole breakdown.
scoped_costs AS (
  SELECT target_id, sum(cost) AS cost_in_window
  FROM (
    SELECT t.target_id, s.cost
    FROM targets AS t
    JOIN ${customer_daily_service_cost} AS s ON t.scope_kind = 'rule' AND s.rule_id = t.scope_value
    WHERE s.usage_date BETWEEN ${window_start} AND ${as_of}
    UNION ALL
    SELECT t.target_id, s.cost
    FROM targets AS t
    JOIN ${customer_daily_service_cost} AS s ON t.scope_kind = 'service' AND s.service = t.scope_value
    WHERE s.usage_date BETWEEN ${window_start} AND ${as_of}
  ) AS scoped
  GROUP BY target_id
),
quantities AS (
  SELECT t.target_id, sum(u.quantity) AS quantity
  FROM targets AS t
  JOIN ${customer_daily_usage} AS u ON u.metric = t.metric
  WHERE u.usage_date BETWEEN ${window_start} AND ${as_of}
  GROUP BY t.target_id
),
measured AS (
  SELECT
    t.target_id, t.scope_kind, t.scope_value, t.metric, t.per_unit, t.target_cost, t.team,
    a.customers AS active_customers,
    coalesce(k.cost_in_window, 0) * 30 / NULLIF(CAST(d.days_with_data AS double), 0) AS cost_30d,
    q.quantity,
    CASE
      WHEN t.metric IS NULL
        THEN coalesce(k.cost_in_window, 0) * 30 / NULLIF(CAST(d.days_with_data AS double), 0)
          / NULLIF(CAST(a.customers AS double), 0)
      ELSE coalesce(k.cost_in_window, 0) * t.per_unit / NULLIF(q.quantity, 0)
    END AS unit_cost
  FROM targets AS t
  CROSS JOIN window_days AS d
  CROSS JOIN active_customers AS a
  LEFT JOIN scoped_costs AS k ON k.target_id = t.target_id
  LEFT JOIN quantities AS q ON q.target_id = t.target_id
)
SELECT
  target_id, scope_kind, scope_value, metric, per_unit, team, active_customers, cost_30d, quantity,
  unit_cost AS measured, target_cost AS threshold
FROM measured
WHERE unit_cost > target_cost
