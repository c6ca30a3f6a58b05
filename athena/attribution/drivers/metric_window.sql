-- Weights of metric drivers with a window of N > 1 days (docs/attribution.md section 4): on a pool's day d,
-- each tenant's quantity of the metric summed over [d-N+1, d], over every tenant in the telemetry as the
-- run read and checked it (usage_rows.sql), known or not (customer_id NULL: unknown_tenant). The window
-- reaches back before the first day of a month when the telemetry holds those days.
-- ${metric_windows} lists (driver, metric, window_days) for the windows the rules use. The window's start
-- is d - window_days days as an interval times an integer, which Trino and DuckDB both compute as
-- calendar days (date_diff and a three-argument date_add are not portable). A tenant's share goes to its
-- customer on the pool's day d (the tenant -> customer map in force on d).
SELECT d.usage_date, w.driver, t.customer_id, sum(u.quantity) AS weight
FROM ${pool_days} AS d
JOIN ${metric_windows} AS w ON w.driver = d.driver
JOIN ${usage_rows} AS u
  ON u.metric = w.metric
  AND u.usage_date <= d.usage_date
  AND u.usage_date > CAST(d.usage_date - INTERVAL '1' DAY * w.window_days AS date)
LEFT JOIN ${tenant_customers} AS t
  ON t.tenant_id = u.tenant_id
  AND t.valid_from <= d.usage_date
  AND d.usage_date < t.valid_to
GROUP BY d.usage_date, w.driver, t.customer_id
