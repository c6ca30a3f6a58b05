import { trimmedIdSql } from '../engine/athena-id-blanks.ts';
import type { QueryEngine, Row } from '../engine/query-engine.ts';
import { loadSqlFile, renderSql, type SqlFragment, sqlString, trustedSql } from '../sql/sql-template.ts';
import { INPUT_TABLES, RESULT_TABLES, type ResultTable, type TableRef } from '../sql/tables.ts';
import type { BillingFormat } from './billing-formats.ts';
import { DRIVER_KINDS, type DriverKind, driverSql } from './drivers.ts';
import { type AllocationRules, ruleExpressions, tagRequest } from './rules.ts';

export { RESULT_TABLES, type ResultTable };

/** The checks of a run, by name; each fails the run as {@link failOnCheckRows} says. */
export const RUN_CHECK_NAMES = ['invalid_telemetry', 'invalid_line_items', 'conservation_check'] as const;
export type RunCheckName = (typeof RUN_CHECK_NAMES)[number];

/**
 * One step of an attribution run, each one SELECT under `athena/` (path in `file`):
 * - `inline`: the billing format's canonical line items, spliced as a subquery into the statements that
 *   read it instead of being stored (ten million line items read once, never written);
 * - `table`: a result stored by the engine (DuckDB table, Athena CTAS);
 * - `view`: a projection of a stored table (a filter, no aggregation), which an engine may compute on
 *   read (see QueryEngine.createView);
 * - `check`: a small query over stored tables whose rows decide whether the run may go on.
 */
export type AttributionStep =
  | { readonly kind: 'inline'; readonly name: 'line_items' }
  | { readonly kind: 'table' | 'view'; readonly name: string; readonly file: string }
  | { readonly kind: 'check'; readonly name: RunCheckName; readonly file: string };

/**
 * The steps of a run in the order every engine runs them: the local run executes them, the Athena
 * plan turns them into the state machine's statements. The telemetry check comes first and the
 * invalid-line-items check right after classification, so bad input stops the run before the
 * expensive stages.
 */
export const ATTRIBUTION_STEPS: readonly AttributionStep[] = [
  { kind: 'inline', name: 'line_items' },
  // Telemetry is read once and stored: the check and the sharing see exactly the same rows, even if an
  // object lands in the telemetry folder while the run is under way.
  { kind: 'table', name: 'usage_rows', file: 'attribution/usage_rows.sql' },
  { kind: 'check', name: 'invalid_telemetry', file: 'attribution/invalid_telemetry.sql' },
  { kind: 'table', name: 'classified_cost', file: 'attribution/classified_cost.sql' },
  { kind: 'check', name: 'invalid_line_items', file: 'attribution/invalid_line_items.sql' },
  // Stored: every driver of the ledger reads it, and Trino plans a WITH once per reference (its stage limit).
  { kind: 'table', name: 'customer_versions', file: 'attribution/customer_versions.sql' },
  { kind: 'table', name: 'allocated_cost', file: 'attribution/allocated_cost.sql' },
  { kind: 'table', name: 'customer_daily_cost', file: 'attribution/customer_daily_cost.sql' },
  { kind: 'view', name: 'customer_daily_service_cost', file: 'attribution/customer_daily_service_cost.sql' },
  { kind: 'table', name: 'unattributed_cost', file: 'attribution/unattributed_cost.sql' },
  { kind: 'table', name: 'daily_summary', file: 'attribution/daily_summary.sql' },
  { kind: 'table', name: 'customer_daily_usage', file: 'attribution/customer_daily_usage.sql' },
  { kind: 'check', name: 'conservation_check', file: 'attribution/conservation_check.sql' },
];

/** A step an engine runs: everything but the inlined line items. */
export type RunStep = Exclude<AttributionStep, { kind: 'inline' }>;

/** A step that stores a table (or a projection an engine may store). */
export type StoredStep = Extract<AttributionStep, { kind: 'table' | 'view' }>;

/** The steps whose results an engine holds, in creation order (what a run's cleanup drops). */
export const STORED_STEPS: readonly StoredStep[] = ATTRIBUTION_STEPS.filter(
  (step): step is StoredStep => step.kind === 'table' || step.kind === 'view',
);

