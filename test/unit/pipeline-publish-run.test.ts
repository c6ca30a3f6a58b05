import { ConditionalCheckFailedException, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreatePartitionCommand,
  EntityNotFoundException,
  GetPartitionCommand,
  GetTableCommand,
  GlueClient,
  type StorageDescriptor,
  UpdatePartitionCommand,
} from '@aws-sdk/client-glue';
import { ListObjectsV2Command, PutObjectTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { RESULT_TABLES } from '../../lib/attribution/stages.ts';
import {
  PARTITION_DELIVERED_AT,
  PARTITION_RUN_ID,
  type PublishRunOptions,
  parsePublishRunInput,
  publishRun,
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

/** The results tables as catalog.ts defines them: Parquet, one partition key. */
const tableStorage = (table: string): StorageDescriptor => ({
  Columns: [
    { Name: 'usage_date', Type: 'date' },
    { Name: 'run_id', Type: 'string' },
  ],
  Location: `s3://${RESULTS}/tables/${table}/`,
  InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
  OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
  SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
});

function catalog(): void {
  for (const table of RESULT_TABLES) {
    glue.on(GetTableCommand, { Name: table }).resolves({
      Table: {
        Name: table,
        DatabaseName: 'cost_per_customer',
        PartitionKeys: [{ Name: 'billing_period', Type: 'string' }],
        StorageDescriptor: tableStorage(table),
      },
    });
  }
}

const notFound = () => new EntityNotFoundException({ message: 'Partition not found', $metadata: {} });
const runLocation = (table: string, runId = RUN_ID) => `s3://${RESULTS}/runs/run=${runId}/${table}/`;

describe('publishRun', () => {
  it('claims the period, then creates missing partitions and updates present ones at the run location', async () => {
    dynamodb.on(PutItemCommand).resolves({});
    catalog();
    // customer_daily_cost has no 2026-10 partition yet; the other three point at an earlier run.
    glue.on(GetPartitionCommand).resolves({
      Partition: {
        Values: ['2026-10'],
        StorageDescriptor: { ...tableStorage('x'), Location: runLocation('x', OLD_RUN) },
        Parameters: { [PARTITION_RUN_ID]: OLD_RUN, [PARTITION_DELIVERED_AT]: '2026-10-14T08:00:00.000Z' },
      },
    });
    glue.on(GetPartitionCommand, { TableName: 'customer_daily_cost' }).rejects(notFound());

    const result = await publishRun(INPUT, options());

    expect(result).toMatchObject({
      published: true,
      runId: RUN_ID,
      deliveredAt: '2026-10-14T16:00:00.000Z',
      previousRunId: null,
      superseded: null,
      partitions: [
        { table: 'customer_daily_cost', action: 'created', location: runLocation('customer_daily_cost') },
        { table: 'customer_daily_service_cost', action: 'updated' },
        { table: 'unattributed_cost', action: 'updated' },
        { table: 'daily_summary', action: 'updated', location: runLocation('daily_summary') },
      ],
    });
    expect(dynamodb).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: 'cpc-serving',
      ConditionExpression: 'attribute_not_exists(pk) OR delivered_at < :delivered OR run_id = :run',
      ExpressionAttributeValues: {
        ':delivered': { S: '2026-10-14T16:00:00.000Z' },
        ':run': { S: RUN_ID },
      },
    });
    const item = dynamodb.commandCalls(PutItemCommand)[0]?.args[0].input.Item;
    expect(item).toMatchObject({
      pk: { S: 'PUBLISHED#2026-10' },
      sk: { S: 'RUN' },
      run_id: { S: RUN_ID },
      delivered_at: { S: '2026-10-14T16:00:00.000Z' },
      published_at: { S: '2026-10-14T16:20:00.000Z' },
    });

    expect(glue).toHaveReceivedCommandTimes(CreatePartitionCommand, 1);
    expect(glue).toHaveReceivedCommandWith(CreatePartitionCommand, {
      DatabaseName: 'cost_per_customer',
      TableName: 'customer_daily_cost',
      PartitionInput: {
        Values: ['2026-10'],
        // The table's format and SerDe, the run's location.
        StorageDescriptor: {
          ...tableStorage('customer_daily_cost'),
          Location: runLocation('customer_daily_cost'),
        },
        Parameters: { [PARTITION_RUN_ID]: RUN_ID, [PARTITION_DELIVERED_AT]: '2026-10-14T16:00:00.000Z' },
      },
    });
    expect(glue).toHaveReceivedCommandTimes(UpdatePartitionCommand, 3);
    expect(glue).toHaveReceivedCommandWith(UpdatePartitionCommand, {
      TableName: 'daily_summary',
      PartitionValueList: ['2026-10'],
      PartitionInput: {
        Values: ['2026-10'],
        StorageDescriptor: { ...tableStorage('daily_summary'), Location: runLocation('daily_summary') },
        Parameters: { [PARTITION_RUN_ID]: RUN_ID, [PARTITION_DELIVERED_AT]: '2026-10-14T16:00:00.000Z' },
      },
    });
  });

  it('never lets an older delivery replace a newer one: the claim fails, nothing else happens', async () => {
    dynamodb.on(PutItemCommand).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        Item: {
          run_id: { S: '2026-10_exec-c_fedcba9876543210fedcba98' },
          delivered_at: { S: '2026-10-14T23:00:00.000Z' },
        },
      }),
    );
    const result = await publishRun(INPUT, options());
    expect(result).toEqual({
      published: false,
      reason: 'newer run already published',
      runId: RUN_ID,
      billingPeriod: '2026-10',
      publishedRunId: '2026-10_exec-c_fedcba9876543210fedcba98',
    });
    expect(glue).toHaveReceivedCommandTimes(GetTableCommand, 0);
    expect(glue).toHaveReceivedCommandTimes(UpdatePartitionCommand, 0);
    expect(s3).toHaveReceivedCommandTimes(PutObjectTaggingCommand, 0);
  });

  it('tags the replaced run’s objects superseded, within the bound', async () => {
    dynamodb.on(PutItemCommand).resolves({
      Attributes: { run_id: { S: OLD_RUN }, delivered_at: { S: '2026-10-14T08:00:00.000Z' } },
    });
    catalog();
    glue.on(GetPartitionCommand).rejects(notFound());
    const keys = ['classified_cost/a.parquet', 'daily_summary/b.parquet', 'serving/u/c.gz'].map(
      (name) => `runs/run=${OLD_RUN}/${name}`,
    );
    s3.on(ListObjectsV2Command).resolves({ Contents: keys.map((Key) => ({ Key })), IsTruncated: false });
    s3.on(PutObjectTaggingCommand).resolves({});

    const result = await publishRun(INPUT, options({ maxTaggedObjects: 2 }));

    expect(result).toMatchObject({
      published: true,
      previousRunId: OLD_RUN,
      superseded: { runId: OLD_RUN, tagged: 2, truncated: true },
    });
    expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, {
      Bucket: RESULTS,
      Prefix: `runs/run=${OLD_RUN}/`,
    });
    expect(s3).toHaveReceivedCommandTimes(PutObjectTaggingCommand, 2);
    expect(s3).toHaveReceivedCommandWith(PutObjectTaggingCommand, {
      Bucket: RESULTS,
      Key: keys[0],
      Tagging: { TagSet: [{ Key: 'cost-per-customer:run-state', Value: 'superseded' }] },
    });
  });

  it('re-publishes the same run on a retry without tagging its own files', async () => {
    dynamodb.on(PutItemCommand).resolves({ Attributes: { run_id: { S: RUN_ID } } });
    catalog();
    glue.on(GetPartitionCommand).resolves({
      Partition: {
        Values: ['2026-10'],
        Parameters: { [PARTITION_DELIVERED_AT]: '2026-10-14T16:00:00.000Z' },
      },
    });
    const result = await publishRun(INPUT, options());
    expect(result).toMatchObject({ published: true, previousRunId: null, superseded: null });
    expect(glue).toHaveReceivedCommandTimes(UpdatePartitionCommand, 4);
    expect(s3).toHaveReceivedCommandTimes(ListObjectsV2Command, 0);
  });

  it('leaves a partition that already points at a later delivery', async () => {
    dynamodb.on(PutItemCommand).resolves({});
    catalog();
    glue.on(GetPartitionCommand).rejects(notFound());
    glue.on(GetPartitionCommand, { TableName: 'unattributed_cost' }).resolves({
      Partition: {
        Values: ['2026-10'],
        StorageDescriptor: { Location: 's3://later/' },
        Parameters: { [PARTITION_DELIVERED_AT]: '2026-10-14T23:00:00.000Z' },
      },
    });
    const result = await publishRun(INPUT, options());
    expect(result.published && result.partitions.map((p) => p.action)).toEqual([
      'created',
      'created',
      'skipped',
      'created',
    ]);
  });
});
