import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import dynalite from 'dynalite';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type LoadServingOptions, loadServingTable } from '../../lib/pipeline/load-serving-table.ts';
import { publishedRunKey } from '../../lib/pipeline/run-contract.ts';

// A local DynamoDB (dynalite, in memory) for the real reads and writes of the load; S3 stays mocked and
// hands back what the UNLOAD would have written.
const server = dynalite({ createTableMs: 0 });
const s3 = mockClient(S3Client);
let client: DynamoDBClient;
const TABLE = 'cpc-serving-integration';
const RESULTS = 'cpc-results-111122223333';

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  // The serving table as serving-table.ts defines it: pk/sk strings, gsi1 with a NUMBER sort key.
  await client.send(
    new CreateTableCommand({
      TableName: TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'gsi1pk', AttributeType: 'S' },
        { AttributeName: 'gsi1sk', AttributeType: 'N' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'gsi1',
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
});

beforeEach(() => s3.reset());

afterAll(async () => {
  client.destroy();
  s3.restore();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

interface Day {
  customer: string;
  date: string;
  direct: number;
  shared: number;
}

const line = (d: Day) =>
  JSON.stringify({
    customer_id: d.customer,
    usage_date: d.date,
    customer_name: d.customer.toUpperCase(),
    plan_status: 'paid',
    mrr: 1000.0,
    direct_cost: d.direct,
    shared_cost: d.shared,
    total_cost: d.direct + d.shared,
    rules_version: 'v1',
  });

/** What the UNLOAD of `runId` wrote: one gzip file (JSON UNLOAD's default compression). */
function unloadOutput(runId: string, days: readonly Day[]): void {
  const prefix = `runs/run=${runId}/serving/t/`;
  s3.on(ListObjectsV2Command, { Prefix: prefix }).resolves({ Contents: [{ Key: `${prefix}0.gz` }] });
  s3.on(GetObjectCommand, { Key: `${prefix}0.gz` }).callsFake(async () => ({
    Body: Readable.from([gzipSync(days.map(line).join('\n'))]) as unknown as GetObjectCommandOutput['Body'],
  }));
}

async function publish(runId: string, deliveredAt: string): Promise<void> {
  const { pk, sk } = publishedRunKey('2026-10');
  await client.send(
    new PutItemCommand({
      TableName: TABLE,
      Item: { pk: { S: pk }, sk: { S: sk }, run_id: { S: runId }, delivered_at: { S: deliveredAt } },
    }),
  );
}

const options = (): LoadServingOptions => ({
  engine: { query: async () => [] },
  s3: new S3Client({ region: 'us-east-1' }),
  dynamodb: client,
  tableName: TABLE,
  database: 'cost_per_customer',
  resultsBucket: RESULTS,
  unloadToken: 't',
  retry: { sleep: async () => undefined },
});

const item = async (pk: string, sk: string) =>
  (await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: pk }, sk: { S: sk } } }))).Item;

// acme: 1.25 + 0.5 = 1.75 on the 1st, 2 + 0.25 = 2.25 on the 2nd: 4.00 for the month.
// globex: 0.1 + 0.2 in shared cost: 0.30000000000000004 in doubles, stored as 0.3.
const DAYS: Day[] = [
  { customer: 'acme', date: '2026-10-01', direct: 1.25, shared: 0.5 },
  { customer: 'acme', date: '2026-10-02', direct: 2, shared: 0.25 },
  { customer: 'globex', date: '2026-10-01', direct: 0, shared: 0.1 },
  { customer: 'globex', date: '2026-10-02', direct: 0, shared: 0.2 },
];