/** A check step, by name. */
export function checkStep(name: RunCheckName): Extract<AttributionStep, { kind: 'check' }> {
  const step = ATTRIBUTION_STEPS.find((candidate) => candidate.kind === 'check' && candidate.name === name);
  if (step === undefined || step.kind !== 'check') throw new Error(`Unknown check ${name}`);
  return step;
}

/**
 * One source of billing line items in a run: a format and the logical table its files are read
 * through. A run may combine sources of different formats (docs/attribution.md 1.1): their canonical
 * line items are one UNION ALL.
 */
export interface BillingSourceRef {
  readonly format: BillingFormat;
  /** The logical table (`billing_source`, `billing_source_2`, ...), mapped by the engine's tableRef. */
  readonly table: string;
}

/** The logical table of the n-th billing source (0-based): `billing_source`, `billing_source_2`, ... */
export function billingSourceTable(index: number): string {
  return index === 0 ? 'billing_source' : `billing_source_${index + 1}`;
}

/** Sources over the given formats, one table each, in order ({@link billingSourceTable}). */
export function billingSources(...formats: readonly BillingFormat[]): BillingSourceRef[] {
  return formats.map((format, index) => ({ format, table: billingSourceTable(index) }));
}

export interface AttributionRun {
  readonly runId: string;
  /** At least one; each source's canonical line items are combined. */
  readonly sources: readonly BillingSourceRef[];
  readonly rules: AllocationRules;
  /** The driver kinds the rules' drivers are shared by. @default {@link DRIVER_KINDS} */
  readonly driverKinds?: readonly DriverKind[];
}

/** A day on which the conservation law does not hold. */
export interface ConservationBreach {
  readonly usageDate: string;
  readonly totalCost: number;
  readonly customerCost: number;
  readonly unattributedCost: number;
  readonly excludedCost: number;
  readonly difference: number;
}

/** Raised when conservation fails: the run's numbers must not be published. */
export class ConservationError extends Error {
  override readonly name = 'ConservationError';
  readonly breaches: readonly ConservationBreach[];

  constructor(breaches: readonly ConservationBreach[]) {
    const first = breaches[0];
    super(
      `Conservation broken on ${breaches.length} day(s)` +
        (first
          ? `, first ${first.usageDate}: customers ${first.customerCost} + unattributed ${first.unattributedCost}` +
            ` + excluded ${first.excludedCost} differs from total ${first.totalCost} by ${first.difference}`
          : ''),
    );
    this.breaches = breaches;
  }
}

/** One telemetry row the run refused, with the object it came from. */
export interface BadTelemetryRow {
  /** The object's URI: Athena's `"$path"` deployed, the file's path locally. */
  readonly sourceFile: string;
  readonly problem: string;
  readonly usageDate: string | null;
  readonly tenantId: string | null;
  readonly metric: string | null;
  readonly quantity: number | null;
}

/**
 * Raised when telemetry has a row no run may use (docs/attribution.md 1.2): a missing or bad date, an
 * empty tenant or metric, a missing, non-finite or negative quantity. The message names the object and
 * the row by its values: Athena knows which object a row came from (`"$path"`) but not its line.
 */
export class InvalidTelemetryError extends Error {
  override readonly name = 'InvalidTelemetryError';
  /** The first bad row, by object then values. */
  readonly row: BadTelemetryRow;
  /** How many rows are bad in all. */
  readonly badRows: number;

  constructor(row: BadTelemetryRow, badRows: number, prefix = '') {
    const value = (text: string | null) => (text === null ? 'empty' : JSON.stringify(text));
    super(
      `${prefix}telemetry object ${row.sourceFile}: ${row.problem}, in the row with usage_date ` +
        `${row.usageDate ?? 'empty'}, tenant_id ${value(row.tenantId)}, metric ${value(row.metric)}, quantity ` +
        `${row.quantity ?? 'empty'} (named by its values: Athena gives no line numbers)` +
        (badRows > 1 ? `; ${badRows} bad rows in all` : ''),
    );
    this.row = row;
    this.badRows = badRows;
  }
}

/** Raised when line items have unparseable dates or non-finite costs; the engine locates them. */
export class InvalidLineItemsError extends Error {
  override readonly name = 'InvalidLineItemsError';
}

