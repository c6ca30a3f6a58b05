import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { AthenaRunLayout } from '../../lib/engine/athena-run-layout.ts';
import {
  type LoadServingOptions,
  loadServingTable,
  ndjsonLines,
  servingUnloadSql,
  UnprocessedItemsError,
} from '../../lib/pipeline/load-serving-table.ts';
import {
  buildServingItems,
  type CustomerDayRow,
  keyId,
  ServingDataError,
  type ServingItem,
  sameValues,
  servingNumber,
} from '../../lib/pipeline/serving-items.ts';

const dynamodb = mockClient(DynamoDBClient);
const s3 = mockClient(S3Client);
let sleeps: number[] = [];
let queries: string[] = [];
beforeEach(() => {
  dynamodb.reset();
  s3.reset();
  sleeps = [];
  queries = [];
});

const TABLE = 'cpc-serving';
const RESULTS = 'cpc-results-111122223333';
const RUN_ID = '2026-10_exec-b_0123456789abcdef01234567';
const OLD_RUN = '2026-10_exec-a_89abcdef0123456789abcdef';
const RUN = { runId: RUN_ID, billingPeriod: '2026-10', deliveredAt: '2026-10-14T16:00:00.000Z' };
const OLD = { runId: OLD_RUN, billingPeriod: '2026-10', deliveredAt: '2026-10-14T08:00:00.000Z' };
const PREFIX = `runs/run=${RUN_ID}/serving/t1/`;

const options = (overrides: Partial<LoadServingOptions> = {}): LoadServingOptions => ({
  engine: {
    query: async (sql) => {
      queries.push(sql);
      return [];
    },
  },
  s3: new S3Client({ region: 'eu-west-1' }),
  dynamodb: new DynamoDBClient({ region: 'eu-west-1' }),
  tableName: TABLE,
  database: 'cost_per_customer',
  resultsBucket: RESULTS,
  unloadToken: 't1',
  retry: {
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  },
  ...overrides,
});

const row = (
  customerId: string,
  usageDate: string,
  directCost: number,
  sharedCost: number,
  extra: Partial<CustomerDayRow> = {},
): CustomerDayRow => ({
  customerId,
  usageDate,
  customerName: customerId === 'acme' ? 'Acme Robotics' : 'Globex',
  tier: customerId === 'acme' ? 'enterprise' : null,
  planStatus: 'paid',
  mrr: customerId === 'acme' ? 10_000 : 2_500,
  directCost,
  sharedCost,
  totalCost: directCost + sharedCost,
  rulesVersion: 'v1',
  ...extra,
});

/** What Athena's JSON UNLOAD writes for a row: NULL columns left out. */
const jsonLine = (r: CustomerDayRow): string =>
  JSON.stringify({
    customer_id: r.customerId,
    usage_date: r.usageDate,
    customer_name: r.customerName ?? undefined,
    tier: r.tier ?? undefined,
    plan_status: r.planStatus ?? undefined,
    mrr: r.mrr ?? undefined,
    direct_cost: r.directCost,
    shared_cost: r.sharedCost,
    total_cost: r.totalCost,
    rules_version: r.rulesVersion ?? undefined,
  });

// acme: 1.5 + 0.25 = 1.75 on the 1st, 2 + 0.5 = 2.5 on the 2nd; month 3.5 + 0.75 = 4.25.
// globex: 0.1 and 0.2 of shared cost; month 0.30000000000000004 in doubles, 0.3 once rounded.
const ROWS = [
  row('acme', '2026-10-01', 1.5, 0.25),
  row('acme', '2026-10-02', 2, 0.5),
  row('globex', '2026-10-01', 0, 0.1),
  row('globex', '2026-10-02', 0, 0.2),
];

const streamBody = (bytes: Buffer) => Readable.from([bytes]) as unknown as GetObjectCommandOutput['Body'];

