import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type * as z from 'zod';
import { runPrefix } from '../common/names.ts';
import type { QueryEngine } from '../engine/query-engine.ts';
import { deliveredAtSchema, parseInput, runRefSchema } from './run-contract.ts';
import { runLayout } from './run-layout.ts';
import { buildServingItems, type ServingRun } from './serving-items.ts';
import { readServingRows, servingUnloadSql } from './serving-unload.ts';
import { type RetryPolicy, ServingWriter } from './serving-writer.ts';
import type { RunLogger } from './start-run.ts';
import { readPublishedRun } from './superseded-runs.ts';

export { ndjsonLines, readServingRows, servingUnloadSql } from './serving-unload.ts';
export { type RetryPolicy, UnprocessedItemsError } from './serving-writer.ts';

/** load-serving-table's state input (lambdas/README.md). */
export const loadServingInputSchema = runRefSchema.extend({ deliveredAt: deliveredAtSchema });
export type LoadServingInput = z.infer<typeof loadServingInputSchema>;

/** Parses load-serving-table's state input. @throws PipelineInputError naming each wrong field */
export function parseLoadServingInput(event: unknown): LoadServingInput {
  return parseInput(loadServingInputSchema, event, 'load-serving-table input');
}

export interface LoadServingOptions {
  /** Runs the UNLOAD: an AthenaEngine with a bounded `maxWaitMs` when deployed. */
  readonly engine: Pick<QueryEngine, 'query'>;
  readonly s3: S3Client;
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
  readonly database: string;
  readonly resultsBucket: string;
  /** The index listing a period's month-to-date summaries. @default 'gsi1' */
  readonly periodIndexName?: string;
  /**
   * Names the UNLOAD's folder under `runs/run=<id>/serving/`: UNLOAD needs an empty folder, so every
   * attempt (a Lambda retry included) writes its own. @default a random UUID
   */
  readonly unloadToken?: string;
  /** Re-read the published-run marker every this many write batches, and stop if it moved. @default 20 */
  readonly guardEveryBatches?: number;
  readonly retry?: RetryPolicy;
  readonly logger?: RunLogger;
}

export type LoadServingResult =
  | {
      readonly loaded: true;
      readonly runId: string;
      readonly billingPeriod: string;
      readonly unloadLocation: string;
      readonly rows: number;
      readonly customers: number;
      /** Items put because they are new or their values changed. */
      readonly written: number;
      /** Items deleted: days and customers an earlier load had and this run does not. */
      readonly deleted: number;
      readonly unchanged: number;
      /** Items left alone because a later delivery wrote them. */
      readonly skippedNewer: number;
    }
  | {
      readonly loaded: false;
      readonly reason: 'run is not the published one';
      readonly runId: string;
      readonly billingPeriod: string;
      readonly publishedRunId: string | null;
      /** Writes done before the marker moved (0 when it had moved before the load began). */
      readonly written: number;
    };

/**
 * Loads a published run's per-customer results into the serving table:
 * 1. stops at once unless this run is the one published for the period (publish-run's marker);
 * 2. UNLOADs the run's `customer_daily_cost` for the period as JSON to
 *    `s3://<results>/runs/run=<id>/serving/<token>/` (Athena reads the Parquet; the Lambda needs no
 *    Parquet reader) and streams those files back, gunzipping them (JSON UNLOAD writes gzip by default);
 * 3. builds daily and month-to-date items ({@link buildServingItems});
 * 4. reads what is stored (BatchGetItem, consistent) and writes only what changed: puts for new or changed
 *    items, deletes for days and customers the earlier load had and this run does not; items whose stored
 *    `delivered_at` is later than this run's are left alone. BatchWriteItem in chunks of 25; unprocessed
 *    items are retried with bounded exponential backoff, then {@link UnprocessedItemsError}.
 */
export async function loadServingTable(
  run: LoadServingInput,
  options: LoadServingOptions,
): Promise<LoadServingResult> {
  const { runId, billingPeriod } = run;
  const published = await readPublishedRun(options.dynamodb, options.tableName, billingPeriod);
  if (published?.runId !== runId) {
    options.logger?.info('Run is not the published one; serving table left as it is', {
      runId,
      billingPeriod,
      publishedRunId: published?.runId,
    });
    return notPublished(run, published?.runId ?? null, 0);
  }

  const layout = runLayout(run, options);
  const prefix = `${runPrefix(runId)}serving/${options.unloadToken ?? randomUUID()}/`;
  const unloadLocation = `s3://${options.resultsBucket}/${prefix}`;
  await options.engine.query(servingUnloadSql(layout, billingPeriod, unloadLocation));
  const rows = await readServingRows(options.s3, options.resultsBucket, prefix);
  const items = buildServingItems(rows, run);

  const writer = new ServingWriter(options, run);
  const outcome = await writer.plan(items.daily, items.summaries, items.daysByCustomer);
  const stopped = await writer.write(outcome.requests);
  if (stopped !== undefined) return notPublished(run, stopped, writer.written);

  const result: LoadServingResult = {
    loaded: true,
    runId,
    billingPeriod,
    unloadLocation,
    rows: rows.length,
    customers: items.summaries.length,
    written: outcome.puts,
    deleted: outcome.deletes,
    unchanged: outcome.unchanged,
    skippedNewer: outcome.skippedNewer,
  };
  options.logger?.info('Serving table loaded', { ...result });
  return result;
}

function notPublished(run: ServingRun, publishedRunId: string | null, written: number): LoadServingResult {
  return {
    loaded: false,
    reason: 'run is not the published one',
    runId: run.runId,
    billingPeriod: run.billingPeriod,
    publishedRunId,
    written,
  };
}
