import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteTableCommand, EntityNotFoundException, type GlueClient } from '@aws-sdk/client-glue';
import { CopyObjectCommand, DeleteObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type * as z from 'zod';
import { STORED_STEPS } from '../attribution/stages.ts';
import { isAwsError, isNotFound } from '../common/aws-errors.ts';
import { type AthenaRunLayout, BILLING_CSV_TABLE } from '../engine/athena-run-layout.ts';
import { type PeriodPointer, readPointer, releaseLease } from './period-pointer.ts';
import {
  deleteRunPartitions,
  expireRun,
  hasRunPartitions,
  type PublishStore,
  readPublishedImage,
  writePublishedImage,
} from './publish-run.ts';
import { parseInput, runRefSchema } from './run-contract.ts';
import { runLayout } from './run-layout.ts';
import type { RunLogger } from './start-run.ts';
import { type TagRunResult, tagRunSuperseded } from './superseded-runs.ts';
import { latestReportKey, REPORT_RUN_METADATA, runReportKey } from './write-report.ts';

/** cleanup's state input (lambdas/README.md). */
export const cleanupInputSchema = runRefSchema;
export type CleanupInput = z.infer<typeof cleanupInputSchema>;

/** Parses cleanup's state input. @throws PipelineInputError naming each wrong field */
export function parseCleanupInput(event: unknown): CleanupInput {
  return parseInput(cleanupInputSchema, event, 'cleanup input');
}

export interface CleanupOptions extends PublishStore {
  readonly glue: GlueClient;
  readonly dynamodb: DynamoDBClient;
  readonly s3: S3Client;
  readonly database: string;
  readonly resultsBucket: string;
  /** The serving table, which holds the period pointers. */
  readonly tableName: string;
  /** Bound on the run's objects tagged in this call. @default 2000 */
  readonly maxTaggedObjects?: number;
  readonly logger?: RunLogger;
}

export interface CleanupResult {
  readonly runId: string;
  /** Glue tables deleted now. */
  readonly dropped: readonly string[];
  /** Glue tables that did not exist (never created, or dropped by an earlier attempt). */
  readonly missing: readonly string[];
  /** Whether this run is the visible one for its period (then its files and partitions stay). */
  readonly published: boolean;
  /** The run's own files tagged superseded, when it is not visible. */
  readonly superseded: TagRunResult | null;
  /** The run's own `_runs` partitions deleted now, when it is not visible. */
  readonly partitionsDeleted: number;
  /**
   * The visible run's publish was finished here (its Athena image rewritten and the replaced run
   * expired), because publish-run failed after its flip.
   */
  readonly completedPublish: boolean;
  /**
   * What became of the period's report under `reports/` when it was not the visible run's (the visible
   * run failed before writing it): `copied` from the run's own report, or `removed` (an older run's
   * report must not stand for the visible numbers); `null` when it was the visible run's, or not ours.
   */
  readonly periodReport: 'copied' | 'removed' | null;
  /** Whether this run held the period's lease (now released). */
  readonly leaseReleased: boolean;
}

/**
 * The Glue names of every table a run may create, last stage first (the order `planAthenaCleanup`
 * drops), then its table over a CSV delivery (a run of a Parquet delivery has none: reported missing).
 */
export function runTableNames(layout: AthenaRunLayout): string[] {
  return [
    ...[...STORED_STEPS].reverse().map((step) => layout.runTableName(step.name)),
    layout.runTableName(BILLING_CSV_TABLE),
  ];
}

/**
 * Cleans up after a run, whatever its outcome (the state machine calls it on success and from its
 * failure path):
 * - deletes the run's tables from the Glue catalog with Glue DeleteTable (the same effect as Athena's
 *   `DROP TABLE` on these external tables, without starting a query, waiting for it or paying its 10 MB
 *   minimum; Parquet files are not touched: the `_runs` partitions point at them);
 * - when the pointer does not name this run (it failed before its flip, or a newer delivery is
 *   visible), tags its own files superseded and deletes its `_runs` partitions: nothing reads them;
 * - when the pointer names this run and it still holds the lease, finishes a publish that failed after
 *   its flip: rewrites the Athena image if it names another run, and expires the replaced run if any of
 *   its partitions is still registered, so Athena readers follow the pointer;
 * - releases the period's lease last, so that no other run of the period starts publishing before the
 *   visible state is whole.
 * Idempotent: tables already gone are reported as missing.
 */
export async function cleanupRun(input: CleanupInput, options: CleanupOptions): Promise<CleanupResult> {
  const { runId, billingPeriod } = input;
  const layout = runLayout(input, options);
  const dropped: string[] = [];
  const missing: string[] = [];
  for (const name of runTableNames(layout)) {
    try {
      await options.glue.send(new DeleteTableCommand({ DatabaseName: options.database, Name: name }));
      dropped.push(name);
    } catch (error: unknown) {
      if (!(error instanceof EntityNotFoundException || isAwsError(error, 'EntityNotFoundException'))) {
        throw error;
      }
      missing.push(name);
    }
  }

  const pointer = await readPointer(options, billingPeriod);
  const published = pointer?.visible?.runId === runId;
  let superseded: TagRunResult | null = null;
  let partitionsDeleted = 0;
  let completedPublish = false;
  let periodReport: CleanupResult['periodReport'] = null;
  if (!published) {
    superseded = await tagRunSuperseded({
      s3: options.s3,
      bucket: options.resultsBucket,
      runId,
      maxObjects: options.maxTaggedObjects,
    });
    partitionsDeleted = await deleteRunPartitions(options, billingPeriod, runId);
  } else if (pointer !== undefined && pointer.lease?.holder === runId) {
    completedPublish = await completePublish(options, pointer);
    periodReport = await alignPeriodReport(options, billingPeriod, runId);
  }
  const leaseReleased = await releaseLease(options, billingPeriod, runId);
  options.logger?.info('Run cleaned up', {
    runId,
    billingPeriod,
    dropped,
    missing,
    published,
    superseded,
    partitionsDeleted,
    completedPublish,
    periodReport,
    leaseReleased,
  });
  return {
    runId,
    dropped,
    missing,
    published,
    superseded,
    partitionsDeleted,
    completedPublish,
    periodReport,
    leaseReleased,
  };
}

/**
 * Makes the period's report under `reports/` agree with the pointer, for the visible run (the lease
 * holder): when it is another run's (the visible run failed before write-report, or between its two
 * writes), copies the run's own report there if it was written, else removes the older run's report.
 */
async function alignPeriodReport(
  options: CleanupOptions,
  billingPeriod: string,
  runId: string,
): Promise<CleanupResult['periodReport']> {
  const key = latestReportKey(billingPeriod);
  const reportRun = await reportRunOf(options, key);
  if (reportRun === runId || reportRun === undefined) return null;
  const own = await reportRunOf(options, runReportKey(runId));
  if (own === runId) {
    await options.s3.send(
      new CopyObjectCommand({
        Bucket: options.resultsBucket,
        Key: key,
        CopySource: `${options.resultsBucket}/${runReportKey(runId)}`,
      }),
    );
  } else {
    await options.s3.send(new DeleteObjectCommand({ Bucket: options.resultsBucket, Key: key }));
  }
  options.logger?.warn('The period report was not the visible run’s', {
    runId,
    billingPeriod,
    reportRun,
    action: own === runId ? 'copied' : 'removed',
  });
  return own === runId ? 'copied' : 'removed';
}

/** The run a report object is of (its metadata), or `undefined` when there is no such object. */
async function reportRunOf(options: CleanupOptions, key: string): Promise<string | undefined> {
  try {
    const head = await options.s3.send(new HeadObjectCommand({ Bucket: options.resultsBucket, Key: key }));
    return head.Metadata?.[REPORT_RUN_METADATA] ?? '';
  } catch (error: unknown) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * Steps 3 and 4 of publish-run for the visible run, when they did not finish. Only the lease holder calls
 * it, so no other run's flip can come between the pointer read and the image written from it.
 * @returns whether anything was left to do
 */
async function completePublish(options: CleanupOptions, pointer: PeriodPointer): Promise<boolean> {
  const visible = pointer.visible;
  if (visible === undefined) return false;
  const image = await readPublishedImage(options, pointer.billingPeriod);
  const imageStale = image?.run_id !== visible.runId;
  if (imageStale) await writePublishedImage(options, pointer);
  const previous = visible.previousRunId;
  const previousLeft =
    previous !== null &&
    previous !== visible.runId &&
    (await hasRunPartitions(options, pointer.billingPeriod, previous));
  if (previousLeft) await expireRun(options, pointer.billingPeriod, previous);
  if (imageStale || previousLeft) {
    options.logger?.warn('Finished a publish that failed after its flip', {
      runId: visible.runId,
      billingPeriod: pointer.billingPeriod,
      imageRewritten: imageStale,
      expiredRunId: previousLeft ? previous : null,
    });
  }
  return imageStale || previousLeft;
}
