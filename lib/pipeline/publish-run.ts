import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  AlreadyExistsException,
  CreatePartitionCommand,
  EntityNotFoundException,
  GetPartitionCommand,
  GetTableCommand,
  type GlueClient,
  type Partition,
  type StorageDescriptor,
  UpdatePartitionCommand,
} from '@aws-sdk/client-glue';
import type { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { RESULT_TABLES, type ResultTable } from '../attribution/stages.ts';
import { AthenaRunLayout } from '../engine/athena-engine.ts';
import {
  billingPeriodSchema,
  deliveredAtSchema,
  errorName,
  parseInput,
  publishedRunKey,
  RUNS_PREFIX,
  runIdSchema,
} from './run-contract.ts';
import type { RunLogger } from './start-run.ts';
import { type TagRunResult, tagRunSuperseded } from './superseded-runs.ts';

export const publishRunInputSchema = z.object({
  runId: runIdSchema,
  billingPeriod: billingPeriodSchema,
  executionId: z.string().min(1),
  deliveredAt: deliveredAtSchema,
});
export type PublishRunInput = z.infer<typeof publishRunInputSchema>;

/** Partition parameters that say which run a partition points at (readable in the Glue console). */
export const PARTITION_RUN_ID = 'cost_per_customer.run_id';
export const PARTITION_DELIVERED_AT = 'cost_per_customer.delivered_at';

export interface PartitionChange {
  readonly table: ResultTable;
  /** `skipped`: the partition already points at a run of a later delivery. */
  readonly action: 'created' | 'updated' | 'skipped';
  readonly location: string;
}

export type PublishRunResult =
  | {
      readonly published: true;
      readonly runId: string;
      readonly billingPeriod: string;
      readonly deliveredAt: string;
      /** The run this one replaced, if any (its files are tagged superseded). */
      readonly previousRunId: string | null;
      readonly partitions: readonly PartitionChange[];
      readonly superseded: TagRunResult | null;
    }
  | {
      readonly published: false;
      readonly reason: 'newer run already published';
      readonly runId: string;
      readonly billingPeriod: string;
      readonly publishedRunId: string | null;
    };

/** A results table in the catalog is not laid out as the catalog construct makes it. */
export class ResultsTableError extends Error {
  override readonly name = 'ResultsTableError';
}

export interface PublishRunOptions {
  readonly dynamodb: DynamoDBClient;
  readonly glue: GlueClient;
  readonly s3: S3Client;
  /** The serving table, which also holds the published-run marker. */
  readonly tableName: string;
  readonly database: string;
  readonly resultsBucket: string;
  /** Bound on the objects of the previous run tagged in this call. @default 2000 */
  readonly maxTaggedObjects?: number;
  /** Clock for `published_at`. @default () => new Date() */
  readonly now?: () => Date;
  readonly logger?: RunLogger;
}

/**
 * Publishes a run whose checks passed:
 * (a) claims the billing period in DynamoDB: item pk `PUBLISHED#<period>`, sk `RUN`, written only when
 *     absent, older (`delivered_at` earlier than this run's), or already this run's (a retried call). A
 *     newer published delivery makes this a no-op that returns `published: false`, not an error;
 * (b) points each result table's partition `billing_period=<period>` at the run's Parquet
 *     (`s3://<results>/runs/run=<run id>/<table>/`): UpdatePartition, or CreatePartition when missing,
 *     with the table's StorageDescriptor (format, SerDe, columns) and the run's location;
 * (c) tags the replaced run's objects `cost-per-customer:run-state=superseded`, bounded, so the results
 *     bucket's lifecycle rule expires them.
 *
 * Idempotent: a retry after a failure in (b) or (c) claims the period again (same run) and redoes them.
 */
export async function publishRun(input: unknown, options: PublishRunOptions): Promise<PublishRunResult> {
  const run = parseInput(publishRunInputSchema, input, 'publish-run input');
  const { runId, billingPeriod, deliveredAt } = run;
  const now = options.now ?? (() => new Date());

  const { pk, sk } = publishedRunKey(billingPeriod);
  let previousRunId: string | null = null;
  try {
    const response = await options.dynamodb.send(
      new PutItemCommand({
        TableName: options.tableName,
        Item: {
          pk: { S: pk },
          sk: { S: sk },
          billing_period: { S: billingPeriod },
          run_id: { S: runId },
          execution_id: { S: run.executionId },
          delivered_at: { S: deliveredAt },
          published_at: { S: now().toISOString() },
        },
        ConditionExpression: 'attribute_not_exists(pk) OR delivered_at < :delivered OR run_id = :run',
        ExpressionAttributeValues: { ':delivered': { S: deliveredAt }, ':run': { S: runId } },
        ReturnValues: 'ALL_OLD',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    const previous = response.Attributes?.run_id?.S;
    previousRunId = previous !== undefined && previous !== runId ? previous : null;
  } catch (error: unknown) {
    if (
      !(
        error instanceof ConditionalCheckFailedException ||
        errorName(error) === 'ConditionalCheckFailedException'
      )
    ) {
      throw error;
    }
    const item = (error as { Item?: Record<string, { S?: string }> }).Item;
    const publishedRunId = item?.run_id?.S ?? null;
    options.logger?.info('A newer delivery is already published; this run is not', {
      runId,
      billingPeriod,
      deliveredAt,
      publishedRunId,
      publishedDeliveredAt: item?.delivered_at?.S,
    });
    return { published: false, reason: 'newer run already published', runId, billingPeriod, publishedRunId };
  }

  const layout = new AthenaRunLayout({
    database: options.database,
    resultsBucket: options.resultsBucket,
    runPrefix: RUNS_PREFIX.replace(/\/$/, ''),
    runId,
    billingPeriod,
  });
  const partitions: PartitionChange[] = [];
  for (const table of RESULT_TABLES) {
    partitions.push(await pointPartition(options, table, layout.location(table), run));
  }

  let superseded: TagRunResult | null = null;
  if (previousRunId !== null) {
    superseded = await tagRunSuperseded({
      s3: options.s3,
      bucket: options.resultsBucket,
      runId: previousRunId,
      maxObjects: options.maxTaggedObjects,
    });
    if (superseded.truncated) {
      options.logger?.warn('Not every object of the superseded run was tagged', { ...superseded });
    }
  }
  options.logger?.info('Run published', { runId, billingPeriod, deliveredAt, previousRunId, partitions });
  return { published: true, runId, billingPeriod, deliveredAt, previousRunId, partitions, superseded };
}

async function pointPartition(
  options: PublishRunOptions,
  table: ResultTable,
  location: string,
  run: PublishRunInput,
): Promise<PartitionChange> {
  const { glue, database } = options;
  const { Table } = await glue.send(new GetTableCommand({ DatabaseName: database, Name: table }));
  const keys = Table?.PartitionKeys?.map((key) => key.Name) ?? [];
  if (Table?.StorageDescriptor === undefined || keys.length !== 1 || keys[0] !== 'billing_period') {
    throw new ResultsTableError(
      `Glue table ${database}.${table} must be partitioned by billing_period alone and have a storage descriptor`,
    );
  }
  const storage: StorageDescriptor = { ...Table.StorageDescriptor, Location: location };
  const values = [run.billingPeriod];
  const parameters = { [PARTITION_RUN_ID]: run.runId, [PARTITION_DELIVERED_AT]: run.deliveredAt };

  let existing: Partition | undefined;
  try {
    ({ Partition: existing } = await glue.send(
      new GetPartitionCommand({ DatabaseName: database, TableName: table, PartitionValues: values }),
    ));
  } catch (error: unknown) {
    if (!(error instanceof EntityNotFoundException || errorName(error) === 'EntityNotFoundException'))
      throw error;
  }

  if (existing === undefined) {
    try {
      await glue.send(
        new CreatePartitionCommand({
          DatabaseName: database,
          TableName: table,
          PartitionInput: { Values: values, StorageDescriptor: storage, Parameters: parameters },
        }),
      );
      return { table, action: 'created', location };
    } catch (error: unknown) {
      // Created meanwhile (a concurrent publish): fall through to the update, with its own check.
      if (!(error instanceof AlreadyExistsException || errorName(error) === 'AlreadyExistsException'))
        throw error;
      ({ Partition: existing } = await glue.send(
        new GetPartitionCommand({ DatabaseName: database, TableName: table, PartitionValues: values }),
      ));
    }
  }

  // The DynamoDB claim orders publishes; this check only narrows the window in which two publishes of
  // the same period (deliveries hours apart, so in practice never) could interleave table by table.
  const pointedAt = existing?.Parameters?.[PARTITION_DELIVERED_AT];
  if (pointedAt !== undefined && pointedAt > run.deliveredAt) {
    options.logger?.warn('Partition already points at a later delivery; left as it is', {
      table,
      billingPeriod: run.billingPeriod,
      pointedAt,
      runId: run.runId,
    });
    return { table, action: 'skipped', location: existing?.StorageDescriptor?.Location ?? '' };
  }
  await glue.send(
    new UpdatePartitionCommand({
      DatabaseName: database,
      TableName: table,
      PartitionValueList: values,
      PartitionInput: {
        Values: values,
        StorageDescriptor: storage,
        Parameters: { ...existing?.Parameters, ...parameters },
      },
    }),
  );
  return { table, action: 'updated', location };
}
