-- customer_unit_cost (docs/finance.md): what a unit of a customer's own usage costs. One row per
-- (billing_period, customer_id, metric) for every metric the customer used in the month or was charged
-- by.
--
-- Definitions, the same as unit_cost's (months as daily_summary labels the days, metric drivers, kinds
-- and units), per customer:
-- - quantity: the customer's usage of the metric in the month (customer_daily_usage). units: per 1,000
--   for a count, GB-months for bytes (a metric whose name ends in `bytes`; bytes / 2^30 summed over the
--   month's days, divided by the month's calendar days).
-- - metric_cost: the customer's cost in the month from the rules whose driver is this metric (plain or
--   windowed; blends are not counted, see unit_cost). cost_per_unit = metric_cost / units (NULL when
--   units is 0).
-- - average_cost_per_unit: the same over all customers (the metric's cost over the metric's usage, which
--   is unit_cost summed over the metric's rules and services). A customer above it is charged more per
--   unit than the average, which a windowed driver or usage on pricier days can cause.
-- - customer_cost: the customer's whole cost in the month, every rule and direct cost
--   (customer_daily_cost). customer_cost_per_unit = customer_cost / units: the all-in cost of serving a
--   unit of this customer's usage (each metric's row divides the same whole cost; they do not add up).
-- - customer_name, tier, plan_status: as on the customer's latest usage day with cost in the month (NULL
--   for a customer with usage but no cost).
-- - is_complete: as in customer_monthly_cost (false while the billing month is still open).
WITH month_status AS (${billing_months}),
day_labels AS (${day_labels}),
metric_costs AS (
  SELECT billing_period, customer_id, metric, sum(cost) AS metric_cost
  FROM (${metric_driver_costs}) AS m
  GROUP BY billing_period, customer_id, metric
),
customer_usage AS (
  SELECT d.billing_period, u.customer_id, u.metric, sum(u.quantity) AS quantity
  FROM ${customer_daily_usage} AS u
  JOIN day_labels AS d ON d.usage_date = u.usage_date
  GROUP BY d.billing_period, u.customer_id, u.metric
),
customer_metrics AS (
  SELECT billing_period, customer_id, metric FROM customer_usage
  UNION
  SELECT billing_period, customer_id, metric FROM metric_costs
),
customer_months AS (
  SELECT
    d.billing_period,
    c.customer_id,
    max_by(c.customer_name, c.usage_date) AS customer_name,
    max_by(c.tier, c.usage_date) AS tier,
    max_by(c.plan_status, c.usage_date) AS plan_status,
    sum(c.total_cost) AS customer_cost
  FROM ${customer_daily_cost} AS c
  JOIN day_labels AS d ON d.usage_date = c.usage_date
  GROUP BY d.billing_period, c.customer_id
),
priced AS (
  SELECT
    k.billing_period,
    k.customer_id,
    k.metric,
    CASE WHEN lower(k.metric) LIKE '%bytes' THEN 'bytes' ELSE 'count' END AS metric_kind,
    coalesce(u.quantity, 0) AS quantity,
    CASE
      WHEN lower(k.metric) LIKE '%bytes'
        THEN coalesce(u.quantity, 0) / CAST(1073741824 AS double) / CAST(m.days_in_month AS double)
      ELSE coalesce(u.quantity, 0) / CAST(1000 AS double)
    END AS units,
    coalesce(c.metric_cost, 0) AS metric_cost,
    cm.customer_name,
    cm.tier,
    cm.plan_status,
    coalesce(cm.customer_cost, 0) AS customer_cost,
    coalesce(m.is_complete, false) AS is_complete
  FROM customer_metrics AS k
  LEFT JOIN customer_usage AS u
    ON u.billing_period = k.billing_period AND u.customer_id = k.customer_id AND u.metric = k.metric
  LEFT JOIN metric_costs AS c
    ON c.billing_period = k.billing_period AND c.customer_id = k.customer_id AND c.metric = k.metric
  LEFT JOIN customer_months AS cm ON cm.billing_period = k.billing_period AND cm.customer_id = k.customer_id
  LEFT JOIN month_status AS m ON m.billing_period = k.billing_period
)
SELECT
  billing_period,
  customer_id,
  metric,
  customer_name,
  tier,
  plan_status,
  metric_kind,
  CASE WHEN metric_kind = 'bytes' THEN 'GB-month' ELSE concat('1,000 ', metric) END AS unit,
  quantity,
  units,
  metric_cost,
  metric_cost / NULLIF(units, 0) AS cost_per_unit,
  sum(metric_cost) OVER (PARTITION BY billing_period, metric)
    / NULLIF(sum(units) OVER (PARTITION BY billing_period, metric), 0) AS average_cost_per_unit,
  customer_cost,
  customer_cost / NULLIF(units, 0) AS customer_cost_per_unit,
  is_complete
FROM priced