describe('loading the serving table (against dynalite)', () => {
  const first = { runId: 'r20261014a', billingPeriod: '2026-10', deliveredAt: '2026-10-14T08:00:00.000Z' };
  const second = { runId: 'r20261014b', billingPeriod: '2026-10', deliveredAt: '2026-10-14T16:00:00.000Z' };

  it('writes daily items and month-to-date summaries listed by cost', async () => {
    await publish(first.runId, first.deliveredAt);
    unloadOutput(first.runId, DAYS);
    const result = await loadServingTable(first, options());
    expect(result).toMatchObject({ loaded: true, rows: 4, customers: 2, written: 6, unchanged: 0 });

    expect(await item('CUSTOMER#acme', 'DAY#2026-10-02')).toMatchObject({
      direct_cost: { N: '2' },
      shared_cost: { N: '0.25' },
      total_cost: { N: '2.25' },
      run_id: { S: first.runId },
      delivered_at: { S: first.deliveredAt },
    });
    expect(await item('CUSTOMER#acme', 'MONTH#2026-10')).toMatchObject({
      total_cost: { N: '4' },
      gsi1sk: { N: '4' },
      days_with_cost: { N: '2' },
    });
    // The period's customers by month-to-date cost, highest first: one Query on gsi1.
    const ranked = await client.send(
      new QueryCommand({
        TableName: TABLE,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :p',
        ExpressionAttributeValues: { ':p': { S: 'MONTH#2026-10' } },
        ScanIndexForward: false,
      }),
    );
    expect(ranked.Items?.map((i) => [i.customer_id?.S, i.total_cost?.N])).toEqual([
      ['acme', '4'],
      ['globex', '0.3'],
    ]);
  });

  it('writes nothing when a second load brings the same values', async () => {
    const send = vi.spyOn(client, 'send');
    unloadOutput(first.runId, DAYS);
    const result = await loadServingTable(first, options());
    expect(result).toMatchObject({ loaded: true, written: 0, deleted: 0, unchanged: 6 });
    const writes = send.mock.calls.filter(
      ([command]) => command.constructor.name === 'BatchWriteItemCommand',
    );
    expect(writes).toHaveLength(0);
    send.mockRestore();
  });

  it('a newer delivery writes only what changed, and removes what it no longer has', async () => {
    await publish(second.runId, second.deliveredAt);
    // acme's 2nd day changed (2.25 -> 3.25); globex is gone from this delivery.
    unloadOutput(second.runId, [
      { customer: 'acme', date: '2026-10-01', direct: 1.25, shared: 0.5 },
      { customer: 'acme', date: '2026-10-02', direct: 3, shared: 0.25 },
    ]);
    const result = await loadServingTable(second, options());
    expect(result).toMatchObject({ loaded: true, written: 2, deleted: 3, unchanged: 1 });

    // Unchanged: still the first run's item.
    expect((await item('CUSTOMER#acme', 'DAY#2026-10-01'))?.run_id).toEqual({ S: first.runId });
    expect(await item('CUSTOMER#acme', 'DAY#2026-10-02')).toMatchObject({
      total_cost: { N: '3.25' },
      run_id: { S: second.runId },
      delivered_at: { S: second.deliveredAt },
    });
    expect(await item('CUSTOMER#acme', 'MONTH#2026-10')).toMatchObject({
      total_cost: { N: '5' },
      gsi1sk: { N: '5' },
    });
    expect(await item('CUSTOMER#globex', 'DAY#2026-10-01')).toBeUndefined();
    expect(await item('CUSTOMER#globex', 'MONTH#2026-10')).toBeUndefined();
  });

  it('an older run never overwrites a newer one', async () => {
    // The older run is not the published one: it stops before reading anything.
    unloadOutput(first.runId, DAYS);
    const result = await loadServingTable(first, options());
    expect(result).toMatchObject({ loaded: false, publishedRunId: second.runId });
    expect(await item('CUSTOMER#acme', 'DAY#2026-10-02')).toMatchObject({ total_cost: { N: '3.25' } });

    // Even with the marker moved back (by hand), items a later delivery wrote are left alone.
    await publish(first.runId, first.deliveredAt);
    const forced = await loadServingTable(first, options());
    expect(forced).toMatchObject({ loaded: true, skippedNewer: 2 });
    expect(await item('CUSTOMER#acme', 'DAY#2026-10-02')).toMatchObject({
      total_cost: { N: '3.25' },
      run_id: { S: second.runId },
    });
  });
});
