import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreatePartitionCommand,
  DeletePartitionCommand,
  GetPartitionCommand,
  GetTableCommand,
  type GlueClient,
} from '@aws-sdk/client-glue';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { RESULT_TABLES, type ResultTable } from '../attribution/stages.ts';
import { isAwsError, isNotFound } from '../common/aws-errors.ts';
import { flipPointer, type PeriodPointer, type PointerStore } from './period-pointer.ts';
import { runsTableName } from './published-views.ts';
import { deliveredAtSchema, parseInput, publishedImageKey, runRefSchema } from './run-contract.ts';
import { runLayout } from './run-layout.ts';
import type { RunLogger } from './start-run.ts';
import { type TagRunResult, tagRunSuperseded } from './superseded-runs.ts';

/** publish-run's state input (lambdas/README.md). */
export const publishRunInputSchema = runRefSchema.extend({
  executionId: z.string().min(1),
  deliveredAt: deliveredAtSchema,
});
export type PublishRunInput = z.infer<typeof publishRunInputSchema>;

/** Parses publish-run's state input. @throws PipelineInputError naming each wrong field */
export function parsePublishRunInput(event: unknown): PublishRunInput {
  return parseInput(publishRunInputSchema, event, 'publish-run input');
}

/** Partition parameter that says which delivery a run's partition holds (readable in the Glue console). */
export const PARTITION_DELIVERED_AT = 'cost_per_customer.delivered_at';

export interface PartitionRegistration {
  readonly table: string;
  /** `existing`: an earlier attempt registered it (a retry). */
  readonly action: 'created' | 'existing';
  readonly location: string;
}

/** What became of the run the published one replaced. */
export interface ExpiredRun {
  readonly runId: string;
  /** `_runs` partitions of that run deleted now (0 on a retry that had deleted them already). */
  readonly partitionsDeleted: number;
  readonly superseded: TagRunResult;
}

export interface PublishRunResult {
  readonly published: true;
  readonly runId: string;
  readonly billingPeriod: string;
  readonly deliveredAt: string;
  readonly publishedAt: string;
  /** The run this one replaced (stored in the pointer, so a retry returns it too), if any. */
  readonly previousRunId: string | null;
  readonly partitions: readonly PartitionRegistration[];
  /** The pointer's Athena image written (`published/<period>.json`). */
  readonly image: string;
  readonly expired: ExpiredRun | null;
}

/** A results table in the catalog is not laid out as the catalog construct makes it. */
export class ResultsTableError extends Error {
  override readonly name = 'ResultsTableError';
}

/** What publish-run and cleanup's completion of a publish need. */
export interface PublishStore extends PointerStore {
  readonly glue: GlueClient;
  readonly s3: S3Client;
  readonly database: string;
  readonly resultsBucket: string;
  /** Bound on the objects of the replaced run tagged in one call. @default 2000 */
  readonly maxTaggedObjects?: number;
  readonly logger?: RunLogger;
}

