import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import S3rver from 's3rver';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DeliveryStore, recordDelivery } from '../../lib/pipeline/deliveries.ts';
import { readLateRerun } from '../../lib/pipeline/late-telemetry.ts';
import {
  handleInputEvent,
  type InputSummary,
  type OnInputOptions,
  type Rejection,
  type RerunRequest,
  sweepLateTelemetry,
} from '../../lib/pipeline/on-input.ts';
import { type LocalDynamoDB, startLocalDynamoDB } from '../support/local-dynamodb.ts';

// on-input against a local S3 (s3rver) for the data bucket and a local DynamoDB (dynalite) laid out as
// the serving table; the re-run requests and the operations topic are recorded.
const BUCKET = 'cpc-data-local';
const directory = mkdtempSync(join(tmpdir(), 'cpc-on-input-'));
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  configureBuckets: [{ name: BUCKET }],
});
let s3: S3Client;
let local: LocalDynamoDB;
let tables = 0;

beforeAll(async () => {
  const { port } = await server.run();
  s3 = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  local = await startLocalDynamoDB();
});

afterAll(async () => {
  s3.destroy();
  await local.close();
  await server.close();
  rmSync(directory, { recursive: true, force: true });
});

const CUSTOMERS = [
  'customer_id,tenant_id,name,tier,plan_status,mrr,start_date,end_date,owner_team',
  'acme,acme-eu,Acme Robotics,enterprise,paid,10000,2026-01-01,,team-data',
  'globex,,Globex,growth,paid,2500,,,',
].join('\n');

let store: DeliveryStore;
let reruns: RerunRequest[];
let rejections: Rejection[];
let now: Date;

beforeEach(async () => {
  tables += 1;
  store = { dynamodb: local.client, tableName: await local.createServingTable(`input-${tables}`) };
  reruns = [];
  rejections = [];
  now = new Date('2026-11-03T10:00:00.000Z');
  // Each test starts with an empty data bucket.
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
  for (const object of listed.Contents ?? []) {
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: object.Key }));
  }
});

const options = (): OnInputOptions => ({
  s3,
  dataBucket: BUCKET,
  tenantTagKey: 'customer',
  costBasis: 'net_amortized',
  curPrefix: 'cur',
  deliveries: store,
  requestRerun: async (request) => {
    reruns.push(request);
  },
  reject: async (rejection) => {
    rejections.push(rejection);
  },
  now: () => now,
});

const put = (key: string, body: string) =>
  s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
const text = async (key: string) =>
  (await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body?.transformToString()) ?? '';
const event = (...keys: string[]): Partial<S3Event> =>
  ({
    Records: keys.map((key) => ({
      eventName: 'ObjectCreated:Put',
      s3: { bucket: { name: BUCKET }, object: { key: encodeURIComponent(key).replaceAll('%2F', '/') } },
    })),
  }) as unknown as Partial<S3Event>;
const upload = async (key: string, body: string): Promise<InputSummary> => {
  await put(key, body);
  return handleInputEvent(event(key), options());
};

/** A delivery of the period recorded as on-delivery does, from the CUR 2.0 export `cpc`. */
const delivered = (billingPeriod: string, deliveredAt: string, exportName = 'cpc') =>
  recordDelivery(store, {
    billingPeriod,
    executionId: `exec-${billingPeriod}`,
    runId: `run-${billingPeriod}`,
    deliveredAt,
    receivedAt: deliveredAt,
    manifestKey: `cur/${exportName}/metadata/BILLING_PERIOD=${billingPeriod}/${exportName}-Manifest.json`,
  });

