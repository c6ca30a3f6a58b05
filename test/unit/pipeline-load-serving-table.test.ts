import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  DynamoDBClient,
  GetItemCommand,
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
  parseLoadServingInput,
  UnprocessedItemsError,
} from '../../lib/pipeline/load-serving-table.ts';
import { LeaseLostError } from '../../lib/pipeline/period-pointer.ts';
import { PipelineInputError } from '../../lib/pipeline/run-contract.ts';
import {
  dayItem,
  monthItem,
  parseDayLine,
  parseMonthLine,
  ServingDataError,
  type ServingVersionContext,
  servingNumber,
} from '../../lib/pipeline/serving-items.ts';
import {
  ndjsonLines,
  servingDaysSelect,
  servingDiffTables,
  servingMonthsSelect,
  unloadSql,
} from '../../lib/pipeline/serving-unload.ts';

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
const DELIVERED = '2026-10-14T16:00:00.000Z';
const VERSION = `${DELIVERED}#${RUN_ID}`;
const RUN = { runId: RUN_ID, billingPeriod: '2026-10', deliveredAt: DELIVERED, visibleRunId: OLD_RUN };
const PREFIX = `runs/run=${RUN_ID}/serving/t1/`;
// 2026-10-14 is day 20,740 after the epoch: 20,740 x 86,400 + 17 h x 3,600 = 1,791,997,200 s at 17:00Z;
// 400 days are 34,560,000 s.
const NOW = new Date('2026-10-14T17:00:00.000Z');
const EXPIRES = 1_791_997_200 + 34_560_000;

const CONTEXT: ServingVersionContext = {
  runId: RUN_ID,
  billingPeriod: '2026-10',
  deliveredAt: DELIVERED,
  version: VERSION,
  expiresAt: EXPIRES,
};

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
  now: () => NOW,
  retry: {
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
  },
  ...overrides,
});

const dayLine = (customer: string, date: string, direct: number, shared: number) =>
  JSON.stringify({
    customer_id: customer,
    usage_date: date,
    customer_name: customer.toUpperCase(),
    plan_status: 'paid',
    mrr: 1000,
    direct_cost: direct,
    shared_cost: shared,
    total_cost: direct + shared,
    rules_version: 'v1',
    deleted: false,
  });
const monthLine = (customer: string, total: number, days: number) =>
  JSON.stringify({
    customer_id: customer,
    direct_cost: total,
    shared_cost: 0,
    total_cost: total,
    days_with_cost: String(days),
    first_usage_date: '2026-10-01',
    last_usage_date: `2026-10-${String(days).padStart(2, '0')}`,
  });

const streamBody = (bytes: Buffer) => Readable.from([bytes]) as unknown as GetObjectCommandOutput['Body'];

/** What the two UNLOADs wrote: days/ in a gzip file and a plain one, months/ in one gzip file. */
function unloaded(days: readonly string[], months: readonly string[]): void {
  const half = Math.ceil(days.length / 2);
  const files: Record<string, Buffer> = {
    [`${PREFIX}days/part-0.gz`]: gzipSync(`${days.slice(0, half).join('\n')}\n`),
    [`${PREFIX}days/part-1`]: Buffer.from(days.slice(half).join('\r\n')),
    [`${PREFIX}months/part-0.gz`]: gzipSync(months.join('\n')),
  };
  s3.on(ListObjectsV2Command).callsFake(async (input) => ({
    Contents: Object.keys(files)
      .filter((key) => key.startsWith(input.Prefix))
      .map((Key) => ({ Key })),
    IsTruncated: false,
  }));
  s3.on(GetObjectCommand).callsFake(async (input) => ({ Body: streamBody(files[input.Key] as Buffer) }));
}

