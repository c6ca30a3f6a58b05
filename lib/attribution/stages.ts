import type { QueryEngine, Row } from '../engine/query-engine.ts';
import { loadSqlFile, renderSql, type SqlFragment, sqlString, trustedSql } from '../sql/sql-template.ts';
import type { BillingFormat } from './billing-formats.ts';
import { type AllocationRules, ruleExpressions } from './rules.ts';

/** Tables the engine must provide before a run (engine-specific definitions over the input files). */
export const INPUT_TABLES = ['billing_source', 'telemetry', 'customers'] as const;

/**
 * The attribution stages in dependency order. Each is one SELECT in `athena/attribution/`; `inline`
 * stages are spliced into the statements that use them as a subquery instead of being stored, which
 * saves writing ten million canonical line items that only one statement reads. `projection` stages
 * only filter a stored table, so an engine may compute them on read (see QueryEngine.createView).
 */
export const ATTRIBUTION_STAGES = [
  { name: 'line_items', inline: true },
  { name: 'classified_cost', file: 'classified_cost.sql' },
  { name: 'allocated_cost', file: 'allocated_cost.sql' },
  { name: 'customer_daily_cost', file: 'customer_daily_cost.sql' },
  { name: 'customer_daily_service_cost', file: 'customer_daily_service_cost.sql', projection: true },
  { name: 'unattributed_cost', file: 'unattributed_cost.sql' },
  { name: 'daily_summary', file: 'daily_summary.sql' },
] as const;

/** Result tables a run publishes. */
export const RESULT_TABLES = [
  'customer_daily_cost',
  'customer_daily_service_cost',
  'unattributed_cost',
  'daily_summary',
] as const;
export type ResultTable = (typeof RESULT_TABLES)[number];

export interface AttributionRun {
  readonly runId: string;
  readonly format: BillingFormat;
  readonly rules: AllocationRules;
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

/** Raised when line items have unparseable dates or non-finite costs; the engine locates them. */
export class InvalidLineItemsError extends Error {
  override readonly name = 'InvalidLineItemsError';
}

/** Every placeholder value of a run: parameters, rule expressions and table references. */
export function placeholderValues(engine: QueryEngine, run: AttributionRun): Record<string, SqlFragment> {
  const values: Record<string, SqlFragment> = {
    run_id: sqlString(run.runId),
    rules_version: sqlString(run.rules.version),
    cost_basis: sqlString(run.rules.costBasis),
    ...ruleExpressions(run.rules),
    ...run.format.placeholders(run.rules.tenantTagKey),
  };
  for (const table of INPUT_TABLES) values[table] = trustedSql(engine.tableRef(table));
  for (const stage of ATTRIBUTION_STAGES) {
    values[stage.name] =
      'inline' in stage
        ? trustedSql(
            `(${renderSql(loadSqlFile(run.format.lineItemsFile), values, run.format.lineItemsFile)})`,
          )
        : trustedSql(engine.tableRef(stage.name));
  }
  return values;
}

/** Renders one SQL file of `athena/attribution/` for a run. */
export function renderAttributionSql(file: string, engine: QueryEngine, run: AttributionRun): string {
  return renderSql(loadSqlFile(`attribution/${file}`), placeholderValues(engine, run), file);
}

/**
 * Runs the attribution on an engine whose input tables exist, then checks the inputs' validity and the
 * conservation law. Throws (and so publishes nothing) when either fails. Returns the milliseconds
 * each step took, by stage name.
 */
export async function runAttribution(
  engine: QueryEngine,
  run: AttributionRun,
): Promise<Record<string, number>> {
  const values = placeholderValues(engine, run);
  const timings: Record<string, number> = {};
  let started = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    timings[name] = Math.round(now - started);
    started = now;
  };
  for (const stage of ATTRIBUTION_STAGES) {
    if ('inline' in stage) continue;
    const select = renderSql(loadSqlFile(`attribution/${stage.file}`), values, stage.file);
    if ('projection' in stage) await engine.createView(stage.name, select);
    else await engine.createTable(stage.name, select);
    lap(stage.name);
    if (stage.name === 'classified_cost') {
      failOnCheckRows(
        'invalid_line_items',
        await engine.query(
          renderSql(loadSqlFile('attribution/invalid_line_items.sql'), values, 'invalid_line_items.sql'),
        ),
      );
      lap('invalid_line_items');
    }
  }
  const breaches = await engine.query(
    renderSql(loadSqlFile('attribution/conservation_check.sql'), values, 'conservation_check.sql'),
  );
  lap('conservation_check');
  failOnCheckRows('conservation_check', breaches);
  return timings;
}

/**
 * Fails a run on what one of its checks returned, the same way wherever the check ran (locally, or in
 * the deployed run-check step): `invalid_line_items` with a count above 0 throws
 * {@link InvalidLineItemsError}; any row of `conservation_check` throws {@link ConservationError}.
 */
export function failOnCheckRows(
  check: 'invalid_line_items' | 'conservation_check',
  rows: readonly Row[],
): void {
  if (check === 'invalid_line_items') {
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
