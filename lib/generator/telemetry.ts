/**
 * Per-tenant daily telemetry, long format (usage_date, tenant_id, metric, quantity), expanded from the
 * same tenant-days as the tagged line items so that usage and cost rise and fall together.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { DEFAULT_METRIC_SHAPE, METRIC_SHAPES, UNKNOWN_TELEMETRY_TENANTS } from './catalog.ts';
import type { Plan } from './plan.ts';
import { boolListLiteral, doubleListLiteral, stringListLiteral, stringLiteral } from './sql-literals.ts';

/** Writes the telemetry Parquet file from the `tenant_days` table (see customers.ts). */
export async function writeTelemetryFile(con: DuckDBConnection, p: Plan, file: string): Promise<void> {
  await con.run(telemetrySourceSql(p));
  await con.run(`COPY (${telemetrySql(p)}) TO ${stringLiteral(file)} (FORMAT parquet, COMPRESSION zstd)`);
}

/** Tenant-days that report telemetry, plus internal tenants the customer file does not know. */
function telemetrySourceSql(p: Plan): string {
  const [canary, loadtest] = UNKNOWN_TELEMETRY_TENANTS;
  return `
  CREATE TABLE telemetry_source AS
  SELECT d, tidx, tenant, w, wd FROM tenant_days
  UNION ALL
  SELECT range AS d, -1, ${stringLiteral(canary)}, 40.0, 40 FROM range(${p.month.days})
  UNION ALL
  SELECT range AS d, -2, ${stringLiteral(loadtest)}, 400.0, 400 FROM range(${p.month.days}) WHERE range % 7 IN (2, 3)
  ORDER BY d, tidx`;
}

/**
 * Daily telemetry, long format. About 2.5% of keys are split over two rows so consumers must sum; in
 * small demos the 10th has no storage_bytes rows, so that day's storage pools have no usage signal.
 */
function telemetrySql(p: Plan): string {
  const shapes = p.metrics.map((m) => METRIC_SHAPES[m] ?? DEFAULT_METRIC_SHAPE);
  const storage = p.metrics.indexOf('storage_bytes');
  const dropTenth = p.customers <= 200 && storage >= 0 ? `WHERE NOT (d = 9 AND mi = ${storage})` : '';
  const integral = `${boolListLiteral(shapes.map((s) => s.integral))}[mi + 1]`;
  return `
  WITH a AS (
    SELECT d, tidx, tenant, w, wd, unnest(range(${p.metrics.length})) AS mi FROM telemetry_source
  ), b AS (
    SELECT *, hs3(tidx, d * 100 + mi, 301) AS h FROM a ${dropTenth}
  ), c AS (
    SELECT *, ${doubleListLiteral(shapes.map((s) => s.perWeight))}[mi + 1] * CASE
        WHEN ${boolListLiteral(shapes.map((s) => s.stock))}[mi + 1]
          THEN w * (1 + 0.008 * d) * (0.99 + 0.02 * u01(h))
        WHEN w < 100 AND u01(hs3(tidx, d * 100 + mi, 302)) < 0.04 THEN 0
        ELSE wd * (0.7 + 0.6 * u01(h)) END AS raw
    FROM b
  ), q AS (
    SELECT *, CASE WHEN ${integral} THEN round(raw) ELSE round(raw, 3) END AS qty,
      0.2 + 0.6 * u01(hs3(tidx, d * 100 + mi, 303)) AS f
    FROM c
  ), s AS (
    SELECT *, unnest(CASE WHEN pick(hs3(tidx, d * 100 + mi, 304), 40) = 0 THEN [0, 1] ELSE [-1] END) AS part
    FROM q
  ), t AS (
    SELECT *, CASE WHEN ${integral} THEN round(qty * f) ELSE round(qty * f, 3) END AS first_part FROM s
  )
  SELECT CAST(DATE ${stringLiteral(p.month.start)} + CAST(d AS INTEGER) AS DATE) AS usage_date,
    tenant AS tenant_id,
    ${stringListLiteral(p.metrics)}[mi + 1] AS metric,
    CAST(CASE part WHEN -1 THEN qty WHEN 0 THEN first_part ELSE round(qty - first_part, 3) END AS DOUBLE) AS quantity
  FROM t`;
}