function pointer(leaseHolder = RUN_ID, visibleRunId: string | null = OLD_RUN): void {
  const visible: Record<string, AttributeValue> =
    visibleRunId === null
      ? {}
      : { run_id: { S: visibleRunId }, delivered_at: { S: '2026-10-14T08:00:00.000Z' } };
  dynamodb.on(GetItemCommand).resolves({
    Item: {
      pk: { S: 'PUBLISHED#2026-10' },
      sk: { S: 'RUN' },
      lease_holder: { S: leaseHolder },
      lease_expires_at: { N: '1792090800' },
      ...visible,
    },
  });
}

const writes = (): WriteRequest[] =>
  dynamodb
    .commandCalls(BatchWriteItemCommand)
    .flatMap((call) => call.args[0].input.RequestItems?.[TABLE] ?? []);

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

describe('serving items', () => {
  it('a changed day: key with the version, money rounded, NULL dimensions left out, TTL', () => {
    const change = parseDayLine(
      '{"customer_id":"acme","usage_date":"2026-10-02","customer_name":"Acme","mrr":"10000",' +
        '"direct_cost":2,"shared_cost":0.30000000000000004,"total_cost":2.3,"rules_version":"v1","deleted":false}',
      'f line 1',
    );
    expect(dayItem(change, CONTEXT)).toEqual({
      pk: { S: 'CUSTOMER#acme' },
      sk: { S: `DAY#2026-10-02#${VERSION}` },
      customer_id: { S: 'acme' },
      usage_date: { S: '2026-10-02' },
      direct_cost: { N: '2' },
      shared_cost: { N: '0.3' },
      total_cost: { N: '2.3' },
      customer_name: { S: 'Acme' },
      mrr: { N: '10000' },
      rules_version: { S: 'v1' },
      billing_period: { S: '2026-10' },
      version: { S: VERSION },
      run_id: { S: RUN_ID },
      delivered_at: { S: DELIVERED },
      expires_at: { N: String(EXPIRES) },
    });
  });

  it('a tombstone carries deleted and no values', () => {
    const change = parseDayLine('{"customer_id":"globex","usage_date":"2026-10-03","deleted":true}', 'f');
    expect(change).toEqual({ deleted: true, customerId: 'globex', usageDate: '2026-10-03' });
    const item = dayItem(change, CONTEXT);
    expect(item.sk).toEqual({ S: `DAY#2026-10-03#${VERSION}` });
    expect(item.deleted).toEqual({ BOOL: true });
    expect(item.total_cost).toBeUndefined();
  });

  it('a month: listed by cost on the version’s gsi1 partition', () => {
    const month = parseMonthLine(monthLine('acme', 4.25, 2), 'f');
    expect(monthItem(month, CONTEXT)).toMatchObject({
      pk: { S: 'CUSTOMER#acme' },
      sk: { S: `MONTH#2026-10#${VERSION}` },
      gsi1pk: { S: `MONTH#2026-10#${VERSION}` },
      gsi1sk: { N: '4.25' },
      total_cost: { N: '4.25' },
      days_with_cost: { N: '2' },
      first_usage_date: { S: '2026-10-01' },
      last_usage_date: { S: '2026-10-02' },
      expires_at: { N: String(EXPIRES) },
    });
  });

  it('refuses a line that is not a row, and a day outside the period', () => {
    expect(() => parseDayLine('{"customer_id":"x","usage_date":"2026-10-01"}', 'f line 2')).toThrow(
      'f line 2: direct_cost',
    );
    expect(() => parseDayLine('{"customer_id":"x"', 'f line 3')).toThrow('f line 3: not JSON');
    expect(() => parseMonthLine('{"customer_id":"x","direct_cost":1}', 'g line 1')).toThrow('g line 1: ');
    const september = parseDayLine(dayLine('acme', '2026-09-30', 1, 0), 'f');
    expect(() => dayItem(september, CONTEXT)).toThrow(
      'customer acme: day 2026-09-30 is outside billing period 2026-10',
    );
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

describe('serving SQL', () => {
  const layout = new AthenaRunLayout({
    database: 'cost_per_customer',
    resultsBucket: RESULTS,
    runId: RUN_ID,
  });
  const tables = servingDiffTables(layout);

  it('diffs the run’s CTAS table against the visible run’s partition of customer_daily_cost_runs', () => {
    expect(tables).toEqual({
      run: `"cost_per_customer"."${layout.runTableName('customer_daily_cost')}"`,
      runs: '"cost_per_customer"."customer_daily_cost_runs"',
    });
    const sql = servingDaysSelect(tables, '2026-10', OLD_RUN);
    expect(sql).toContain(`WHERE billing_period = '2026-10' AND run_id = '${OLD_RUN}'`);
    expect(sql).toContain('round(r.direct_cost, 8) IS DISTINCT FROM round(v.direct_cost, 8)');
    expect(sql).toContain('r.tier IS DISTINCT FROM v.tier');
    // With no visible run: every day of the run, no join.
    expect(servingDaysSelect(tables, '2026-10', null)).not.toContain('customer_daily_cost_runs');
    expect(servingMonthsSelect(tables, '2026-10')).not.toContain('customer_daily_cost_runs');
  });

  it('UNLOADs gzip JSON into the given folder', () => {
    expect(unloadSql('SELECT 1', 's3://b/p/')).toBe(
      "UNLOAD (\nSELECT 1\n) TO 's3://b/p/'\nWITH (format = 'JSON', compression = 'GZIP')",
    );
  });
});

describe('parseLoadServingInput', () => {
  it('needs visibleRunId, null or a run id', () => {
    const { visibleRunId: _, ...rest } = RUN;
    expect(parseLoadServingInput({ ...rest, visibleRunId: null }).visibleRunId).toBeNull();
    expect(() => parseLoadServingInput(rest)).toThrow(PipelineInputError);
    expect(() => parseLoadServingInput({ ...rest, visibleRunId: 'a b' })).toThrow(
      'load-serving-table input: visibleRunId: is not a run id',
    );
  });
});

describe('loadServingTable', () => {
  it('UNLOADs the day diff and the months into their own folders, then writes every line', async () => {
    pointer();
    unloaded(
      [
        dayLine('acme', '2026-10-01', 1.5, 0.25),
        '{"customer_id":"acme","usage_date":"2026-10-02","deleted":true}',
      ],
      [monthLine('acme', 1.75, 1), monthLine('globex', 0.3, 2)],
    );
    dynamodb.on(BatchWriteItemCommand).resolves({});
    const result = await loadServingTable(RUN, options());
    expect(result).toEqual({
      loaded: true,
      runId: RUN_ID,
      billingPeriod: '2026-10',
      version: VERSION,
      visibleRunId: OLD_RUN,
      unloadLocation: `s3://${RESULTS}/${PREFIX}`,
      daysWritten: 1,
      daysDeleted: 1,
      // The months count 1 + 2 = 3 days in the run; 1 was written: 2 unchanged.
      daysUnchanged: 2,
      customers: 2,
      written: 4,
      expiresAt: EXPIRES,
    });
    expect(queries.map((q) => q.slice(q.lastIndexOf(') TO ')))).toEqual([
      `) TO 's3://${RESULTS}/${PREFIX}days/'\nWITH (format = 'JSON', compression = 'GZIP')`,
      `) TO 's3://${RESULTS}/${PREFIX}months/'\nWITH (format = 'JSON', compression = 'GZIP')`,
    ]);
    expect(writes().map((w) => w.PutRequest?.Item?.sk?.S)).toEqual([
      `DAY#2026-10-01#${VERSION}`,
      `DAY#2026-10-02#${VERSION}`,
      `MONTH#2026-10#${VERSION}`,
      `MONTH#2026-10#${VERSION}`,
    ]);
    // Nothing is read but the pointer.
    expect(dynamodb.commandCalls(GetItemCommand)).toHaveLength(1);
    expect(dynamodb.calls()).toHaveLength(2);
  });

  it('throws LeaseLostError, before any query or write, when another run holds the lease', async () => {
    pointer('2026-10_other_000000000000000000000000');
    await expect(loadServingTable(RUN, options())).rejects.toBeInstanceOf(LeaseLostError);
    expect(queries).toEqual([]);
    expect(dynamodb).toHaveReceivedCommandTimes(BatchWriteItemCommand, 0);
  });

  it('retries unprocessed items after a pause drawn below a doubling ceiling (full jitter)', async () => {
    pointer();
    unloaded(
      [dayLine('acme', '2026-10-01', 1, 0), dayLine('acme', '2026-10-02', 1, 0)],
      [monthLine('acme', 2, 2)],
    );
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
    expect(result).toMatchObject({ written: 3 });
    const calls = dynamodb
      .commandCalls(BatchWriteItemCommand)
      .map((c) => c.args[0].input.RequestItems?.[TABLE]);
    expect(calls.map((requests) => requests?.length)).toEqual([3, 2, 1]);
    expect(calls[1]).toEqual(unprocessed);
    // Ceilings 50 then 100 ms, random() = 0.5: 25 then 50.
    expect(sleeps).toEqual([25, 50]);
  });

  it('surfaces unprocessed items after the attempt limit', async () => {
    pointer();
    unloaded([dayLine('acme', '2026-10-01', 1, 0)], [monthLine('acme', 1, 1)]);
    dynamodb.on(BatchWriteItemCommand).callsFake(async (input) => ({
      UnprocessedItems: { [TABLE]: input.RequestItems[TABLE].slice(0, 1) },
    }));
    const loading = loadServingTable(
      RUN,
      options({
        retry: { maxAttempts: 3, random: () => 1 - 2 ** -53, sleep: async (ms) => void sleeps.push(ms) },
      }),
    );
    await expect(loading).rejects.toBeInstanceOf(UnprocessedItemsError);
    await expect(loading).rejects.toThrow(
      'DynamoDB BatchWriteItem left 1 request(s) unprocessed after 3 attempts',
    );
    expect(dynamodb).toHaveReceivedCommandTimes(BatchWriteItemCommand, 3);
    // random() just below 1: just below the ceilings of 50 and 100 ms.
    expect(sleeps).toEqual([49, 99]);
  });

  it('writes batches of 25, never more than maxBatchesInFlight at once', async () => {
    pointer();
    // 70 customers x 2 days = 140 day lines, plus 70 months = 210 items: 8 batches of 25 and one of 10.
    const ids = Array.from({ length: 70 }, (_, i) => `c${String(i).padStart(2, '0')}`);
    unloaded(
      ids.flatMap((id) => [dayLine(id, '2026-10-01', 1, 0), dayLine(id, '2026-10-02', 1, 0)]),
      ids.map((id) => monthLine(id, 2, 2)),
    );
    let inFlight = 0;
    let most = 0;
    dynamodb.on(BatchWriteItemCommand).callsFake(async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return {};
    });
    const result = await loadServingTable(RUN, options({ maxBatchesInFlight: 3 }));
    expect(result).toMatchObject({ written: 210, daysWritten: 140, customers: 70, daysUnchanged: 0 });
    const sizes = dynamodb
      .commandCalls(BatchWriteItemCommand)
      .map((c) => c.args[0].input.RequestItems?.[TABLE]?.length);
    expect(sizes).toEqual([25, 25, 25, 25, 25, 25, 25, 25, 10]);
    expect(most).toBe(3);
  });

  it('refuses a line that is not a valid row, naming the file and line', async () => {
    pointer();
    unloaded([dayLine('acme', '2026-10-01', 1, 0), '{"customer_id":"x","usage_date":"2026-10-01"}'], []);
    dynamodb.on(BatchWriteItemCommand).resolves({});
    await expect(loadServingTable(RUN, options())).rejects.toThrow(
      `s3://${RESULTS}/${PREFIX}days/part-1 line 1: direct_cost`,
    );
  });
});
