-- The telemetry a run uses (docs/attribution.md 1.2), read once and stored, so that the check
-- (invalid_telemetry.sql) and the sharing (drivers/metric.sql) see the very same rows. tenant_id and
-- metric are trimmed here, as tag values and customer ids are (id_blanks: the characters JavaScript's
-- trim removes, lib/engine/athena-id-blanks.ts), the same text on every engine;
-- source_file is the object a row came from (Athena's "$path", the file's path locally).
SELECT
  usage_date,
  trim(BOTH ${id_blanks} FROM tenant_id) AS tenant_id,
  trim(BOTH ${id_blanks} FROM metric) AS metric,
  quantity,
  source_file
FROM ${telemetry}
