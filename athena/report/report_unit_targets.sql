-- The report's unit-cost targets (the alert configuration's unitCostTargets, docs/alerts.md) measured over
-- the billing month rather than the alert's 30-day window: the customers' cost of the target's scope (one
-- rule or one service, from customer_daily_service_cost) in the month's days, and
--   per customer: that cost / the customers with cost in the month;
--   per metric:   that cost / (the customers' quantity of the metric in the month / per_unit); no quantity,
--                 no figure (NULL).
-- The month's days are the usage days daily_summary labels with it (the later label of a day that spans
-- two billing periods), for cost and usage alike. targets is a VALUES list of (target_id, scope_kind,
-- scope_value, metric, per_unit, target_cost, team) written from the validated configuration.
WITH targets AS (
  SELECT *
  FROM (VALUES ${targets}) AS t(target_id, scope_kind, scope_value, metric, per_unit, target_cost, team)
  -- Without targets the list is one row of NULLs, so the SQL stays valid and returns nothing.
  WHERE t.target_id IS NOT NULL
),
month_days AS (
  SELECT usage_date
  FROM ${daily_summary}
  GROUP BY usage_date
  HAVING max(billing_period) = ${billing_period}
),
active_customers AS (
  SELECT count(DISTINCT customer_id) AS customers
  FROM ${customer_daily_cost}
  WHERE billing_period = ${billing_period}
),
-- Two equality joins rather than one join on an OR (see athena/alerts/unit_cost_target.sql).
scoped_costs AS (
  SELECT target_id, sum(cost) AS cost
  FROM (
    SELECT t.target_id, s.cost
    FROM targets AS t
    JOIN ${customer_daily_service_cost} AS s ON t.scope_kind = 'rule' AND s.rule_id = t.scope_value
    WHERE s.usage_date IN (SELECT usage_date FROM month_days)
    UNION ALL
    SELECT t.target_id, s.cost
    FROM targets AS t
    JOIN ${customer_daily_service_cost} AS s ON t.scope_kind = 'service' AND s.service = t.scope_value
    WHERE s.usage_date IN (SELECT usage_date FROM month_days)
  ) AS scoped
  GROUP BY target_id
),
quantities AS (
  SELECT t.target_id, sum(u.quantity) AS quantity
  FROM targets AS t
  JOIN ${customer_daily_usage} AS u ON u.metric = t.metric
  WHERE u.usage_date IN (SELECT usage_date FROM month_days)
  GROUP BY t.target_id
)
SELECT
  t.target_id,
  t.scope_kind,
  t.scope_value,
  t.metric,
  t.per_unit,
  t.team,
  a.customers AS active_customers,
  coalesce(k.cost, 0) AS cost,
  q.quantity,
  CASE
    WHEN t.metric IS NULL THEN coalesce(k.cost, 0) / NULLIF(CAST(a.customers AS double), 0)
    ELSE coalesce(k.cost, 0) * t.per_unit / NULLIF(q.quantity, 0)
  END AS measured,
  t.target_cost AS target
FROM targets AS t
CROSS JOIN active_customers AS a
LEFT JOIN scoped_costs AS k ON k.target_id = t.target_id
LEFT JOIN quantities AS q ON q.target_id = t.target_id
ORDER BY t.target_id
