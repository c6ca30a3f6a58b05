-- The telemetry a run uses (docs/attribution.md 1.2), read once and stored, so that the check
-- (invalid_telemetry.sql) and the sharing (drivers/metric.sql) see the very same rows. tenant_id and
-- metric are trimmed here, as tag values and customer ids are (trimmed_tenant_id and trimmed_metric: the
-- characters JavaScript's trim removes, lib/engine/athena-id-blanks.ts), the same text on every engine;
-- source_file is the object a row came from (Athena's "$path", the file's path locally). With
-- "tenantIdNormalization": "lowercase" (1.5) tenant ids are lower-cased, as tags and customers are.
-- event_id (optional, a streamed record's id): Firehose delivers at least once, so a record its sender
-- retried can arrive twice, in two objects; rows with the same event_id count once (the one of the first
-- file). Rows without an id are each counted.
WITH rows AS (
  SELECT
    usage_date,
    CASE WHEN ${tenant_id_normalization} = 'lowercase' THEN lower(${trimmed_tenant_id})
      ELSE ${trimmed_tenant_id} END AS tenant_id,
    ${trimmed_metric} AS metric,
    quantity,
    event_id,
    source_file
  FROM ${telemetry}
)
SELECT usage_date, tenant_id, metric, quantity, source_file
FROM rows
WHERE event_id IS NULL
UNION ALL
SELECT usage_date, tenant_id, metric, quantity, source_file
FROM (
  -- Ordered on every column, so both engines keep the same row even for two different rows that
  -- (wrongly) share an id.
  SELECT
    usage_date, tenant_id, metric, quantity, source_file,
    row_number() OVER (
      PARTITION BY event_id ORDER BY source_file, usage_date, tenant_id, metric, quantity
    ) AS copy
  FROM rows
  WHERE event_id IS NOT NULL
) AS numbered
WHERE copy = 1
