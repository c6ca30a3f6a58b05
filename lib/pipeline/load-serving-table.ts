import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type * as z from 'zod';
import { runIdSchema, runPrefix } from '../common/names.ts';
import type { QueryEngine } from '../engine/query-engine.ts';
import { LeaseLostError, readPointer, servingVersion } from './period-pointer.ts';
import { deliveredAtSchema, parseInput, runRefSchema } from './run-contract.ts';
import { runLayout } from './run-layout.ts';
import {
  dayItem,
  monthItem,
  parseDayLine,
  parseMonthLine,
  type ServingVersionContext,
} from './serving-items.ts';
import {
  servingDaysSelect,
  servingDiffTables,
  servingMonthsSelect,
  unloadLines,
  unloadSql,
} from './serving-unload.ts';
import { type RetryPolicy, ServingWriter } from './serving-writer.ts';
import type { RunLogger } from './start-run.ts';

export { type RetryPolicy, UnprocessedItemsError } from './serving-writer.ts';

/** load-serving-table's state input (lambdas/README.md): the run, and the visible run its claim saw. */
export const loadServingInputSchema = runRefSchema.extend({
  deliveredAt: deliveredAtSchema,
  /** The run visible when the run claimed the period (ClaimPeriod's `visibleRunId`); null when none. */
  visibleRunId: runIdSchema.nullable(),
});
export type LoadServingInput = z.infer<typeof loadServingInputSchema>;

/** Parses load-serving-table's state input. @throws PipelineInputError naming each wrong field */
export function parseLoadServingInput(event: unknown): LoadServingInput {
  return parseInput(loadServingInputSchema, event, 'load-serving-table input');
}

/**
 * The visible run is no longer the one the run's claim saw, so a diff against it would be wrong.
 * Only possible when the lease was lost and another run published meanwhile: not retried.
 */
export class VisibleRunChangedError extends Error {
  override readonly name = 'VisibleRunChangedError';
}

/** How long serving items live (DynamoDB TTL `expires_at`), from when they are written. */
export const DEFAULT_SERVING_RETENTION_DAYS = 400;

export interface LoadServingOptions {
  /** Runs the UNLOADs: an AthenaEngine with a bounded `maxWaitMs` when deployed. */
  readonly engine: Pick<QueryEngine, 'query'>;
  readonly s3: S3Client;
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
  readonly database: string;
  readonly resultsBucket: string;
  /**
   * Names the UNLOADs' folder under `runs/run=<id>/serving/`: UNLOAD needs an empty folder, so every
   * attempt (a Lambda retry included) writes its own. @default a random UUID
   */
  readonly unloadToken?: string;
  /** @default {@link DEFAULT_SERVING_RETENTION_DAYS} */
  readonly retentionDays?: number;
  /** BatchWriteItem calls in flight at once. @default 8 */
  readonly maxBatchesInFlight?: number;
  readonly retry?: RetryPolicy;
  /** @default () => new Date() */
  readonly now?: () => Date;
  readonly logger?: RunLogger;
}

export interface LoadServingResult {
  readonly loaded: true;
  readonly runId: string;
  readonly billingPeriod: string;
  /** The version the items were written under (`<deliveredAt>#<runId>`); invisible until the flip. */
  readonly version: string;
  /** The run the diff was computed against (null: every day was new). */
  readonly visibleRunId: string | null;
  /** Where the UNLOADs wrote, `.../days/` and `.../months/` below it. */
  readonly unloadLocation: string;
  /** Day items written with values: new or changed customer-days. */
  readonly daysWritten: number;
  /** Tombstones written: customer-days the visible run has and this run does not. */
  readonly daysDeleted: number;
  /** The run's customer-days left as the visible run wrote them. */
  readonly daysUnchanged: number;
  /** Month items written: one per customer of the run. */
  readonly customers: number;
  /** Every item written (days, tombstones, months). */
  readonly written: number;
  /** TTL of the items written (epoch seconds). */
  readonly expiresAt: number;
}

