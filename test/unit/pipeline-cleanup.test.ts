import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DeletePartitionCommand,
  DeleteTableCommand,
  EntityNotFoundException,
  GetPartitionCommand,
  GlueClient,
} from '@aws-sdk/client-glue';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { AthenaRunLayout } from '../../lib/engine/athena-run-layout.ts';
import { type CleanupOptions, cleanupRun } from '../../lib/pipeline/cleanup.ts';

const glue = mockClient(GlueClient);
const dynamodb = mockClient(DynamoDBClient);
const s3 = mockClient(S3Client);
beforeEach(() => {
  glue.reset();
  dynamodb.reset();
  s3.reset();
});

const RESULTS = 'cpc-results-111122223333';
const RUN_ID = 'r20261014b';
const RUN = { runId: RUN_ID, billingPeriod: '2026-10' };
const layout = new AthenaRunLayout({ database: 'cost_per_customer', resultsBucket: RESULTS, runId: RUN_ID });

const options = (): CleanupOptions => ({
  glue: new GlueClient({ region: 'eu-west-1' }),
  dynamodb: new DynamoDBClient({ region: 'eu-west-1' }),
  s3: new S3Client({ region: 'eu-west-1' }),
  database: 'cost_per_customer',
  resultsBucket: RESULTS,
  tableName: 'cpc-serving',
});

/** The period pointer: the visible run (if any) and the lease holder (if any). */
const published = (
  runId: string | undefined,
  leaseHolder: string | null = RUN_ID,
  previous = 'r20261014a',
) => {
  dynamodb.on(GetItemCommand).resolves(
    runId === undefined && leaseHolder === null
      ? {}
      : {
          Item: {
            ...(runId === undefined
              ? {}
              : {
                  run_id: { S: runId },
                  delivered_at: { S: '2026-10-14T16:00:00.000Z' },
                  published_at: { S: '2026-10-14T16:20:00.000Z' },
                  previous_run_id: { S: previous },
                }),
            ...(leaseHolder === null
              ? {}
              : { lease_holder: { S: leaseHolder }, lease_expires_at: { N: '1791999999' } }),
          },
        },
  );
  if (leaseHolder === RUN_ID) dynamodb.on(UpdateItemCommand).resolves({});
  else {
    dynamodb
      .on(UpdateItemCommand)
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );
  }
};
const notFound = () => new EntityNotFoundException({ message: 'Partition not found', $metadata: {} });
const body = (text: string) =>
  ({ transformToString: async () => text }) as unknown as GetObjectCommandOutput['Body'];

