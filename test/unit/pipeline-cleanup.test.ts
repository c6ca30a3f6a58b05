import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DeleteTableCommand, EntityNotFoundException, GlueClient } from '@aws-sdk/client-glue';
import { ListObjectsV2Command, PutObjectTaggingCommand, S3Client } from '@aws-sdk/client-s3';
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

const published = (runId: string | undefined) =>
  dynamodb
    .on(GetItemCommand)
    .resolves(
      runId === undefined
        ? {}
        : { Item: { run_id: { S: runId }, delivered_at: { S: '2026-10-14T16:00:00.000Z' } } },
    );

describe('cleanupRun', () => {
  it('deletes the run’s Glue tables and keeps the files of the published run', async () => {
    glue.on(DeleteTableCommand).resolves({});
    // A retried cleanup: allocated_cost is already gone.
    glue
      .on(DeleteTableCommand, { Name: layout.runTableName('allocated_cost') })
      .rejects(new EntityNotFoundException({ message: 'Table not found', $metadata: {} }));
    published(RUN_ID);

    const result = await cleanupRun(RUN, options());

    expect(result).toEqual({
      runId: RUN_ID,
      dropped: [
        'daily_summary',
        'unattributed_cost',
        'customer_daily_service_cost',
        'customer_daily_cost',
        'classified_cost',
      ].map((name) => `run_r20261014b_${name}`),
      missing: ['run_r20261014b_allocated_cost'],
      published: true,
      superseded: null,
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
  });

  it.each([
    ['a newer run is published', 'r20261014c'],
    ['nothing was ever published (the run failed)', undefined],
  ])('tags the run’s own files superseded when %s', async (_case, publishedRunId) => {
    glue.on(DeleteTableCommand).resolves({});
    published(publishedRunId);
    s3.on(ListObjectsV2Command).resolves({
      Contents: [{ Key: `runs/run=${RUN_ID}/classified_cost/0.parquet` }],
      IsTruncated: false,
    });
    s3.on(PutObjectTaggingCommand).resolves({});

    const result = await cleanupRun(RUN, options());

    expect(result).toMatchObject({
      published: false,
      superseded: { runId: RUN_ID, tagged: 1, truncated: false },
    });
    expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, {
      Bucket: RESULTS,
      Prefix: `runs/run=${RUN_ID}/`,
    });
    expect(s3).toHaveReceivedCommandWith(PutObjectTaggingCommand, {
      Key: `runs/run=${RUN_ID}/classified_cost/0.parquet`,
      Tagging: { TagSet: [{ Key: 'cost-per-customer:run-state', Value: 'superseded' }] },
    });
  });

  it('surfaces other Glue errors, for the state machine to retry', async () => {
    glue
      .on(DeleteTableCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(cleanupRun(RUN, options())).rejects.toThrow('Rate exceeded');
  });
});