describe('a customers upload', () => {
  it('becomes current when valid and re-runs the open periods, each once per upload', async () => {
    await delivered('2026-09', '2026-10-02T06:00:00.000Z');
    await delivered('2026-10', '2026-11-02T06:00:00.000Z', 'focus');
    await delivered('2026-11', '2026-11-03T06:00:00.000Z');

    const summary = await upload('customers/incoming/2026-11-03.csv', CUSTOMERS);
    expect(summary.accepted).toEqual(['customers/incoming/2026-11-03.csv']);
    expect(rejections).toEqual([]);
    expect(await text('customers/current/customers.csv')).toBe(CUSTOMERS);
    // The upload stays where the user put it.
    expect(await text('customers/incoming/2026-11-03.csv')).toBe(CUSTOMERS);
    // Open periods: November (now) and October, each on the export of its latest delivery. September is
    // closed: its re-run would restate a month finance already reported.
    expect(reruns.map(({ billingPeriod, exportName }) => [billingPeriod, exportName])).toEqual([
      ['2026-10', 'focus'],
      ['2026-11', 'cpc'],
    ]);
    const [first] = reruns;

    // S3 repeats the event: the file is already current and the same request ids start nothing new.
    reruns = [];
    const repeated = await handleInputEvent(event('customers/incoming/2026-11-03.csv'), options());
    expect(repeated.accepted).toHaveLength(1);
    expect(reruns[0]?.requestId).toBe(first?.requestId);
  });

  it('keeps the later of two uploads current when their events arrive in the other order', async () => {
    const later = CUSTOMERS.replace('2500', '3000');
    await put('customers/incoming/a.csv', CUSTOMERS);
    // S3's LastModified has one-second resolution.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await put('customers/incoming/b.csv', later);
    expect((await handleInputEvent(event('customers/incoming/b.csv'), options())).accepted).toHaveLength(1);
    const summary = await handleInputEvent(event('customers/incoming/a.csv'), options());
    expect(summary.superseded).toEqual(['customers/incoming/a.csv']);
    expect(await text('customers/current/customers.csv')).toBe(later);
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: BUCKET, Key: 'customers/current/customers.csv' }),
    );
    expect(head.Metadata?.['source-key']).toBe(encodeURIComponent('customers/incoming/b.csv'));
  });

  // Each error case of docs/attribution.md 6.1 for a customers file, with the file, column and row the
  // operations topic is told.
  const header = 'customer_id,tenant_id,name,tier,plan_status,mrr,start_date,end_date,owner_team';
  const cases: [string, string, string][] = [
    ['an unknown plan_status', `${header}\nacme,,Acme,gold,premium,100,,,`, 'column "plan_status", row 1'],
    ['a non-numeric mrr', `${header}\nacme,,Acme,gold,paid,25OO,,,`, 'column "mrr", row 1'],
    ['a negative mrr', `${header}\nacme,,Acme,gold,paid,-5,,,`, 'column "mrr", row 1'],
    [
      'a date that does not parse',
      `${header}\nacme,,Acme,gold,paid,5,2026-13-01,,`,
      'column "start_date", row 1',
    ],
    [
      'an end before the start',
      `${header}\nacme,,Acme,gold,paid,5,2026-10-02,2026-10-01,`,
      'column "end_date", row 1',
    ],
    [
      'the same tenant on two rows with other fields',
      `${header}\nacme,t1,Acme,gold,paid,5,,,\nglobex,t1,Globex,gold,paid,5,,,`,
      'column "tenant_id", row 2',
    ],
    ['a missing required column', 'customer_id,name,tier,plan_status\nacme,Acme,gold,paid', 'column "mrr"'],
    ['a duplicated column name', `${header},mrr\nacme,,Acme,gold,paid,5,,,,5`, 'column "mrr"'],
    ['no rows', header, 'no customer rows'],
  ];
  it.each(cases)('is rejected for %s, with the error on the operations topic', async (_name, body, where) => {
    await put('customers/current/customers.csv', CUSTOMERS);
    await delivered('2026-11', '2026-11-03T06:00:00.000Z');
    const summary = await upload('customers/incoming/bad.csv', body);
    expect(summary.rejected).toEqual(['customers/incoming/bad.csv']);
    expect(rejections).toHaveLength(1);
    expect(rejections[0]?.file).toBe(`s3://${BUCKET}/customers/incoming/bad.csv`);
    expect(rejections[0]?.error).toContain(`s3://${BUCKET}/customers/incoming/bad.csv`);
    expect(rejections[0]?.error).toContain(where);
    expect(rejections[0]?.current).toBe(`s3://${BUCKET}/customers/current/customers.csv`);
    // The current file stays, and nothing re-runs.
    expect(await text('customers/current/customers.csv')).toBe(CUSTOMERS);
    expect(reruns).toEqual([]);
  });

  it('is rejected when it drops a customer a current fixed split names', async () => {
    const rules = {
      version: 'r1',
      rules: [{ id: 'desk', match: {}, driver: { fixed: { acme: 0.5, globex: 0.5 } } }],
    };
    await put('rules/current/rules.json', JSON.stringify(rules));
    const summary = await upload(
      'customers/incoming/no-globex.csv',
      CUSTOMERS.split('\n').slice(0, 2).join('\n'),
    );
    expect(summary.rejected).toHaveLength(1);
    expect(rejections[0]?.error).toContain('column "rules.0.driver.fixed.globex"');
  });

  it('is rejected when it is not a CSV file', async () => {
    await upload('customers/incoming/customers.xlsx', CUSTOMERS);
    expect(rejections[0]?.error).toBe(`s3://${BUCKET}/customers/incoming/customers.xlsx: is not a .csv file`);
  });
});

