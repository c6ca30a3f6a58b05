import * as z from 'zod';
import { BILLING_FORMATS } from '../attribution/billing-formats.ts';
import { defaultRules } from '../attribution/rules.ts';
import { failOnCheckRows, InvalidLineItemsError, renderAttributionSql } from '../attribution/stages.ts';
import { AthenaRunLayout } from '../engine/athena-engine.ts';
import { RUN_CHECKS, type RunCheckName } from '../engine/athena-run-plan.ts';
import type { QueryEngine } from '../engine/query-engine.ts';
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
  try {
    failOnCheckRows(statement.name, rows);
  } catch (error) {
    options.logger?.warn('Run check failed', {
      runId,
      check: statement.name,
      reason: (error as Error).message,
    });
    // Operators read the run id first; the conservation error already names the day and the difference.
    if (error instanceof InvalidLineItemsError)
      throw new InvalidLineItemsError(`run ${runId}: ${error.message}`);
    throw error;
  }
  options.logger?.info('Check passed', { runId, check: statement.name });
  return { runId, name: statement.name, passed: true };
}
