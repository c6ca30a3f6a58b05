-- Telemetry rows no run may use (docs/attribution.md 1.2 and 6.1): a missing or unreadable date, an
-- empty tenant or metric, a missing, non-finite or negative quantity. One row per bad row, the first
-- ten by object and values, each with the count of all bad rows: the run fails naming the object and
-- the row's values (Athena knows a row's object, "$path", not its line number).
SELECT source_file, usage_date, tenant_id, metric, quantity, problem, bad_rows
FROM (
  SELECT source_file, usage_date, tenant_id, metric, quantity, problem, count(*) OVER () AS bad_rows
  FROM (
    SELECT
      source_file,
      usage_date,
      tenant_id,
      metric,
      quantity,
      CASE
        WHEN usage_date IS NULL THEN 'usage_date is missing or not a date (YYYY-MM-DD)'
        WHEN tenant_id IS NULL OR tenant_id = '' THEN 'tenant_id is empty'
        WHEN metric IS NULL OR metric = '' THEN 'metric is empty'
        WHEN quantity IS NULL THEN 'quantity is missing'
        WHEN NOT is_finite(quantity) THEN 'quantity is not a finite number'
        WHEN quantity < 0 THEN 'quantity is negative'
      END AS problem
    FROM ${usage_rows}
  ) AS checked
  WHERE problem IS NOT NULL
) AS bad
ORDER BY source_file, usage_date NULLS FIRST, tenant_id NULLS FIRST, metric NULLS FIRST, quantity NULLS FIRST
LIMIT 10