/** Every placeholder value of a run: parameters, rule and driver expressions and table references. */
export function placeholderValues(tableRef: TableRef, run: AttributionRun): Record<string, SqlFragment> {
  const drivers = run.rules.rules.flatMap((rule) => (rule.driver === undefined ? [] : [rule.driver]));
  const values: Record<string, SqlFragment> = {
    run_id: sqlString(run.runId),
    rules_version: sqlString(run.rules.version),
    cost_basis: sqlString(run.rules.costBasis),
    trimmed_tenant_id: trustedSql(trimmedIdSql('tenant_id')),
    trimmed_metric: trustedSql(trimmedIdSql('metric')),
    tenant_id_normalization: sqlString(run.rules.tenantIdNormalization),
    ...ruleExpressions(run.rules),
    ...driverSql(drivers, tableRef, run.driverKinds ?? DRIVER_KINDS),
  };
  for (const table of INPUT_TABLES) values[table] = trustedSql(tableRef(table));
  if (run.rules.tenantIdNormalization === 'lowercase') {
    values.customers = trustedSql(lowercasedCustomers(tableRef('customers')));
  }
  for (const step of ATTRIBUTION_STEPS) {
    if (step.kind === 'inline') {
      values[step.name] = trustedSql(`(${canonicalLineItems(run, values, tableRef)})`);
    } else if (step.kind !== 'check') {
      values[step.name] = trustedSql(tableRef(step.name));
    }
  }
  return values;
}

/**
 * The canonical line items of every source of a run (docs/attribution.md 2): each source's format SQL
 * over its own table, with its own tag expressions, combined with UNION ALL (every format gives the
 * same columns in the same order).
 */
function canonicalLineItems(
  run: AttributionRun,
  values: Record<string, SqlFragment>,
  tableRef: TableRef,
): string {
  if (run.sources.length === 0) throw new Error(`Run ${run.runId} has no billing source`);
  const tags = tagRequest(run.rules);
  return (
    run.sources
      .map(({ format, table }) => {
        const file = format.lineItemsFile;
        const sourceValues: Record<string, SqlFragment> = {
          ...values,
          ...format.placeholders(tags),
          billing_source: trustedSql(tableRef(table)),
        };
        for (const [name, fragment] of Object.entries(format.fragments ?? {})) {
          sourceValues[name] = trustedSql(renderSql(loadSqlFile(fragment), sourceValues, fragment));
        }
        return renderSql(loadSqlFile(file), sourceValues, file);
      })
      // A format's SQL may start with WITH, which Trino allows only at the head of a query: each source
      // of a combined run is its own subquery.
      .map((sql, index, all) =>
        all.length === 1 ? sql : `SELECT * FROM (\n${sql}\n) AS source_${index + 1}`,
      )
      .join('\nUNION ALL\n')
  );
}

/**
 * The customers table with lower-cased tenant ids (docs/attribution.md 1.5), for every statement that
 * reads it, on both engines: tag values (line_items_*.sql) and telemetry (usage_rows.sql) are
 * lower-cased where they are read, so all three meet. An empty tenant id is the customer id, lower-cased.
 */
function lowercasedCustomers(table: string): string {
  return (
    "(SELECT customer_id, lower(coalesce(nullif(tenant_id, ''), customer_id)) AS tenant_id, name, tier," +
    ` plan_status, mrr, start_date, end_date, owner_team, effective_from FROM ${table})`
  );
}

/** The SELECT of a stored step for a run. */
export function renderStep(step: StoredStep, tableRef: TableRef, run: AttributionRun): string {
  return renderSql(loadSqlFile(step.file), placeholderValues(tableRef, run), step.file);
}

/**
 * The SELECT of a check. Checks read only a run's own stored tables, so neither the billing format nor
 * the rules change their text: they are rendered from table names alone, wherever they run.
 */
export function renderCheck(name: RunCheckName, tableRef: TableRef): string {
  const values: Record<string, SqlFragment> = {};
  for (const step of STORED_STEPS) values[step.name] = trustedSql(tableRef(step.name));
  const { file } = checkStep(name);
  return renderSql(loadSqlFile(file), values, file);
}

/** A table reference no SQL file can contain by chance: what {@link attributionLevels} looks for. */
const levelMarker = (name: string) => `__cpc_table_${name}__`;

/**
 * The steps of a run in levels, for an engine that can run statements side by side (the deployed run):
 * every step of a level depends only on steps of earlier levels, so a level's steps may run together.
 * A step depends on each earlier step whose table its rendered SQL reads (found by rendering every step
 * with marked table names, so a driver's weights reading `usage_rows` count too), and on each earlier
 * check of a table it reads: a check still stops the run before anything is built on what it refused.
 * Within a level, steps keep the order of {@link ATTRIBUTION_STEPS}.
 */
