import * as z from 'zod';
import { InputError } from '../inputs/input-error.ts';
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
 * rules schema and the sharing SQL follow. A rule's driver, as written, is parsed once into a **key**:
 * a string naming the driver exactly (the driver as written for `even`, `mrr` and metric names; a
 * prefix and a space before JSON for the object forms, so no metric name, which has no space, can
 * collide with one). Every kind turns the keys of the rules into weights, one row per (usage_date,
 * driver key, customer_id) in its SQL file under `athena/attribution/drivers/`, and allocated_cost.sql
 * shares each pool (or each part of a blend) in proportion to its driver's weights that day. A kind
 * also says why a pool stays unattributed on a day its driver cannot share it. A new kind is an entry
 * here and its SQL file.
 */
export interface DriverKind {
  readonly kind: string;
  /**
   * Parses a rule's driver as written into its key; it fails on values of other kinds, and its
   * issues are the rules file's error when {@link DriverKind.claims} says the value is of this kind.
   */
  readonly schema: z.ZodType<string>;
  /** Whether a value as written is meant as this kind (whose schema's issues then explain a refusal). */
  readonly claims?: (value: unknown) => boolean;
  /** Whether a key is of this kind. @default the schema accepts the key */
  readonly accepts?: (key: string) => boolean;
  /** The `driver` column's label of a key. @default the key */
  readonly label?: (key: string) => string;
  /** The parts of a blend: (part key, weight); a driver that is not a blend is its only part. */
  readonly parts?: (key: string) => ReadonlyArray<readonly [string, number]>;
  /**
   * A SELECT of `usage_date, driver, customer_id, weight` (customer_id NULL: a tenant no customer has);
   * shipped kinds keep it in `athena/attribution/drivers/<kind>.sql`. A blend's own kind has none: its
   * parts have theirs.
   */
  readonly weights?: SqlSource;
  /** The unattributed reason of a pool whose driver has no weight row on its day. */
  readonly noWeightReason: string;
  /** The reason when weight rows exist but sum to 0. @default {@link DriverKind.noWeightReason} */
  readonly zeroWeightReason?: string;
  /** Values of the weights file's own placeholders, for the keys of this kind the rules use. */
  placeholders(keys: readonly string[]): Record<string, SqlFragment>;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A metric name as telemetry carries it; free text without whitespace. */
const metricName = z
  .string()
  .min(1)
  .regex(/^[^\s]+$/, 'a metric name without spaces');

/** How close to 1 the weights of a blend and the shares of a fixed split must sum (docs 1.4). */
export const SUM_TOLERANCE = 1e-9;

/** A key of an object form: `<prefix> <JSON>`; the space keeps it apart from every metric name. */
function objectKey(prefix: string, payload: unknown): string {
  return `${prefix} ${JSON.stringify(payload)}`;
}

function objectPayload<T>(prefix: string, key: string): T {
  return JSON.parse(key.slice(prefix.length + 1)) as T;
}

/** Issues for a record of positive numbers that must sum to 1 (blend weights, fixed shares). */
function checkFractions(
  entries: ReadonlyArray<readonly [string, unknown]>,
  noun: string,
  ctx: z.RefinementCtx,
  field: string,
): void {
  if (entries.length === 0) {
    ctx.addIssue({ code: 'custom', path: [field], message: `at least one ${noun} is needed` });
    return;
  }
  let sum = 0;
  for (const [name, value] of entries) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      ctx.addIssue({
        code: 'custom',
        path: [field, name],
        message: `the ${noun} of ${JSON.stringify(name)} must be a number > 0, got ${JSON.stringify(value)}`,
      });
      return;
    }
    sum += value;
  }
  if (Math.abs(sum - 1) > SUM_TOLERANCE) {
    ctx.addIssue({
      code: 'custom',
      path: [field],
      message: `the ${noun}s must sum to 1 (within ${SUM_TOLERANCE}), they sum to ${sum}`,
    });
  }
}

/** Equal shares among the customers active that day. */
const even: DriverKind = {
  kind: 'even',
  schema: z.literal('even'),
  weights: { path: 'attribution/drivers/even.sql' },
  noWeightReason: 'no_active_customers',
  placeholders: () => ({}),
};

/**
 * Shares in proportion to the MRR of the customers active that day. The MRR comes from the ledger's
 * `customer_periods`, so when the customer dimension gains history the MRR in force on the day
 * follows from that relation alone.
 */
const mrr: DriverKind = {
  kind: 'mrr',
  schema: z.literal('mrr'),
  weights: { path: 'attribution/drivers/mrr.sql' },
  noWeightReason: 'no_active_customers',
  zeroWeightReason: 'no_revenue',
  placeholders: () => ({}),
};