/**
 * Stages a run's serving items under its version (docs/aws-pipeline.md "Data flow" 5); they become
 * visible when publish-run flips the period pointer to the run.
 * 1. Reads the pointer: the run must hold the lease and the visible run must be the one the claim saw;
 *    otherwise it throws before writing anything ({@link LeaseLostError}, {@link VisibleRunChangedError}):
 *    the run can no longer publish, so failing it (and alarming) is the honest outcome.
 * 2. Two UNLOADs (gzip JSON) under `runs/run=<id>/serving/<token>/`: `days/`, the customer-days whose
 *    written values differ from the visible run's partition of `customer_daily_cost_runs` plus
 *    tombstones for the days it no longer has; `months/`, every customer's month to date.
 * 3. Streams both back line by line into BatchWriteItem batches ({@link ServingWriter}): memory holds a
 *    few batches, not the month. No item is read: keys carry the version, so nothing can be overwritten.
 */
export async function loadServingTable(
  run: LoadServingInput,
  options: LoadServingOptions,
): Promise<LoadServingResult> {
  const { runId, billingPeriod, visibleRunId } = run;
  const now = (options.now ?? (() => new Date()))();
  const pointer = await readPointer(options, billingPeriod);
  if (pointer?.lease?.holder !== runId) {
    throw new LeaseLostError(
      `run ${runId} does not hold the lease of billing period ${billingPeriod} ` +
        `(held by ${pointer?.lease?.holder ?? 'nobody'}), so it loads nothing`,
    );
  }
  const visibleNow = pointer.visible?.runId ?? null;
  if (visibleNow !== visibleRunId) {
    throw new VisibleRunChangedError(
      `billing period ${billingPeriod}: the visible run is ${visibleNow ?? 'none'}, not ` +
        `${visibleRunId ?? 'none'} as when run ${runId} claimed it, so its serving diff would be wrong`,
    );
  }

  const context: ServingVersionContext = {
    runId,
    billingPeriod,
    deliveredAt: run.deliveredAt,
    version: servingVersion(run.deliveredAt, runId),
    expiresAt:
      Math.floor(now.getTime() / 1000) +
      Math.round((options.retentionDays ?? DEFAULT_SERVING_RETENTION_DAYS) * 86_400),
  };
  const layout = runLayout(run, options);
  const tables = servingDiffTables(layout);
  const prefix = `${runPrefix(runId)}serving/${options.unloadToken ?? randomUUID()}/`;
  const location = `s3://${options.resultsBucket}/${prefix}`;
  await Promise.all([
    options.engine.query(
      unloadSql(servingDaysSelect(tables, billingPeriod, visibleRunId), `${location}days/`),
    ),
    options.engine.query(unloadSql(servingMonthsSelect(tables, billingPeriod), `${location}months/`)),
  ]);

  const writer = new ServingWriter(options);
  let daysWritten = 0;
  let daysDeleted = 0;
  let customers = 0;
  let runDays = 0;
  for await (const { line, where } of unloadLines(options.s3, options.resultsBucket, `${prefix}days/`)) {
    const change = parseDayLine(line, where);
    if (change.deleted) daysDeleted++;
    else daysWritten++;
    await writer.put(dayItem(change, context));
  }
  for await (const { line, where } of unloadLines(options.s3, options.resultsBucket, `${prefix}months/`)) {
    const month = parseMonthLine(line, where);
    customers++;
    runDays += month.daysWithCost;
    await writer.put(monthItem(month, context));
  }
  await writer.close();

  const result: LoadServingResult = {
    loaded: true,
    runId,
    billingPeriod,
    version: context.version,
    visibleRunId,
    unloadLocation: location,
    daysWritten,
    daysDeleted,
    daysUnchanged: runDays - daysWritten,
    customers,
    written: writer.written,
    expiresAt: context.expiresAt,
  };
  options.logger?.info('Serving items staged', { ...result });
  return result;
}