/** The UNLOAD output: two files, one gzip-compressed (Athena's default), one plain. */
function unloaded(rows: readonly CustomerDayRow[] = ROWS): void {
  const acme = rows.filter((r) => r.customerId === 'acme').map(jsonLine);
  const others = rows.filter((r) => r.customerId !== 'acme').map(jsonLine);
  s3.on(ListObjectsV2Command, { Bucket: RESULTS, Prefix: PREFIX }).resolves({
    Contents: [{ Key: `${PREFIX}part-0.gz` }, { Key: `${PREFIX}part-1` }],
    IsTruncated: false,
  });
  s3.on(GetObjectCommand, { Key: `${PREFIX}part-0.gz` }).callsFake(async () => ({
    Body: streamBody(gzipSync(`${acme.join('\n')}\n`)),
  }));
  s3.on(GetObjectCommand, { Key: `${PREFIX}part-1` }).callsFake(async () => ({
    Body: streamBody(Buffer.from(others.join('\r\n'))),
  }));
}

function published(runId = RUN_ID): void {
  dynamodb
    .on(GetItemCommand)
    .resolves({ Item: { run_id: { S: runId }, delivered_at: { S: RUN.deliveredAt } } });
}

function stored(items: readonly ServingItem[] = [], periodSummaries: readonly ServingItem[] = []): void {
  dynamodb.on(BatchGetItemCommand).callsFake(async (input) => {
    const wanted = new Set((input.RequestItems[TABLE].Keys as ServingItem[]).map((key) => keyId(key)));
    return { Responses: { [TABLE]: items.filter((item) => wanted.has(keyId(item))) } };
  });
  dynamodb.on(QueryCommand).resolves({ Items: [...periodSummaries] });
}

const writes = (): WriteRequest[] =>
  dynamodb
    .commandCalls(BatchWriteItemCommand)
    .flatMap((call) => call.args[0].input.RequestItems?.[TABLE] ?? []);
const putKeys = () =>
  writes().flatMap((w) => (w.PutRequest ? [keyId(w.PutRequest.Item as ServingItem)] : []));
const deleteKeys = () =>
  writes().flatMap((w) => (w.DeleteRequest ? [keyId(w.DeleteRequest.Key as ServingItem)] : []));
const key = (pk: string, sk: string) => `${pk}\u0000${sk}`;

describe('servingNumber', () => {
  it('rounds to 8 decimals and never writes an exponent', () => {
    expect(servingNumber(0.1 + 0.2)).toBe('0.3');
    expect(servingNumber(123.456789012)).toBe('123.45678901');
    expect(servingNumber(1e-7)).toBe('0.0000001');
    expect(servingNumber(-2.5e-7)).toBe('-0.00000025');
    expect(servingNumber(4e-9)).toBe('0');
    expect(servingNumber(-0)).toBe('0');
    expect(servingNumber(10_000)).toBe('10000');
    expect(() => servingNumber(Number.NaN)).toThrow(ServingDataError);
  });
});

