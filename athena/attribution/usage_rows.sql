-- The telemetry a run uses (docs/attribution.md 1.2), read once and stored, so that the check
-- (invalid_telemetry.sql) and the sharing (drivers/metric.sql) see the very same rows. tenant_id and
-- metric are trimmed here, as tag values and customer ids are (id_blanks: the characters JavaScript's
-- trim removes, lib/engine/athena-id-blanks.ts), the same text on every engine;
-- source_file is the object a row came from (Athena's "$path", the file's path locally). With
-- "tenantIdNormalization": "lowercase" (1.5) tenant ids are lower-cased, as tags and customers are.
SELECT
  usage_date,
  CASE WHEN ${tenant_id_normalization} = 'lowercase' THEN lower(trim(BOTH ${id_blanks} FROM tenant_id))
    ELSE trim(BOTH ${id_blanks} FROM tenant_id) END AS tenant_id,
  trim(BOTH ${id_blanks} FROM metric) AS metric,
  quantity,
  source_file
FROM ${telemetry}