export function attributionLevels(run: AttributionRun): RunStep[][] {
  const values = placeholderValues(levelMarker, run);
  const steps = ATTRIBUTION_STEPS.filter((step): step is RunStep => step.kind !== 'inline');
  const stored = new Set(STORED_STEPS.map((step) => step.name));
  const reads = new Map<string, Set<string>>();
  const level = new Map<string, number>();
  const levels: RunStep[][] = [];
  for (const [index, step] of steps.entries()) {
    const sql =
      step.kind === 'check'
        ? renderCheck(step.name, levelMarker)
        : renderSql(loadSqlFile(step.file), values, step.file);
    const earlier = steps.slice(0, index);
    const tables = new Set(
      earlier.filter((e) => stored.has(e.name) && sql.includes(levelMarker(e.name))).map((e) => e.name),
    );
    reads.set(step.name, tables);
    const checks = earlier.filter(
      (e) => e.kind === 'check' && [...(reads.get(e.name) ?? [])].some((table) => tables.has(table)),
    );
    const after = [...tables, ...checks.map((check) => check.name)].map((name) => level.get(name) ?? 0);
    const own = after.length === 0 ? 0 : Math.max(...after) + 1;
    level.set(step.name, own);
    const members = levels[own] ?? [];
    members.push(step);
    levels[own] = members;
  }
  return levels;
}

/**
 * Runs the attribution on an engine whose input tables exist, step by step ({@link ATTRIBUTION_STEPS}):
 * stores each stage and fails on the first check that does not hold (so nothing is published). Returns
 * the milliseconds each step took, by name.
 */
export async function runAttribution(
  engine: QueryEngine,
  run: AttributionRun,
): Promise<Record<string, number>> {
  const values = placeholderValues(engine.tableRef, run);
  const timings: Record<string, number> = {};
  for (const step of ATTRIBUTION_STEPS) {
    if (step.kind === 'inline') continue;
    const started = performance.now();
    if (step.kind === 'check') {
      failOnCheckRows(step.name, await engine.query(renderCheck(step.name, engine.tableRef)));
    } else {
      const select = renderSql(loadSqlFile(step.file), values, step.file);
      if (step.kind === 'view') await engine.createView(step.name, select);
      else await engine.createTable(step.name, select);
    }
    timings[step.name] = Math.round(performance.now() - started);
  }
  return timings;
}

/**
 * Fails a run on what one of its checks returned, the same way wherever the check ran (locally, or in
 * the deployed run-check step): any row of `invalid_telemetry` throws {@link InvalidTelemetryError};
 * `invalid_line_items` with a count above 0 throws {@link InvalidLineItemsError}; any row of
 * `conservation_check` throws {@link ConservationError}.
 */
export function failOnCheckRows(check: RunCheckName, rows: readonly Row[]): void {
  if (check === 'invalid_telemetry') {
    const [first] = rows;
    if (first !== undefined) throw new InvalidTelemetryError(toBadTelemetry(first), Number(first.bad_rows));
  } else if (check === 'invalid_line_items') {
    const invalid = Number(rows[0]?.invalid_groups ?? 0);
    if (invalid > 0) {
      throw new InvalidLineItemsError(
        `${invalid} group(s) of billing line items have unparseable dates or non-finite costs`,
      );
    }
  } else if (rows.length > 0) {
    throw new ConservationError(rows.map(toBreach));
  }
}

function toBadTelemetry(row: Row): BadTelemetryRow {
  const text = (value: Row[string] | undefined) =>
    value === null || value === undefined ? null : String(value);
  const quantity = row.quantity === null || row.quantity === undefined ? null : Number(row.quantity);
  return {
    sourceFile: String(row.source_file),
    problem: String(row.problem),
    usageDate: text(row.usage_date),
    tenantId: text(row.tenant_id),
    metric: text(row.metric),
    quantity,
  };
}

function toBreach(row: Row): ConservationBreach {
  return {
    usageDate: String(row.usage_date),
    totalCost: Number(row.total_cost),
    customerCost: Number(row.customer_cost),
    unattributedCost: Number(row.unattributed_cost),
    excludedCost: Number(row.excluded_cost),
    difference: Number(row.difference),
  };
}
