-- unit_cost (docs/finance.md): what one unit of usage costs, for every rule that shares its pool by a
-- telemetry metric. One row per (billing_period, rule_id, service, metric) with cost from such a rule; a
-- rule has one metric, so this is one row per month, rule and service (metric is in the key only for a
-- month in which the rules changed a rule's metric).
--
-- Definitions:
-- - Months: every usage day belongs to the billing month daily_summary labels it with (the later label if a day's
--   rows name two), for cost and usage alike, so both sides cover the same days.
-- - Metric driver: a rule whose driver column names a plain metric (`requests`) or a windowed one
--   (`requests/7d`, metric `requests`). Direct cost (`tag`), `even`, `mrr`, `fixed` and weighted blends
--   (`weights(...)`) are not per unit of one metric and have no row: a blend's cost is caused by several
--   drivers at once, so dividing it by one metric would overstate that metric's price.
-- - cost: the rule's cost for the service that reached customers in the month (customer_daily_service_cost).
--   Shares of a pool that went to unknown tenants or found no usage are unattributed and not in it.
-- - quantity: the customers' usage of the metric in the month (customer_daily_usage, every customer).
--   Customers' cost over customers' usage: on each day a metric pool is shared at one price per unit
--   (pool / total quantity), which is what cost / quantity returns for a one-day window.
-- - metric_kind: `bytes` for a metric whose name ends in `bytes` (storage_bytes): a daily observation of
--   bytes stored; every other metric is a `count` (requests, events, ...).
-- - unit and units: counts are priced per 1,000 (units = quantity / 1000, unit `1,000 <metric>`); bytes
--   per GB-month (unit `GB-month`): units = sum over the month's days of bytes / 2^30 (1 GB = 2^30 bytes,
--   the gigabyte of cloud storage prices), divided by the calendar days of the billing month, so 1 GB
--   stored every day of a month is 1 GB-month and an open month counts the days it has so far.
-- - cost_per_unit = cost / units (NULL when units is 0: a windowed rule can charge on a day of the month
--   from usage before it).
-- - metric_customers: customers with usage of the metric in the month. active_customers: customers with
--   any cost in the month (the population of customer_monthly_cost and tier_margin; with the shipped
--   rules' even split these are the customers active in the customer dimension). cost_per_active_customer
--   = cost / active_customers.
-- - is_complete: as in customer_monthly_cost (false while the billing month is still open).
WITH month_status AS (${billing_months}),
day_labels AS (${day_labels}),
metric_costs AS (${metric_driver_costs}),
rule_costs AS (
  SELECT billing_period, rule_id, service, metric, max(driver) AS driver, sum(cost) AS rule_cost
  FROM metric_costs
  GROUP BY billing_period, rule_id, service, metric
),
metric_usage AS (
  SELECT
    d.billing_period,
    u.metric,
    sum(u.quantity) AS quantity,
    count(DISTINCT u.customer_id) AS metric_customers
  FROM ${customer_daily_usage} AS u
  JOIN day_labels AS d ON d.usage_date = u.usage_date
  GROUP BY d.billing_period, u.metric
),
active AS (
  SELECT d.billing_period, count(DISTINCT c.customer_id) AS active_customers
  FROM ${customer_daily_cost} AS c
  JOIN day_labels AS d ON d.usage_date = c.usage_date
  GROUP BY d.billing_period
),
priced AS (
  SELECT
    r.billing_period,
    r.rule_id,
    r.service,
    r.driver,
    r.metric,
    CASE WHEN lower(r.metric) LIKE '%bytes' THEN 'bytes' ELSE 'count' END AS metric_kind,
    r.rule_cost,
    coalesce(u.quantity, 0) AS quantity,
    CASE
      WHEN lower(r.metric) LIKE '%bytes'
        THEN coalesce(u.quantity, 0) / CAST(1073741824 AS double) / CAST(m.days_in_month AS double)
      ELSE coalesce(u.quantity, 0) / CAST(1000 AS double)
    END AS units,
    CAST(coalesce(u.metric_customers, 0) AS integer) AS metric_customers,
    CAST(coalesce(a.active_customers, 0) AS integer) AS active_customers,
    coalesce(m.is_complete, false) AS is_complete
  FROM rule_costs AS r
  LEFT JOIN metric_usage AS u ON u.billing_period = r.billing_period AND u.metric = r.metric
  LEFT JOIN active AS a ON a.billing_period = r.billing_period
  LEFT JOIN month_status AS m ON m.billing_period = r.billing_period
)
SELECT
  billing_period,
  rule_id,
  service,
  driver,
  metric,
  metric_kind,
  CASE WHEN metric_kind = 'bytes' THEN 'GB-month' ELSE concat('1,000 ', metric) END AS unit,
  rule_cost AS cost,
  quantity,
  units,
  rule_cost / NULLIF(units, 0) AS cost_per_unit,
  metric_customers,
  active_customers,
  rule_cost / NULLIF(CAST(active_customers AS double), 0) AS cost_per_active_customer,
  is_complete
FROM priced