describe('buildServingItems', () => {
  it('builds daily items and a month-to-date summary per customer, listed by cost in gsi1', () => {
    const { daily, summaries } = buildServingItems(ROWS, RUN);
    expect(daily).toHaveLength(4);
    expect(daily[0]).toEqual({
      pk: { S: 'CUSTOMER#acme' },
      sk: { S: 'DAY#2026-10-01' },
      customer_id: { S: 'acme' },
      usage_date: { S: '2026-10-01' },
      billing_period: { S: '2026-10' },
      customer_name: { S: 'Acme Robotics' },
      tier: { S: 'enterprise' },
      plan_status: { S: 'paid' },
      mrr: { N: '10000' },
      direct_cost: { N: '1.5' },
      shared_cost: { N: '0.25' },
      total_cost: { N: '1.75' },
      rules_version: { S: 'v1' },
      run_id: { S: RUN_ID },
      delivered_at: { S: RUN.deliveredAt },
    });
    expect(summaries.map((s) => [s.pk?.S, s.sk?.S, s.gsi1pk?.S, s.gsi1sk?.N, s.total_cost?.N])).toEqual([
      ['CUSTOMER#acme', 'MONTH#2026-10', 'MONTH#2026-10', '4.25', '4.25'],
      ['CUSTOMER#globex', 'MONTH#2026-10', 'MONTH#2026-10', '0.3', '0.3'],
    ]);
    expect(summaries[0]).toMatchObject({
      direct_cost: { N: '3.5' },
      shared_cost: { N: '0.75' },
      days_with_cost: { N: '2' },
      usage_dates: { L: [{ S: '2026-10-01' }, { S: '2026-10-02' }] },
      first_usage_date: { S: '2026-10-01' },
      last_usage_date: { S: '2026-10-02' },
    });
    // globex has no tier: the attribute is left out rather than stored as NULL.
    expect(summaries[1]?.tier).toBeUndefined();
  });

  it('refuses a repeated day and a day outside the period', () => {
    expect(() => buildServingItems([ROWS[0] as CustomerDayRow, ROWS[0] as CustomerDayRow], RUN)).toThrow(
      'customer acme has two rows for 2026-10-01',
    );
    expect(() => buildServingItems([row('acme', '2026-09-30', 1, 0)], RUN)).toThrow('outside billing period');
  });

  it('compares values regardless of which run wrote them', () => {
    const [now] = buildServingItems(ROWS, RUN).daily;
    const [before] = buildServingItems(ROWS, OLD).daily;
    expect(sameValues(now as ServingItem, before as ServingItem)).toBe(true);
    expect(sameValues(now as ServingItem, { ...before, total_cost: { N: '1.7500001' } })).toBe(false);
    const { tier: _tier, ...withoutTier } = before as ServingItem;
    expect(sameValues(now as ServingItem, withoutTier)).toBe(false);
  });
});

describe('ndjsonLines', () => {
  it('reads gzip and plain bodies, lines split across chunks, CRLF endings', async () => {
    const text = '{"a":1}\r\n{"b":"é"}\n{"c":3}';
    const gz = gzipSync(text);
    const chunks = [gz.subarray(0, 5), gz.subarray(5, 11), gz.subarray(11)];
    const read = async (body: unknown) => {
      const lines: string[] = [];
      for await (const line of ndjsonLines(body)) lines.push(line);
      return lines;
    };
    expect(await read(Readable.from(chunks))).toEqual(['{"a":1}', '{"b":"é"}', '{"c":3}']);
    const utf8 = Buffer.from(text);
    // 'é' is two bytes; split between them.
    const at = utf8.indexOf(Buffer.from('é')) + 1;
    expect(await read(Readable.from([utf8.subarray(0, at), utf8.subarray(at)]))).toEqual([
      '{"a":1}',
      '{"b":"é"}',
      '{"c":3}',
    ]);
    expect(await read(Readable.from([]))).toEqual([]);
  });
});

describe('servingUnloadSql', () => {
  it('UNLOADs the run’s customer_daily_cost for the period as JSON into the given folder', () => {
    const layout = new AthenaRunLayout({
      database: 'cost_per_customer',
      resultsBucket: RESULTS,
      runId: RUN_ID,
    });
    const sql = servingUnloadSql(layout, '2026-10', `s3://${RESULTS}/${PREFIX}`);
    expect(sql).toContain(`FROM "cost_per_customer"."${layout.runTableName('customer_daily_cost')}"`);
    expect(sql).toContain("WHERE billing_period = '2026-10'");
    expect(sql).toContain(`) TO 's3://${RESULTS}/${PREFIX}'\nWITH (format = 'JSON')`);
  });
});