/** Shares in proportion to a telemetry metric on the day, over every tenant that reported it. */
const metric: DriverKind = {
  kind: 'metric',
  schema: metricName,
  claims: (value) => typeof value === 'string',
  weights: { path: 'attribution/drivers/metric.sql' },
  noWeightReason: 'no_usage_signal',
  placeholders: (keys) => ({ metrics: sqlStringList(keys) }),
};

const WINDOW = 'window';
/** The longest sliding window, in days (docs 1.4). */
export const MAX_WINDOW_DAYS = 31;

/**
 * A metric summed over the N days ending on the usage day; N = 1 is the plain metric (the same key,
 * so `{"metric": "requests", "windowDays": 1}` and `"requests"` are one driver).
 */
const metricWindow: DriverKind = {
  kind: 'metric_window',
  schema: z
    .object({
      metric: metricName,
      windowDays: z
        .number()
        .int(`windowDays must be a whole number of days, 1 to ${MAX_WINDOW_DAYS}`)
        .min(1, `windowDays must be 1 to ${MAX_WINDOW_DAYS}`)
        .max(MAX_WINDOW_DAYS, `windowDays must be 1 to ${MAX_WINDOW_DAYS}`),
    })
    .strict()
    .transform(({ metric: name, windowDays }) =>
      windowDays === 1 ? name : objectKey(WINDOW, [name, windowDays]),
    ),
  claims: (value) => isObject(value) && 'metric' in value,
  accepts: (key) => key.startsWith(`${WINDOW} `),
  label: (key) => {
    const [name, days] = objectPayload<[string, number]>(WINDOW, key);
    return `${name}/${days}d`;
  },
  weights: { path: 'attribution/drivers/metric_window.sql' },
  noWeightReason: 'no_usage_signal',
  placeholders: (keys) => {
    const rows = keys.map((key) => {
      const [name, days] = objectPayload<[string, number]>(WINDOW, key);
      return `(${sqlString(key).sql}, ${sqlString(name).sql}, ${days})`;
    });
    return {
      metric_windows: trustedSql(
        `(SELECT driver, metric, CAST(window_days AS integer) AS window_days FROM (VALUES ${rows.join(', ')})` +
          ' AS w (driver, metric, window_days))',
      ),
    };
  },
};

/** The kinds a blend's parts may be of: not a blend, a window or a fixed split. */
const PART_KINDS: readonly DriverKind[] = [even, mrr, metric];

const WEIGHTS = 'weights';

/**
 * A blend: the pool is cut into parts pool x w, each shared by its own driver; a part that cannot be
 * shared stays unattributed with its driver's reason (allocated_cost.sql). Parts keep the rules
 * file's order (JSON object order), which the label shows.
 */
const blend: DriverKind = {
  kind: 'blend',
  schema: z
    .object({ weights: z.record(z.string(), z.unknown()) })
    .strict()
    .superRefine(({ weights }, ctx) => {
      for (const [name, value] of Object.entries(weights)) {
        if (isObject(value) || Array.isArray(value)) {
          ctx.addIssue({
            code: 'custom',
            path: ['weights', name],
            message: 'a blend cannot be nested: each part is a metric name, "even" or "mrr" with a number',
          });
          return;
        }
        if (!PART_KINDS.some((kind) => kind.schema.safeParse(name).success)) {
          ctx.addIssue({
            code: 'custom',
            path: ['weights', name],
            message: `${JSON.stringify(name)} is not a part a blend can have (a metric name, "even" or "mrr")`,
          });
          return;
        }
      }
      checkFractions(Object.entries(weights), 'weight', ctx, 'weights');
    })
    .transform(({ weights }) => objectKey(WEIGHTS, Object.entries(weights))),
  claims: (value) => isObject(value) && 'weights' in value,
  accepts: (key) => key.startsWith(`${WEIGHTS} `),
  label: (key) => {
    const parts = objectPayload<[string, number][]>(WEIGHTS, key);
    return `weights(${parts.map(([name, w]) => `${name}=${w}`).join(',')})`;
  },
  parts: (key) => objectPayload<[string, number][]>(WEIGHTS, key),
  noWeightReason: 'no_usage_signal',
  placeholders: () => ({}),
};

const FIXED = 'fixed';