export interface PublishRunOptions extends PublishStore {
  readonly dynamodb: DynamoDBClient;
  /** The serving table, which holds the period pointers. */
  readonly tableName: string;
  /** Clock for `published_at`. @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * Makes a run the visible one of its billing period (docs/aws-pipeline.md "Visibility"), in four steps
 * that a reader can interrupt at any point and still see one whole run:
 * 1. registers the run's partitions (billing_period, run_id) on the four `<result>_runs` tables, at
 *    `s3://<results>/runs/run=<run id>/<result>/` where its CTAS wrote; invisible, as the published views
 *    join `published_runs`;
 * 2. flips the period pointer (ONE conditional write, refused unless the run holds the period's lease and
 *    is newer than the visible run): DynamoDB readers, alerts and the report switch here;
 * 3. writes the pointer's Athena image, `published/<period>.json`: Athena readers switch here, whole;
 * 4. tags the replaced run's objects superseded (the lifecycle rule expires them), then deletes its
 *    `_runs` partitions: it is no longer visible anywhere.
 *
 * Idempotent: a retry redoes every step, and the pointer returns the replaced run even when the first
 * attempt's answer was lost.
 * @throws LeaseLostError when the run no longer holds the lease and is not visible (not retried)
 * @throws ResultsTableError when a `_runs` table is not partitioned by (billing_period, run_id)
 */
export async function publishRun(
  run: PublishRunInput,
  options: PublishRunOptions,
): Promise<PublishRunResult> {
  const { runId, billingPeriod, deliveredAt } = run;
  const partitions = await registerRunPartitions(run, options);
  const flip = await flipPointer(options, run, { now: options.now });
  const visible = flip.pointer.visible;
  // flipPointer returns only once the pointer names this run.
  if (visible === undefined) throw new Error(`pointer of ${billingPeriod} names no run after the flip`);
  const image = await writePublishedImage(options, flip.pointer);
  const expired =
    flip.previousRunId !== null && flip.previousRunId !== runId
      ? await expireRun(options, billingPeriod, flip.previousRunId)
      : null;
  options.logger?.info('Run published', {
    runId,
    billingPeriod,
    deliveredAt,
    previousRunId: flip.previousRunId,
    partitions,
    expired,
  });
  return {
    published: true,
    runId,
    billingPeriod,
    deliveredAt,
    publishedAt: visible.publishedAt,
    previousRunId: flip.previousRunId,
    partitions,
    image,
    expired,
  };
}

/** The one JSON line of a period's Athena image (the `published_runs` table's columns). */
export interface PublishedImage {
  readonly billing_period: string;
  readonly run_id: string;
  readonly delivered_at: string;
  readonly published_at: string;
}

export function publishedImageOf(pointer: PeriodPointer): PublishedImage {
  const visible = pointer.visible;
  if (visible === undefined) throw new RangeError(`pointer of ${pointer.billingPeriod} names no run`);
  return {
    billing_period: pointer.billingPeriod,
    run_id: visible.runId,
    delivered_at: visible.deliveredAt,
    published_at: visible.publishedAt,
  };
}

/** Writes the period's Athena image from the pointer. @returns its key */
export async function writePublishedImage(store: PublishStore, pointer: PeriodPointer): Promise<string> {
  const key = publishedImageKey(pointer.billingPeriod);
  await store.s3.send(
    new PutObjectCommand({
      Bucket: store.resultsBucket,
      Key: key,
      Body: `${JSON.stringify(publishedImageOf(pointer))}\n`,
      ContentType: 'application/json',
    }),
  );
  return key;
}

/** The period's Athena image as stored, or `undefined` when none was written yet (or it is unreadable). */
export async function readPublishedImage(
  store: Pick<PublishStore, 's3' | 'resultsBucket'>,
  billingPeriod: string,
): Promise<PublishedImage | undefined> {
  try {
    const response = await store.s3.send(
      new GetObjectCommand({ Bucket: store.resultsBucket, Key: publishedImageKey(billingPeriod) }),
    );
    const text = (await response.Body?.transformToString('utf-8')) ?? '';
    return parseImage(text);
  } catch (error: unknown) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** The image's one line, or `undefined` when it is not one (then cleanup writes it again). */
function parseImage(text: string): PublishedImage | undefined {
  try {
    const image = JSON.parse(text) as Partial<PublishedImage> | null;
    return typeof image?.run_id === 'string' ? (image as PublishedImage) : undefined;
  } catch {
    return undefined;
  }
}

/** Registers the run's partition on each `<result>_runs` table; one already there (a retry) is fine. */
export async function registerRunPartitions(
  run: { readonly runId: string; readonly billingPeriod: string; readonly deliveredAt: string },
  store: PublishStore,
): Promise<PartitionRegistration[]> {
  const layout = runLayout(run, store);
  const registered: PartitionRegistration[] = [];
  for (const result of RESULT_TABLES) {
    const table = runsTableName(result);
    const location = layout.location(result);
    const storage = await runsTableStorage(store, table);
    try {
      await store.glue.send(
        new CreatePartitionCommand({
          DatabaseName: store.database,
          TableName: table,
          PartitionInput: {
            Values: [run.billingPeriod, run.runId],
            StorageDescriptor: { ...storage, Location: location },
            Parameters: { [PARTITION_DELIVERED_AT]: run.deliveredAt },
          },
        }),
      );
      registered.push({ table, action: 'created', location });
    } catch (error: unknown) {
      if (!isAwsError(error, 'AlreadyExistsException')) throw error;
      registered.push({ table, action: 'existing', location });
    }
  }
  return registered;
}

async function runsTableStorage(store: PublishStore, table: string) {
  const { Table } = await store.glue.send(new GetTableCommand({ DatabaseName: store.database, Name: table }));
  const keys = Table?.PartitionKeys?.map((key) => key.Name) ?? [];
  if (Table?.StorageDescriptor === undefined || keys.join(',') !== 'billing_period,run_id') {
    throw new ResultsTableError(
      `Glue table ${store.database}.${table} must be partitioned by billing_period then run_id and have a storage descriptor`,
    );
  }
  return Table.StorageDescriptor;
}

/**
 * Deletes a run's partitions from the four `<result>_runs` tables (already gone is fine).
 * @returns how many were deleted now
 */
export async function deleteRunPartitions(
  store: PublishStore,
  billingPeriod: string,
  runId: string,
): Promise<number> {
  let deleted = 0;
  for (const result of RESULT_TABLES) {
    try {
      await store.glue.send(
        new DeletePartitionCommand({
          DatabaseName: store.database,
          TableName: runsTableName(result),
          PartitionValues: [billingPeriod, runId],
        }),
      );
      deleted += 1;
    } catch (error: unknown) {
      if (!isAwsError(error, 'EntityNotFoundException')) throw error;
    }
  }
  return deleted;
}

/** Whether any of a run's `_runs` partitions is still registered. */
export async function hasRunPartitions(
  store: PublishStore,
  billingPeriod: string,
  runId: string,
  tables: readonly ResultTable[] = RESULT_TABLES,
): Promise<boolean> {
  for (const result of tables) {
    try {
      await store.glue.send(
        new GetPartitionCommand({
          DatabaseName: store.database,
          TableName: runsTableName(result),
          PartitionValues: [billingPeriod, runId],
        }),
      );
      return true;
    } catch (error: unknown) {
      if (!isAwsError(error, 'EntityNotFoundException')) throw error;
    }
  }
  return false;
}

/**
 * Retires a run that is no longer visible: tags its objects superseded, then deletes its partitions
 * (in that order, so that a failure in between leaves a partition that says "not finished" to
 * {@link hasRunPartitions}, rather than untagged files nothing points at).
 */
export async function expireRun(
  store: PublishStore,
  billingPeriod: string,
  runId: string,
): Promise<ExpiredRun> {
  const superseded = await tagRunSuperseded({
    s3: store.s3,
    bucket: store.resultsBucket,
    runId,
    maxObjects: store.maxTaggedObjects,
  });
  if (superseded.truncated) {
    store.logger?.warn('Not every object of the superseded run was tagged', { ...superseded });
  }
  const partitionsDeleted = await deleteRunPartitions(store, billingPeriod, runId);
  return { runId, partitionsDeleted, superseded };
}
