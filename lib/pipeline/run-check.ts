import * as z from 'zod';
import {
  failOnCheckRows,
  InvalidLineItemsError,
  InvalidTelemetryError,
  RUN_CHECK_NAMES,
  type RunCheckName,
  renderCheck,
} from '../attribution/stages.ts';
import { billingPeriodSchema, runIdSchema } from '../common/names.ts';
import type { QueryReader } from '../engine/query-engine.ts';
import type { RunLogger } from './start-run.ts';

/**
 * One Map item of kind `check`: only the check's name travels in the state, so run-check renders the SQL
 * it runs itself. The schema is strict: an item that carries SQL (or anything else) is refused.
 */
export const runCheckInputSchema = z.object({
  runId: runIdSchema,
  billingPeriod: billingPeriodSchema,
  statement: z.object({ name: z.enum(RUN_CHECK_NAMES), kind: z.literal('check') }).strict(),
});
export type RunCheckInput = z.infer<typeof runCheckInputSchema>;

export interface RunCheckResult {
  readonly runId: string;
  readonly name: RunCheckName;
  readonly passed: true;
}

export interface RunCheckOptions {
  /** The run's tables: an AthenaEngine of the run, with a bounded `maxWaitMs`, when deployed. */
  readonly reader: QueryReader;
  readonly logger?: RunLogger;
}

/**
 * Runs one check of a run (a small aggregate over the run's own tables) and fails the way the local run
 * does: any row from `invalid_telemetry` throws {@link InvalidTelemetryError} naming the telemetry
 * object (its `"$path"`) and the row's values; `invalid_line_items` with a count above 0 throws
 * {@link InvalidLineItemsError}; any row from `conservation_check` throws ConservationError. Each error
 * fails the execution before publish, so the published results stay as they were.
 */
export async function runCheck(input: RunCheckInput, options: RunCheckOptions): Promise<RunCheckResult> {
  const { runId, statement } = input;
  const rows = await options.reader.query(renderCheck(statement.name, options.reader.tableRef));
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
    if (error instanceof InvalidTelemetryError)
      throw new InvalidTelemetryError(error.row, error.badRows, `run ${runId}: `);
    throw error;
  }
  options.logger?.info('Check passed', { runId, check: statement.name });
  return { runId, name: statement.name, passed: true };
}