describe('a rules upload', () => {
  const rules = { version: 'r2', rules: [{ id: 'all', match: {}, driver: 'even' }] };

  it('becomes current when valid, re-running the open periods', async () => {
    await delivered('2026-11', '2026-11-03T06:00:00.000Z');
    const summary = await upload('rules/incoming/r2.json', JSON.stringify(rules));
    expect(summary.accepted).toEqual(['rules/incoming/r2.json']);
    expect(await text('rules/current/rules.json')).toBe(JSON.stringify(rules));
    expect(reruns.map((rerun) => rerun.billingPeriod)).toEqual(['2026-11']);
    expect(reruns[0]?.requestId).toMatch(/^rules-upload-[0-9a-f]{16}$/);
  });

  const cases: [string, unknown, string][] = [
    ['invalid JSON', '{"version": "r3", ', 'not valid JSON'],
    ['an unknown field', { version: 'r3', colour: 'red', rules: [] }, 'colour'],
    ['an unknown cost basis', { version: 'r3', costBasis: 'list', rules: [] }, 'column "costBasis"'],
    [
      'a rule with neither action nor driver',
      { version: 'r3', rules: [{ id: 'x', match: {} }] },
      'column "rules.0"',
    ],
    [
      'weights not summing to 1',
      {
        version: 'r3',
        rules: [
          {
            id: 'x',
            match: {},
            driver: {
              weighted: [
                { weight: 0.5, driver: 'even' },
                { weight: 0.4, driver: 'mrr' },
              ],
            },
          },
        ],
      },
      'column "rules.0.driver',
    ],
    [
      'a nested blend',
      {
        version: 'r3',
        rules: [
          {
            id: 'x',
            match: {},
            driver: {
              weighted: [
                { weight: 0.5, driver: 'even' },
                { weight: 0.5, driver: { weighted: [{ weight: 1, driver: 'mrr' }] } },
              ],
            },
          },
        ],
      },
      'column "rules.0.driver',
    ],
    [
      'windowDays out of range',
      { version: 'r3', rules: [{ id: 'x', match: {}, driver: { metric: 'requests', windowDays: 0 } }] },
      'windowDays',
    ],
    [
      'a fixed split naming an unknown customer',
      { version: 'r3', rules: [{ id: 'x', match: {}, driver: { fixed: { acme: 0.5, initech: 0.5 } } }] },
      'column "rules.0.driver.fixed.initech"',
    ],
  ];
  it.each(cases)('is rejected for %s', async (_name, document, where) => {
    await put('customers/current/customers.csv', CUSTOMERS);
    await put('rules/current/rules.json', JSON.stringify(rules));
    await delivered('2026-11', '2026-11-03T06:00:00.000Z');
    const body = typeof document === 'string' ? document : JSON.stringify(document);
    const summary = await upload('rules/incoming/bad.json', body);
    expect(summary.rejected).toEqual(['rules/incoming/bad.json']);
    expect(rejections[0]?.error).toContain(`s3://${BUCKET}/rules/incoming/bad.json`);
    expect(rejections[0]?.error).toContain(where);
    expect(await text('rules/current/rules.json')).toBe(JSON.stringify(rules));
    expect(reruns).toEqual([]);
  });
});

