import * as z from 'zod';
import { BILLING_FORMATS } from '../attribution/billing-formats.ts';
import {
  type ConservationBreach,
  ConservationError,
  InvalidLineItemsError,
  renderAttributionSql,
} from '../attribution/pipeline.ts';
import { defaultRules } from '../attribution/rules.ts';
import { AthenaRunLayout } from '../engine/athena-engine.ts';
import { RUN_CHECKS, type RunCheckName } from '../engine/athena-run-plan.ts';
import type { QueryEngine, Row } from '../engine/query-engine.ts';
import { billingPeriodSchema, parseInput, RUNS_PREFIX, runIdSchema } from './run-contract.ts';
import type { RunLogger } from './start-run.ts';

export const runCheckInputSchema = z.object({
  runId: runIdSchema,
  billingPeriod: billingPeriodSchema,
  statement: z.object({
    name: z.enum(Object.keys(RUN_CHECKS) as [RunCheckName, ...RunCheckName[]]),
    kind: z.literal('check'),
    sql: z.string().min(1),
  }),
});
export type RunCheckInput = z.infer<typeof runCheckInputSchema>;

export interface RunCheckResult {
  readonly runId: string;
  readonly name: RunCheckName;
  readonly passed: true;
}

/** The statement is not the check prepare-run plans for this run: it is refused, not run. */
export class UnexpectedCheckSqlError extends Error {
  override readonly name = 'UnexpectedCheckSqlError';
}

export interface RunCheckOptions {
  /** Runs the check; an AthenaEngine with a bounded `maxWaitMs` when deployed. */
  readonly engine: Pick<QueryEngine, 'query'>;
  /** Glue database and results bucket of the run, to rebuild the expected statement. */
  readonly database: string;
  readonly resultsBucket: string;
  readonly logger?: RunLogger;
}

/**
 * The SQL of a check for a run, as {@link planAthenaRun} renders it. The check files read only the run's
 * own tables, so neither the billing format nor the rules change the text (a unit test holds this).
 */
export function expectedCheckSql(
  name: RunCheckName,
  run: { readonly runId: string; readonly billingPeriod: string },
  options: { readonly database: string; readonly resultsBucket: string },
): string {
  const layout = new AthenaRunLayout({
    database: options.database,
    resultsBucket: options.resultsBucket,
    runPrefix: RUNS_PREFIX.replace(/\/$/, ''),
    runId: run.runId,
    billingPeriod: run.billingPeriod,
  });
  const renderer: QueryEngine = {
    tableRef: (table) => layout.tableRef(table),
    createTable: async () => undefined,
    createView: async () => undefined,
    query: async () => [],
  };
  return renderAttributionSql(RUN_CHECKS[name], renderer, {
    runId: run.runId,
    format: BILLING_FORMATS.cur2,
    rules: defaultRules(),
  });
}

/**
 * Runs one check of a run (a small aggregate, see `RUN_CHECKS`) and fails the way `runAttribution` does:
 * `invalid_line_items` with a count above 0 throws {@link InvalidLineItemsError}; any row from
 * `conservation_check` throws {@link ConservationError}. Either error fails the execution before
 * publish, so the published results stay as they were.
 *
 * The SQL arrives in the state input, so it is compared with the statement this run's plan holds and
 * refused when it differs: the function never runs SQL that it did not render itself.
 */
export async function runCheck(input: unknown, options: RunCheckOptions): Promise<RunCheckResult> {
  const { runId, billingPeriod, statement } = parseInput(runCheckInputSchema, input, 'run-check input');
  const expected = expectedCheckSql(statement.name, { runId, billingPeriod }, options);
  if (statement.sql !== expected) {
    throw new UnexpectedCheckSqlError(
      `run ${runId}: the SQL of check ${statement.name} is not the one planned for this run; refused`,
    );
  }
  const rows = await options.engine.query(expected);
  if (statement.name === 'invalid_line_items') {
    const invalid = Number(rows[0]?.invalid_groups ?? 0);
    if (invalid > 0) {
      options.logger?.warn('Run has invalid line items', { runId, invalidGroups: invalid });
      throw new InvalidLineItemsError(
        `run ${runId}: ${invalid} group(s) of billing line items have unparseable dates or non-finite costs`,
      );
    }
  } else if (rows.length > 0) {
    const breaches = rows.map(toBreach);
    options.logger?.warn('Run breaks conservation', { runId, days: breaches.length, first: breaches[0] });
    throw new ConservationError(breaches);
  }
  options.logger?.info('Check passed', { runId, check: statement.name });
  return { runId, name: statement.name, passed: true };
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