describe('loadServingTable', () => {
  it('writes every item when the table has none for the period', async () => {
    published();
    unloaded();
    stored();
    dynamodb.on(BatchWriteItemCommand).resolves({});
    const result = await loadServingTable(RUN, options());
    expect(result).toEqual({
      loaded: true,
      runId: RUN_ID,
      billingPeriod: '2026-10',
      unloadLocation: `s3://${RESULTS}/${PREFIX}`,
      rows: 4,
      customers: 2,
      written: 6,
      deleted: 0,
      unchanged: 0,
      skippedNewer: 0,
    });
    expect(queries).toHaveLength(1);
    expect(queries[0]).toMatch(/^UNLOAD \(/);
    expect(dynamodb).toHaveReceivedCommandWith(BatchGetItemCommand, {
      RequestItems: { [TABLE]: expect.objectContaining({ ConsistentRead: true }) },
    });
  });

  it('writes only the items whose values changed, and leaves items a later delivery wrote', async () => {
    published();
    unloaded();
    const before = buildServingItems(
      [
        row('acme', '2026-10-01', 1.5, 0.25), // same values as now: unchanged
        row('acme', '2026-10-02', 2, 0.4), // shared cost was 0.4, now 0.5: changed
        row('globex', '2026-10-01', 0, 0.1), // unchanged
        row('globex', '2026-10-02', 0, 0.2), // unchanged
      ],
      OLD,
    );
    // globex's summary was written by a later delivery (an out-of-order load): left alone.
    const globexSummary = before.summaries[1] as ServingItem;
    const newerSummary = { ...globexSummary, delivered_at: { S: '2026-10-14T23:00:00.000Z' } };
    stored([...before.daily, before.summaries[0] as ServingItem, newerSummary]);
    dynamodb.on(BatchWriteItemCommand).resolves({});

    const result = await loadServingTable(RUN, options());

    expect(result).toMatchObject({ loaded: true, written: 2, deleted: 0, unchanged: 3, skippedNewer: 1 });
    expect(putKeys().sort()).toEqual(
      [key('CUSTOMER#acme', 'DAY#2026-10-02'), key('CUSTOMER#acme', 'MONTH#2026-10')].sort(),
    );
    const acmeMonth = writes().find((w) => w.PutRequest?.Item?.sk?.S === 'MONTH#2026-10')?.PutRequest?.Item;
    // 4.25 now (it was 4.15): the index sorts on the new total.
    expect(acmeMonth?.gsi1sk).toEqual({ N: '4.25' });
    expect(acmeMonth?.run_id).toEqual({ S: RUN_ID });
  });

  it('writes nothing when a second load finds the same values', async () => {
    published();
    unloaded();
    const { daily, summaries } = buildServingItems(ROWS, OLD);
    stored([...daily, ...summaries], summaries);
    const result = await loadServingTable(RUN, options());
    expect(result).toMatchObject({ loaded: true, written: 0, deleted: 0, unchanged: 6 });
    expect(dynamodb).toHaveReceivedCommandTimes(BatchWriteItemCommand, 0);
  });

  it('deletes days and customers that an earlier load wrote and this run no longer has', async () => {
    published();
    unloaded();
    const before = buildServingItems(
      [...ROWS, row('acme', '2026-10-03', 1, 0), row('initech', '2026-10-01', 3, 0)],
      OLD,
    );
    stored([...before.daily, ...before.summaries], before.summaries);
    dynamodb.on(BatchWriteItemCommand).resolves({});
    const result = await loadServingTable(RUN, options());
    expect(result).toMatchObject({ loaded: true, written: 1, deleted: 3, unchanged: 5 });
    expect(deleteKeys().sort()).toEqual(
      [
        key('CUSTOMER#acme', 'DAY#2026-10-03'),
        key('CUSTOMER#initech', 'DAY#2026-10-01'),
        key('CUSTOMER#initech', 'MONTH#2026-10'),
      ].sort(),
    );
    // acme's month changed (one day fewer); it is the one put.
    expect(putKeys()).toEqual([key('CUSTOMER#acme', 'MONTH#2026-10')]);
  });

  it('retries unprocessed items with a growing pause, then succeeds', async () => {
    published();
    unloaded();
    stored();
    let unprocessed: WriteRequest[] = [];
    dynamodb
      .on(BatchWriteItemCommand)
      .callsFakeOnce(async (input) => {
        // DynamoDB throttled the last two requests of the batch.
        unprocessed = input.RequestItems[TABLE].slice(-2);
        return { UnprocessedItems: { [TABLE]: unprocessed } };
      })
      .callsFakeOnce(async () => ({ UnprocessedItems: { [TABLE]: unprocessed.slice(-1) } }))
      .resolves({});
    const result = await loadServingTable(RUN, options());
    expect(result).toMatchObject({ loaded: true, written: 6 });
    const calls = dynamodb
      .commandCalls(BatchWriteItemCommand)
      .map((c) => c.args[0].input.RequestItems?.[TABLE]);
    expect(calls.map((requests) => requests?.length)).toEqual([6, 2, 1]);
    expect(calls[1]).toEqual(unprocessed);
    expect(sleeps).toEqual([100, 200]);
  });

  it('surfaces unprocessed items after the attempt limit', async () => {
    published();
    unloaded();
    stored();
    dynamodb.on(BatchWriteItemCommand).callsFake(async (input) => ({
      UnprocessedItems: { [TABLE]: input.RequestItems[TABLE].slice(0, 1) },
    }));
    const loading = loadServingTable(
      RUN,
      options({ retry: { maxAttempts: 3, sleep: async (ms) => void sleeps.push(ms) } }),
    );
    await expect(loading).rejects.toBeInstanceOf(UnprocessedItemsError);
    await expect(loading).rejects.toThrow(
      'DynamoDB BatchWriteItem left 1 request(s) unprocessed after 3 attempts',
    );
    expect(dynamodb).toHaveReceivedCommandTimes(BatchWriteItemCommand, 3);
    expect(sleeps).toEqual([100, 200]);
  });

  it('writes in batches of 25', async () => {
    published();
    // 14 customers x 2 days = 28 daily items, plus 14 summaries = 42 items: batches of 25 and 17.
    const rows = Array.from({ length: 14 }, (_, i) => [
      row(`c${String(i).padStart(2, '0')}`, '2026-10-01', 1, 0),
      row(`c${String(i).padStart(2, '0')}`, '2026-10-02', 1, 0),
    ]).flat();
    unloaded(rows);
    stored();
    dynamodb.on(BatchWriteItemCommand).resolves({});
    const result = await loadServingTable(RUN, options());
    expect(result).toMatchObject({ written: 42 });
    const sizes = dynamodb
      .commandCalls(BatchWriteItemCommand)
      .map((c) => c.args[0].input.RequestItems?.[TABLE]?.length);
    expect(sizes).toEqual([25, 17]);
  });

  it('does nothing unless the run is the published one', async () => {
    published(OLD_RUN);
    const result = await loadServingTable(RUN, options());
    expect(result).toEqual({
      loaded: false,
      reason: 'run is not the published one',
      runId: RUN_ID,
      billingPeriod: '2026-10',
      publishedRunId: OLD_RUN,
      written: 0,
    });
    expect(queries).toEqual([]);
    expect(dynamodb).toHaveReceivedCommandTimes(BatchWriteItemCommand, 0);
  });

  it('stops writing when another run is published during the load', async () => {
    // Marker: this run at the start, another one when checked again before the 2nd batch.
    dynamodb
      .on(GetItemCommand)
      .resolvesOnce({ Item: { run_id: { S: RUN_ID }, delivered_at: { S: RUN.deliveredAt } } })
      .resolves({ Item: { run_id: { S: 'later-run' }, delivered_at: { S: '2026-10-14T23:00:00.000Z' } } });
    const rows = Array.from({ length: 14 }, (_, i) => row(`c${i}`, '2026-10-01', 1, 0));
    unloaded(rows);
    stored();
    dynamodb.on(BatchWriteItemCommand).resolves({});
    const result = await loadServingTable(RUN, options({ guardEveryBatches: 1 }));
    expect(result).toMatchObject({ loaded: false, publishedRunId: 'later-run', written: 25 });
    expect(dynamodb).toHaveReceivedCommandTimes(BatchWriteItemCommand, 1);
  });

  it('refuses a line that is not a valid row, naming the file and line', async () => {
    published();
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: `${PREFIX}part-0` }] });
    s3.on(GetObjectCommand).callsFake(async () => ({
      Body: streamBody(
        Buffer.from(
          `${jsonLine(ROWS[0] as CustomerDayRow)}\n{"customer_id":"x","usage_date":"2026-10-01"}\n`,
        ),
      ),
    }));
    stored();
    await expect(loadServingTable(RUN, options())).rejects.toThrow(
      `s3://${RESULTS}/${PREFIX}part-0 line 2: direct_cost`,
    );
  });
});
