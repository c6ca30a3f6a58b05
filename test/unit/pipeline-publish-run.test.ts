import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  AlreadyExistsException,
  CreatePartitionCommand,
  DeletePartitionCommand,
  GetTableCommand,
  GlueClient,
  type StorageDescriptor,
} from '@aws-sdk/client-glue';
import {
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { LeaseLostError } from '../../lib/pipeline/period-pointer.ts';
import {
  PARTITION_DELIVERED_AT,
  type PublishRunOptions,
  parsePublishRunInput,
  publishRun,
  ResultsTableError,
} from '../../lib/pipeline/publish-run.ts';

const dynamodb = mockClient(DynamoDBClient);
const glue = mockClient(GlueClient);
const s3 = mockClient(S3Client);
beforeEach(() => {
  dynamodb.reset();
  glue.reset();
  s3.reset();
});

const RESULTS = 'cpc-results-111122223333';
const RUN_ID = '2026-10_exec-b_0123456789abcdef01234567';
const OLD_RUN = '2026-10_exec-a_89abcdef0123456789abcdef';
const RUNS_TABLES = [
  'customer_daily_cost_runs',
  'customer_daily_service_cost_runs',
  'unattributed_cost_runs',
  'daily_summary_runs',
  'customer_daily_usage_runs',
];
// Parsed as the handler parses its event (deliveredAt normalised to toISOString()).
const INPUT = parsePublishRunInput({
  runId: RUN_ID,
  billingPeriod: '2026-10',
  executionId: 'exec-b',
  deliveredAt: '2026-10-14T16:00:00Z',
});

const options = (overrides: Partial<PublishRunOptions> = {}): PublishRunOptions => ({
  dynamodb: new DynamoDBClient({ region: 'eu-west-1' }),
  glue: new GlueClient({ region: 'eu-west-1' }),
  s3: new S3Client({ region: 'eu-west-1' }),
  tableName: 'cpc-serving',
  database: 'cost_per_customer',
  resultsBucket: RESULTS,
  now: () => new Date('2026-10-14T16:20:00Z'),
  ...overrides,
});

/** The `_runs` tables as the catalog construct defines them: Parquet, two partition keys. */
const tableStorage = (table: string): StorageDescriptor => ({
  Columns: [{ Name: 'usage_date', Type: 'date' }],
  Location: `s3://${RESULTS}/runs/`,
  InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
  OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
  SerdeInfo: {
    SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
    Name: table,
  },
});

function catalog(keys = ['billing_period', 'run_id']): void {
  for (const table of RUNS_TABLES) {
    glue.on(GetTableCommand, { Name: table }).resolves({
      Table: {
        Name: table,
        DatabaseName: 'cost_per_customer',
        PartitionKeys: keys.map((Name) => ({ Name, Type: 'string' })),
        StorageDescriptor: tableStorage(table),
      },
    });
  }
}

const runLocation = (table: string) => `s3://${RESULTS}/runs/run=${RUN_ID}/${table}/`;

/** The pointer item as DynamoDB stores it. */
const pointerItem = (fields: Record<string, string>) => ({
  pk: { S: 'PUBLISHED#2026-10' },
  sk: { S: 'RUN' },
  ...Object.fromEntries(Object.entries(fields).map(([name, value]) => [name, { S: value }])),
  lease_holder: { S: RUN_ID },
  lease_expires_at: { N: '1791999999' },
});
const visibleOld = { run_id: OLD_RUN, delivered_at: '2026-10-14T08:00:00.000Z', version: `x#${OLD_RUN}` };
const flipped = {
  run_id: RUN_ID,
  execution_id: 'exec-b',
  delivered_at: '2026-10-14T16:00:00.000Z',
  published_at: '2026-10-14T16:20:00.000Z',
  version: `2026-10-14T16:00:00.000Z#${RUN_ID}`,
  previous_run_id: OLD_RUN,
};

describe('publishRun', () => {
  it('registers the run’s partitions, flips the pointer, writes its image, then retires the replaced run', async () => {
    catalog();
    glue.on(CreatePartitionCommand).resolves({});
    glue.on(DeletePartitionCommand).resolves({});
    dynamodb.on(GetItemCommand).resolves({ Item: pointerItem(visibleOld) });
    dynamodb.on(UpdateItemCommand).resolves({ Attributes: pointerItem(flipped) });
    const oldKeys = ['daily_summary/a.parquet', 'report.html'].map((name) => `runs/run=${OLD_RUN}/${name}`);
    s3.on(ListObjectsV2Command).resolves({ Contents: oldKeys.map((Key) => ({ Key })), IsTruncated: false });
    s3.on(PutObjectTaggingCommand).resolves({});
    s3.on(PutObjectCommand).resolves({});

    const result = await publishRun(INPUT, options());

    expect(result).toEqual({
      published: true,
      runId: RUN_ID,
      billingPeriod: '2026-10',
      deliveredAt: '2026-10-14T16:00:00.000Z',
      publishedAt: '2026-10-14T16:20:00.000Z',
      previousRunId: OLD_RUN,
      partitions: RUNS_TABLES.map((table) => ({
        table,
        action: 'created',
        location: runLocation(table.replace(/_runs$/, '')),
      })),
      image: 'published/2026-10.json',
      expired: {
        runId: OLD_RUN,
        partitionsDeleted: 5,
        superseded: { runId: OLD_RUN, tagged: 2, truncated: false },
      },
    });
    // 1. (billing_period, run_id) partitions with the table's format and the run's location.
    expect(glue).toHaveReceivedCommandWith(CreatePartitionCommand, {
      DatabaseName: 'cost_per_customer',
      TableName: 'daily_summary_runs',
      PartitionInput: {
        Values: ['2026-10', RUN_ID],
        StorageDescriptor: { ...tableStorage('daily_summary_runs'), Location: runLocation('daily_summary') },
        Parameters: { [PARTITION_DELIVERED_AT]: '2026-10-14T16:00:00.000Z' },
      },
    });
    // 2. One conditional write: our lease, and still the visible run read before.
    expect(dynamodb).toHaveReceivedCommandTimes(UpdateItemCommand, 1);
    expect(dynamodb.commandCalls(UpdateItemCommand)[0]?.args[0].input.ConditionExpression).toBe(
      'lease_holder = :run AND (attribute_not_exists(delivered_at) OR delivered_at < :delivered) AND run_id = :previous',
    );
    // 3. The image: one JSON line.
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: RESULTS,
      Key: 'published/2026-10.json',
      Body: `{"billing_period":"2026-10","run_id":"${RUN_ID}","delivered_at":"2026-10-14T16:00:00.000Z","published_at":"2026-10-14T16:20:00.000Z"}\n`,
    });
    // 4. The replaced run: tagged, and its partitions deleted.
    expect(s3).toHaveReceivedCommandWith(PutObjectTaggingCommand, {
      Key: oldKeys[1],
      Tagging: { TagSet: [{ Key: 'cost-per-customer:run-state', Value: 'superseded' }] },
    });
    expect(glue).toHaveReceivedCommandWith(DeletePartitionCommand, {
      TableName: 'customer_daily_cost_runs',
      PartitionValues: ['2026-10', OLD_RUN],
    });
  });

  it('redoes every step on a retry whose first answer was lost, and still knows the run it replaced', async () => {
    catalog();
    glue.on(CreatePartitionCommand).rejects(new AlreadyExistsException({ message: 'exists', $metadata: {} }));
    glue
      .on(DeletePartitionCommand)
      .rejects(Object.assign(new Error('Partition not found'), { name: 'EntityNotFoundException' }));
    // The pointer already names this run: no write, the stored previous run comes back.
    dynamodb.on(GetItemCommand).resolves({ Item: pointerItem(flipped) });
    s3.on(ListObjectsV2Command).resolves({ Contents: [], IsTruncated: false });
    s3.on(PutObjectCommand).resolves({});

    const result = await publishRun(INPUT, options());

    expect(result).toMatchObject({
      previousRunId: OLD_RUN,
      partitions: RUNS_TABLES.map(() => expect.objectContaining({ action: 'existing' })),
      expired: { runId: OLD_RUN, partitionsDeleted: 0, superseded: { tagged: 0 } },
    });
    expect(dynamodb).toHaveReceivedCommandTimes(UpdateItemCommand, 0);
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 1);
  });

  it('publishes nothing when the lease is lost: LeaseLostError, no image, nothing retired', async () => {
    catalog();
    glue.on(CreatePartitionCommand).resolves({});
    const other = { ...visibleOld };
    dynamodb.on(GetItemCommand).resolves({
      Item: { ...pointerItem(other), lease_holder: { S: '2026-10_exec-c_000000000000000000000000' } },
    });
    dynamodb
      .on(UpdateItemCommand)
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );

    await expect(publishRun(INPUT, options())).rejects.toThrow(LeaseLostError);
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 0);
    expect(glue).toHaveReceivedCommandTimes(DeletePartitionCommand, 0);
  });

  it('refuses a _runs table partitioned otherwise, before any write', async () => {
    catalog(['billing_period']);
    await expect(publishRun(INPUT, options())).rejects.toThrow(
      new ResultsTableError(
        'Glue table cost_per_customer.customer_daily_cost_runs must be partitioned by billing_period then run_id and have a storage descriptor',
      ),
    );
    expect(glue).toHaveReceivedCommandTimes(CreatePartitionCommand, 0);
    expect(dynamodb).toHaveReceivedCommandTimes(UpdateItemCommand, 0);
  });
});