/** Fixed shares per customer, whatever the customer's activity on the day. */
const fixed: DriverKind = {
  kind: 'fixed',
  schema: z
    .object({ fixed: z.record(z.string().min(1, 'a customer id cannot be empty'), z.unknown()) })
    .strict()
    .superRefine(({ fixed: shares }, ctx) => checkFractions(Object.entries(shares), 'share', ctx, 'fixed'))
    .transform(({ fixed: shares }) => objectKey(FIXED, Object.entries(shares))),
  claims: (value) => isObject(value) && 'fixed' in value,
  accepts: (key) => key.startsWith(`${FIXED} `),
  label: () => 'fixed',
  weights: { path: 'attribution/drivers/fixed.sql' },
  // Never used: the shares are written in the rules and always sum to 1.
  noWeightReason: 'no_active_customers',
  placeholders: (keys) => {
    const rows = keys.flatMap((key) =>
      fixedShares(key).map(
        ([customer, share]) =>
          `(${sqlString(key).sql}, ${sqlString(customer).sql}, CAST(${share} AS double))`,
      ),
    );
    return {
      fixed_shares: trustedSql(
        `(SELECT driver, customer_id, share FROM (VALUES ${rows.join(', ')}) AS s (driver, customer_id, share))`,
      ),
    };
  },
};

function fixedShares(key: string): [string, number][] {
  return objectPayload<[string, number][]>(FIXED, key);
}

/** The driver kinds, in the order a rule's driver is matched against them. */
export const DRIVER_KINDS: readonly DriverKind[] = [even, mrr, metric, metricWindow, blend, fixed];

/**
 * The schema of a rule's `driver`: any value one of the kinds accepts, parsed into its key. A refused
 * value is explained by the kind it is meant as (an object with `weights` by the blend's rules, and
 * so on), with the field's path.
 */
export function driverSchema(kinds: readonly DriverKind[] = DRIVER_KINDS): z.ZodType<string> {
  return z.unknown().transform((value, ctx) => {
    const results = kinds.map((kind) => kind.schema.safeParse(value));
    const accepted = results.find((result) => result.success);
    if (accepted?.success) return accepted.data;
    const claimant = kinds.findIndex((kind) => kind.claims?.(value) ?? false);
    const refusal = claimant >= 0 ? results[claimant] : undefined;
    if (refusal !== undefined && !refusal.success) {
      for (const issue of refusal.error.issues) {
        ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
      }
    } else {
      ctx.addIssue({
        code: 'custom',
        message:
          'a driver is a metric name, "even", "mrr", or an object with "metric" and "windowDays",' +
          ' "weights" or "fixed"',
      });
    }
    return z.NEVER;
  });
}

/** The kind of a driver key that passed {@link driverSchema}. */
export function driverKindOf(key: string, kinds: readonly DriverKind[] = DRIVER_KINDS): DriverKind {
  const kind = kinds.find((candidate) =>
    candidate.accepts ? candidate.accepts(key) : candidate.schema.safeParse(key).success,
  );
  if (kind === undefined) throw new Error(`No driver kind accepts ${JSON.stringify(key)}`);
  return kind;
}

/** The `driver` column's label of a key: `requests/7d`, `weights(requests=0.7,storage_bytes=0.3)`, ... */
export function driverLabel(key: string, kinds: readonly DriverKind[] = DRIVER_KINDS): string {
  const kind = driverKindOf(key, kinds);
  return kind.label ? kind.label(key) : key;
}

/** The parts of a driver key: a blend's (part key, weight) pairs, else the key itself with weight 1. */
export function driverParts(
  key: string,
  kinds: readonly DriverKind[] = DRIVER_KINDS,
): ReadonlyArray<readonly [string, number]> {
  const kind = driverKindOf(key, kinds);
  return kind.parts ? kind.parts(key) : [[key, 1]];
}

/**
 * The telemetry metrics a driver key shares by (a plain or windowed metric, a blend's metric parts), for
 * warnings about metrics without telemetry (docs 6.2); empty for `even`, `mrr` and fixed splits.
 */
export function driverMetrics(key: string, kinds: readonly DriverKind[] = DRIVER_KINDS): string[] {
  return driverParts(key, kinds).flatMap(([part]) => {
    const kind = driverKindOf(part, kinds).kind;
    if (kind === 'metric') return [part];
    if (kind === 'metric_window') return [objectPayload<[string, number]>(WINDOW, part)[0]];
    return [];
  });
}

/**
 * Fails on a fixed split that names a customer the customer dimension does not have (docs 6.1): its
 * share would reach no one. `rulesSource` names the rules file in the error.
 */
