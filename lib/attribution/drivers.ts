import * as z from 'zod';
import {
  loadSqlSource,
  renderSql,
  type SqlFragment,
  type SqlSource,
  sqlString,
  sqlStringList,
  trustedSql,
} from '../sql/sql-template.ts';
import type { TableRef } from '../sql/tables.ts';

/**
 * The kinds of driver that share a pool (docs/attribution.md section 4), as one list that both the
 * rules schema and the sharing SQL follow. Every kind turns the drivers of the rules into weights, one
 * row per (usage_date, driver, customer_id) in its SQL file under `athena/attribution/drivers/`, and
 * allocated_cost.sql shares each pool in proportion to its driver's weights that day. A kind also says
 * why a pool stays unattributed on a day its driver has no weight. A new kind is an entry here and its
 * SQL file.
 */
export interface DriverKind {
  readonly kind: string;
  /** The driver values of a rule that are of this kind (the first kind in the list that accepts wins). */
  readonly schema: z.ZodType<string>;
  /**
   * A SELECT of `usage_date, driver, customer_id, weight` (customer_id NULL: a tenant no customer has);
   * shipped kinds keep it in `athena/attribution/drivers/<kind>.sql`.
   */
  readonly weights: SqlSource;
  /** The unattributed reason of a pool whose driver has no weight (none, or all 0) on its day. */
  readonly noWeightReason: string;
  /** Values of the weights file's own placeholders, for the drivers of this kind the rules use. */
  placeholders(drivers: readonly string[]): Record<string, SqlFragment>;
}

/** Equal shares among the customers active that day. */
const even: DriverKind = {
  kind: 'even',
  schema: z.literal('even'),
  weights: { path: 'attribution/drivers/even.sql' },
  noWeightReason: 'no_active_customers',
  placeholders: () => ({}),
};

/** Shares in proportion to a telemetry metric, over every tenant that reported it, known or not. */
const metric: DriverKind = {
  kind: 'metric',
  schema: z
    .string()
    .min(1)
    .regex(/^[^\s]+$/, 'a metric name without spaces'),
  weights: { path: 'attribution/drivers/metric.sql' },
  noWeightReason: 'no_usage_signal',
  placeholders: (drivers) => ({ metrics: sqlStringList(drivers) }),
};

/** The driver kinds, in the order a rule's driver is matched against them. */
export const DRIVER_KINDS: readonly DriverKind[] = [even, metric];

/** The schema of a rule's `driver`: any value one of the kinds accepts. */
export function driverSchema(kinds: readonly DriverKind[] = DRIVER_KINDS): z.ZodType<string> {
  return z.string().superRefine((driver, ctx) => {
    if (kinds.some((kind) => kind.schema.safeParse(driver).success)) return;
    const first = kinds.at(-1)?.schema.safeParse(driver);
    ctx.addIssue({ code: 'custom', message: first?.error?.issues[0]?.message ?? 'not a driver' });
  });
}

/** The kind of a driver value that passed {@link driverSchema}. */
export function driverKindOf(driver: string, kinds: readonly DriverKind[] = DRIVER_KINDS): DriverKind {
  const kind = kinds.find((candidate) => candidate.schema.safeParse(driver).success);
  if (kind === undefined) throw new Error(`No driver kind accepts ${JSON.stringify(driver)}`);
  return kind;
}

/** The names allocated_cost.sql gives its own CTEs, which the weights files read. */
const LEDGER_CTES = ['pools', 'tenant_customers', 'customer_periods'] as const;

/**
 * The sharing SQL for a set of drivers: `driver_weights`, the UNION ALL of the weights of every kind in
 * use (an empty, typed SELECT when no rule has a driver), and `no_weight_reason`, a CASE over a pool's
 * driver giving its kind's reason.
 */
export function driverSql(
  drivers: readonly string[],
  tableRef: TableRef,
  kinds: readonly DriverKind[] = DRIVER_KINDS,
): { driver_weights: SqlFragment; no_weight_reason: SqlFragment } {
  const unique = [...new Set(drivers)];
  const byKind = new Map<DriverKind, string[]>();
  for (const driver of unique) {
    const kind = driverKindOf(driver, kinds);
    byKind.set(kind, [...(byKind.get(kind) ?? []), driver]);
  }
  // The telemetry the run read and checked (usage_rows.sql), never the input table itself.
  const shared: Record<string, SqlFragment> = { usage_rows: trustedSql(tableRef('usage_rows')) };
  for (const cte of LEDGER_CTES) shared[cte] = trustedSql(cte);
  const selects = [...byKind].map(([kind, used]) => {
    const { template, source } = loadSqlSource(kind.weights);
    return renderSql(template, { ...shared, ...kind.placeholders(used) }, source);
  });
  const weights =
    selects.length === 0
      ? 'SELECT CAST(NULL AS date) AS usage_date, CAST(NULL AS varchar) AS driver,' +
        ' CAST(NULL AS varchar) AS customer_id, CAST(NULL AS double) AS weight WHERE FALSE'
      : selects.map((select) => `(\n${select}\n)`).join('\nUNION ALL\n');
  const branches = unique.map(
    (driver) =>
      `WHEN ${sqlString(driver).sql} THEN ${sqlString(driverKindOf(driver, kinds).noWeightReason).sql}`,
  );
  return {
    driver_weights: trustedSql(weights),
    no_weight_reason: trustedSql(
      branches.length === 0 ? 'CAST(NULL AS varchar)' : `CASE driver ${branches.join(' ')} END`,
    ),
  };
}
