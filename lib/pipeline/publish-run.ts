import { type AttributeValue, type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreatePartitionCommand,
  GetPartitionCommand,
  GetTableCommand,
  type GlueClient,
  type Partition,
  type StorageDescriptor,
  UpdatePartitionCommand,
} from '@aws-sdk/client-glue';
import type { S3Client } from '@aws-sdk/client-s3';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import * as z from 'zod';
import { RESULT_TABLES, type ResultTable } from '../attribution/stages.ts';
import { isAwsError } from '../common/aws-errors.ts';
import { deliveredAtSchema, parseInput, publishedRunKey, runRefSchema } from './run-contract.ts';
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

/** The published-run marker as publish-run writes it (pk `PUBLISHED#<period>`, sk `RUN`). */
interface PublishedRunMarker {
  readonly pk: string;
  readonly sk: string;
  readonly billing_period: string;
  readonly run_id: string;
  readonly execution_id: string;
  readonly delivered_at: string;
  readonly published_at: string;
}

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
export async function publishRun(
  run: PublishRunInput,
  options: PublishRunOptions,
): Promise<PublishRunResult> {
  const { runId, billingPeriod, deliveredAt } = run;
  const now = options.now ?? (() => new Date());

  const marker: PublishedRunMarker = {
    ...publishedRunKey(billingPeriod),
    billing_period: billingPeriod,
    run_id: runId,
    execution_id: run.executionId,
    delivered_at: deliveredAt,
    published_at: now().toISOString(),
  };
  let previousRunId: string | null = null;
  try {
    const response = await options.dynamodb.send(
      new PutItemCommand({
        TableName: options.tableName,
        Item: marshall(marker),
        ConditionExpression: 'attribute_not_exists(pk) OR delivered_at < :delivered OR run_id = :run',
        ExpressionAttributeValues: marshall({ ':delivered': deliveredAt, ':run': runId }),
        ReturnValues: 'ALL_OLD',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    const previous = markerFields(response.Attributes).run_id;
    previousRunId = previous !== undefined && previous !== runId ? previous : null;
  } catch (error: unknown) {
    if (!isAwsError(error, 'ConditionalCheckFailedException')) throw error;
    const item = markerFields((error as { Item?: Record<string, AttributeValue> }).Item);
    const publishedRunId = item.run_id ?? null;
    options.logger?.info('A newer delivery is already published; this run is not', {
      runId,
      billingPeriod,
      deliveredAt,
      publishedRunId,
      publishedDeliveredAt: item.delivered_at,
    });
    return { published: false, reason: 'newer run already published', runId, billingPeriod, publishedRunId };
  }

  const layout = runLayout(run, options);
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
    if (!isAwsError(error, 'EntityNotFoundException')) throw error;
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
      if (!isAwsError(error, 'AlreadyExistsException')) throw error;
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

/** The string fields of a stored marker (absent ones undefined); DynamoDB returns none when there was no item. */
function markerFields(item: Record<string, AttributeValue> | undefined): Partial<PublishedRunMarker> {
  if (item === undefined) return {};
  const fields = unmarshall(item);
  const text = (name: keyof PublishedRunMarker) =>
    typeof fields[name] === 'string' ? (fields[name] as string) : undefined;
  return { run_id: text('run_id'), delivered_at: text('delivered_at') };
}