export function checkFixedCustomers(
  rules: ReadonlyArray<{ readonly id: string; readonly driver?: string | undefined }>,
  customerIds: ReadonlySet<string>,
  rulesSource: string,
): void {
  for (const [index, rule] of rules.entries()) {
    if (rule.driver === undefined || driverKindOf(rule.driver).kind !== 'fixed') continue;
    const unknown = fixedShares(rule.driver).find(([customer]) => !customerIds.has(customer));
    if (unknown !== undefined) {
      throw new InputError(
        `rule "${rule.id}": the fixed split names customer ${JSON.stringify(unknown[0])},` +
          ' which the customer dimension does not have',
        { file: rulesSource, column: `rules.${index}.driver.fixed.${unknown[0]}` },
      );
    }
  }
}

/** The names allocated_cost.sql gives its own CTEs, which the weights files read. */
const LEDGER_CTES = ['pools', 'pool_days', 'tenant_customers', 'customer_periods'] as const;

/** `(VALUES ...)` as a typed relation, or an empty typed SELECT when there are no rows. */
function valuesRelation(rows: readonly string[], columns: string, empty: string): string {
  return rows.length === 0
    ? `(SELECT ${empty} WHERE FALSE)`
    : `(SELECT ${columns} FROM (VALUES ${rows.join(', ')}) AS v (${columns}))`;
}

/**
 * The sharing SQL for a set of driver keys:
 * - `driver_parts`: (driver, part, part_weight), a blend's parts and every other driver as its own
 *   only part with weight 1;
 * - `driver_weights`: the UNION ALL of the weights of every kind the parts use (an empty, typed
 *   SELECT when no rule has a driver);
 * - `no_weight_reason`: a CASE over a part's driver and whether it had weight rows (`has_weight_rows`)
 *   giving its kind's reason;
 * - `driver_label`: a CASE over a pool's driver key giving the outputs' `driver` label.
 */
export function driverSql(
  drivers: readonly string[],
  tableRef: TableRef,
  kinds: readonly DriverKind[] = DRIVER_KINDS,
): Record<'driver_parts' | 'driver_weights' | 'no_weight_reason' | 'driver_label', SqlFragment> {
  const unique = [...new Set(drivers)];
  const partRows: string[] = [];
  const partKeys = new Set<string>();
  for (const driver of unique) {
    for (const [part, weight] of driverParts(driver, kinds)) {
      partRows.push(`(${sqlString(driver).sql}, ${sqlString(part).sql}, CAST(${weight} AS double))`);
      partKeys.add(part);
    }
  }
  const byKind = new Map<DriverKind, string[]>();
  for (const part of partKeys) {
    const kind = driverKindOf(part, kinds);
    byKind.set(kind, [...(byKind.get(kind) ?? []), part]);
  }
  // The telemetry the run read and checked (usage_rows.sql), never the input table itself.
  const shared: Record<string, SqlFragment> = { usage_rows: trustedSql(tableRef('usage_rows')) };
  for (const cte of LEDGER_CTES) shared[cte] = trustedSql(cte);
  const selects = [...byKind].flatMap(([kind, used]) => {
    if (kind.weights === undefined) return [];
    const { template, source } = loadSqlSource(kind.weights);
    return [renderSql(template, { ...shared, ...kind.placeholders(used) }, source)];
  });
  const weights =
    selects.length === 0
      ? 'SELECT CAST(NULL AS date) AS usage_date, CAST(NULL AS varchar) AS driver,' +
        ' CAST(NULL AS varchar) AS customer_id, CAST(NULL AS double) AS weight WHERE FALSE'
      : selects.map((select) => `(\n${select}\n)`).join('\nUNION ALL\n');
  const reasons = [...partKeys].map((part) => {
    const kind = driverKindOf(part, kinds);
    const none = sqlString(kind.noWeightReason).sql;
    const zero = sqlString(kind.zeroWeightReason ?? kind.noWeightReason).sql;
    return `WHEN ${sqlString(part).sql} THEN ${none === zero ? none : `CASE WHEN has_weight_rows THEN ${zero} ELSE ${none} END`}`;
  });
  const labels = unique.map(
    (driver) => `WHEN ${sqlString(driver).sql} THEN ${sqlString(driverLabel(driver, kinds)).sql}`,
  );
  return {
    driver_parts: trustedSql(
      valuesRelation(
        partRows,
        'driver, part, part_weight',
        'CAST(NULL AS varchar) AS driver, CAST(NULL AS varchar) AS part, CAST(NULL AS double) AS part_weight',
      ),
    ),
    driver_weights: trustedSql(weights),
    no_weight_reason: trustedSql(
      reasons.length === 0 ? 'CAST(NULL AS varchar)' : `CASE part ${reasons.join(' ')} END`,
    ),
    driver_label: trustedSql(
      labels.length === 0 ? 'CAST(NULL AS varchar)' : `CASE driver ${labels.join(' ')} END`,
    ),
  };
}