describe('late telemetry', () => {
  const day = (usageDay: string, name = 'upload.json') => `telemetry/usage_day=${usageDay}/files/${name}`;

  it('re-runs a period whose latest run already counted the day, at most once an hour', async () => {
    await delivered('2026-10', '2026-11-02T06:00:00.000Z', 'cpc');
    // October 30 was counted by the delivery of November 2: late. Two objects in one event: one re-run.
    const first = await handleInputEvent(event(day('2026-10-30'), day('2026-10-30', 'b.json')), options());
    expect(first.lateTelemetry).toEqual([{ billingPeriod: '2026-10', rerun: true }]);
    expect(reruns).toEqual([
      {
        billingPeriod: '2026-10',
        requestId: 'late-telemetry-2026-10-2026-11-03T10:00:00.000Z',
        exportName: 'cpc',
      },
    ]);

    // 59 minutes later: debounced, and marked for the sweep.
    now = new Date('2026-11-03T10:59:00.000Z');
    const second = await handleInputEvent(event(day('2026-10-31')), options());
    expect(second.lateTelemetry).toEqual([{ billingPeriod: '2026-10', rerun: false }]);
    expect(reruns).toHaveLength(1);
    expect(await readLateRerun(store, '2026-10')).toEqual({
      lastRerunAt: '2026-11-03T10:00:00.000Z',
      pendingSince: '2026-11-03T10:59:00.000Z',
    });

    // The sweep at 10:30 is within the hour: nothing. At 11:00 the waiting telemetry gets its re-run.
    now = new Date('2026-11-03T10:30:00.000Z');
    expect(await sweepLateTelemetry(options())).toEqual([]);
    now = new Date('2026-11-03T11:00:00.000Z');
    expect(await sweepLateTelemetry(options())).toEqual([
      {
        billingPeriod: '2026-10',
        requestId: 'late-telemetry-2026-10-2026-11-03T11:00:00.000Z',
        exportName: 'cpc',
      },
    ]);
    // Nothing waits any more: the next sweep starts nothing, even after the hour.
    now = new Date('2026-11-03T13:00:00.000Z');
    expect(await sweepLateTelemetry(options())).toEqual([]);
    expect(reruns).toHaveLength(2);
  });

  it('does not re-run for a day the next delivery will read, or a period with no delivery', async () => {
    await delivered('2026-11', '2026-11-03T06:00:00.000Z');
    // November 3 and 4 are read by the next refresh's run; December has no delivery yet.
    const summary = await handleInputEvent(
      event(day('2026-11-03'), day('2026-11-04'), day('2026-12-01'), 'telemetry/readme.txt', 'other/x.csv'),
      options(),
    );
    expect(summary.lateTelemetry).toEqual([]);
    expect(summary.ignored).toBe(5);
    expect(reruns).toEqual([]);
    // The day before the delivery was counted by it: late.
    expect((await handleInputEvent(event(day('2026-11-02')), options())).lateTelemetry).toEqual([
      { billingPeriod: '2026-11', rerun: true },
    ]);
  });
});