describe('cleanupRun', () => {
  it('deletes the run’s Glue tables and keeps the files of the published run', async () => {
    glue.on(DeleteTableCommand).resolves({});
    // A retried cleanup: allocated_cost is already gone.
    glue
      .on(DeleteTableCommand, { Name: layout.runTableName('allocated_cost') })
      .rejects(new EntityNotFoundException({ message: 'Table not found', $metadata: {} }));
    // A Parquet delivery: the run made no table over CSV files.
    glue
      .on(DeleteTableCommand, { Name: layout.runTableName('billing_csv') })
      .rejects(new EntityNotFoundException({ message: 'Table not found', $metadata: {} }));
    published(RUN_ID);
    // Its publish finished: the image names it, the replaced run's partitions are gone.
    s3.on(GetObjectCommand).resolves({ Body: body(`{"billing_period":"2026-10","run_id":"${RUN_ID}"}\n`) });
    glue.on(GetPartitionCommand).rejects(notFound());
    s3.on(HeadObjectCommand).resolves({ Metadata: { 'run-id': RUN_ID } });

    const result = await cleanupRun(RUN, options());

    expect(result).toEqual({
      runId: RUN_ID,
      dropped: [
        'customer_daily_usage',
        'daily_summary',
        'unattributed_cost',
        'customer_daily_service_cost',
        'customer_daily_cost',
        'customer_versions',
        'classified_cost',
        'usage_rows',
      ].map((name) => `run_r20261014b_${name}`),
      missing: ['run_r20261014b_allocated_cost', 'run_r20261014b_billing_csv'],
      published: true,
      superseded: null,
      partitionsDeleted: 0,
      completedPublish: false,
      periodReport: null,
      leaseReleased: true,
    });
    expect(glue).toHaveReceivedCommandWith(DeleteTableCommand, {
      DatabaseName: 'cost_per_customer',
      Name: 'run_r20261014b_daily_summary',
    });
    expect(dynamodb).toHaveReceivedCommandWith(GetItemCommand, {
      Key: { pk: { S: 'PUBLISHED#2026-10' }, sk: { S: 'RUN' } },
      ConsistentRead: true,
    });
    expect(s3).toHaveReceivedCommandTimes(PutObjectTaggingCommand, 0);
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 0);
    // The lease is released last, conditioned on holding it.
    expect(dynamodb).toHaveReceivedCommandWith(UpdateItemCommand, {
      UpdateExpression: 'REMOVE lease_holder, lease_expires_at',
      ConditionExpression: 'lease_holder = :run',
    });
  });

  it('finishes a publish that failed after its flip: rewrites the image, retires the replaced run', async () => {
    glue.on(DeleteTableCommand).resolves({});
    published(RUN_ID, RUN_ID, 'r20261014a');
    s3.on(GetObjectCommand).rejects(
      new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }),
    );
    s3.on(PutObjectCommand).resolves({});
    glue.on(GetPartitionCommand).resolves({ Partition: { Values: ['2026-10', 'r20261014a'] } });
    glue.on(DeletePartitionCommand).resolves({});
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'runs/run=r20261014a/report.html' }] });
    s3.on(PutObjectTaggingCommand).resolves({});
    // The period's report is the replaced run's, and this run failed before writing its own.
    s3.on(HeadObjectCommand, { Key: 'reports/billing_period=2026-10/report.html' }).resolves({
      Metadata: { 'run-id': 'r20261014a' },
    });
    s3.on(HeadObjectCommand, { Key: `runs/run=${RUN_ID}/report.html` }).rejects(
      Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }),
    );
    s3.on(DeleteObjectCommand).resolves({});

    const result = await cleanupRun(RUN, options());

    expect(result).toMatchObject({
      published: true,
      completedPublish: true,
      superseded: null,
      periodReport: 'removed',
      leaseReleased: true,
    });
    expect(s3).toHaveReceivedCommandWith(DeleteObjectCommand, {
      Bucket: RESULTS,
      Key: 'reports/billing_period=2026-10/report.html',
    });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Key: 'published/2026-10.json',
      Body: `{"billing_period":"2026-10","run_id":"${RUN_ID}","delivered_at":"2026-10-14T16:00:00.000Z","published_at":"2026-10-14T16:20:00.000Z"}\n`,
    });
    expect(s3).toHaveReceivedCommandWith(PutObjectTaggingCommand, { Key: 'runs/run=r20261014a/report.html' });
    expect(glue).toHaveReceivedCommandTimes(DeletePartitionCommand, 5);
    expect(glue).toHaveReceivedCommandWith(DeletePartitionCommand, {
      TableName: 'daily_summary_runs',
      PartitionValues: ['2026-10', 'r20261014a'],
    });
  });

  it.each([
    ['a newer run is published', 'r20261014c', null],
    ['nothing was ever published (the run failed)', undefined, RUN_ID],
  ])(
    'tags the run’s own files superseded and deletes its partitions when %s',
    async (_case, publishedRunId, lease) => {
      glue.on(DeleteTableCommand).resolves({});
      published(publishedRunId, lease);
      glue.on(DeletePartitionCommand).rejects(notFound());
      glue.on(DeletePartitionCommand, { TableName: 'customer_daily_cost_runs' }).resolves({});
      s3.on(ListObjectsV2Command).resolves({
        Contents: [{ Key: `runs/run=${RUN_ID}/classified_cost/0.parquet` }],
        IsTruncated: false,
      });
      s3.on(PutObjectTaggingCommand).resolves({});

      const result = await cleanupRun(RUN, options());

      expect(result).toMatchObject({
        published: false,
        superseded: { runId: RUN_ID, tagged: 1, truncated: false },
        // One of its five partitions had been registered before it failed.
        partitionsDeleted: 1,
        completedPublish: false,
        leaseReleased: lease === RUN_ID,
      });
      expect(glue).toHaveReceivedCommandWith(DeletePartitionCommand, {
        TableName: 'customer_daily_cost_runs',
        PartitionValues: ['2026-10', RUN_ID],
      });
      expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, {
        Bucket: RESULTS,
        Prefix: `runs/run=${RUN_ID}/`,
      });
      expect(s3).toHaveReceivedCommandWith(PutObjectTaggingCommand, {
        Key: `runs/run=${RUN_ID}/classified_cost/0.parquet`,
        Tagging: { TagSet: [{ Key: 'cost-per-customer:run-state', Value: 'superseded' }] },
      });
    },
  );

  it('surfaces other Glue errors, for the state machine to retry', async () => {
    glue
      .on(DeleteTableCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(cleanupRun(RUN, options())).rejects.toThrow('Rate exceeded');
  });
});
