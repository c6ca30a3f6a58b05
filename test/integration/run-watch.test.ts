import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { S3Event } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { listDeliveries, periodNumber, recordDelivery } from '../../lib/pipeline/deliveries.ts';
import { DeliveryEventError, handleDeliveryEvent } from '../../lib/pipeline/on-delivery.ts';
import { claimPeriod, flipPointer, type PointerRun } from '../../lib/pipeline/period-pointer.ts';
import { watchRuns } from '../../lib/pipeline/run-watch.ts';
import { DataFilesMissingError, runIdFor } from '../../lib/pipeline/start-run.ts';
import { type LocalDynamoDB, startLocalDynamoDB } from '../support/local-dynamodb.ts';

// Deliveries as on-delivery records them and run-watch reads them, against a local DynamoDB (dynalite)
// laid out as the serving table; S3 and Step Functions are mocked.
let local: LocalDynamoDB;
let tables = 0;
beforeAll(async () => {
  local = await startLocalDynamoDB();
});
afterAll(() => local.close());

async function store() {
  tables += 1;
  return { dynamodb: local.client, tableName: await local.createServingTable(`watch-${tables}`) };
}

const NOW = new Date('2026-10-20T12:00:00.000Z');

/** A delivery of `period` written at `deliveredAt`, recorded as on-delivery does. */
const delivery = (period: string, deliveredAt: string, executionId = `exec-${period}`) => ({
  billingPeriod: period,
  executionId,
  runId: runIdFor(period, executionId),
  deliveredAt,
  receivedAt: deliveredAt,
});

/** Makes the run of a delivery the visible one of its period, as claim-period and publish-run do. */
async function publish(target: Awaited<ReturnType<typeof store>>, run: PointerRun): Promise<void> {
  const claim = await claimPeriod(target, run, { now: () => NOW });
  expect(claim.claimed).toBe(true);
  await flipPointer(target, run, { now: () => NOW });
}

describe('recordDelivery and listDeliveries', () => {
  it('keeps the latest delivery of a period, whatever order the events arrive in', async () => {
    const target = await store();
    expect(await recordDelivery(target, delivery('2026-10', '2026-10-19T08:00:00.000Z', 'late'))).toBe(true);
    // An S3 event of the earlier delivery, retried hours later, does not hide the later one.
    expect(await recordDelivery(target, delivery('2026-10', '2026-10-14T08:00:00.000Z', 'early'))).toBe(
      false,
    );
    await recordDelivery(target, delivery('2026-09', '2026-10-02T06:00:00.000Z'));

    const listed = await listDeliveries(target, '2026-09');

    expect(listed.map((d) => [d.billingPeriod, d.executionId, d.deliveredAt])).toEqual([
      ['2026-09', 'exec-2026-09', '2026-10-02T06:00:00.000Z'],
      ['2026-10', 'late', '2026-10-19T08:00:00.000Z'],
    ]);
    expect(await listDeliveries(target, '2026-10')).toHaveLength(1);
  });

  it('sorts periods as numbers YYYYMM in the index (its sort key is a number)', () => {
    expect(periodNumber('2026-10')).toBe(202610);
    expect(periodNumber('2027-01')).toBeGreaterThan(periodNumber('2026-12'));
    expect(() => periodNumber('2026-13')).toThrow(RangeError);
  });
});

describe('watchRuns', () => {
  it('counts the periods whose latest delivery has no visible run 26 hours on', async () => {
    const target = await store();
    // 2026-08: delivered 10 days ago, its run visible: fine.
    const august = delivery('2026-08', '2026-10-10T07:00:00.000Z');
    await recordDelivery(target, august);
    await publish(target, august);
    // 2026-09: delivered 16 hours ago, no run yet: not overdue before 26 hours.
    await recordDelivery(target, delivery('2026-09', '2026-10-19T20:00:00.000Z'));
    // 2026-10: the run of the 18th is visible; the delivery of the 19th, 28 hours ago, has no run.
    await publish(target, delivery('2026-10', '2026-10-18T08:00:00.000Z', 'previous'));
    await recordDelivery(target, delivery('2026-10', '2026-10-19T08:00:00.000Z'));
    // 2026-07: no run ever, but outside the three months checked by default.
    await recordDelivery(target, delivery('2026-07', '2026-08-03T05:00:00.000Z'));

    const result = await watchRuns({ ...target, now: () => NOW });

    expect(result.checked).toBe(3);
    expect(result.overdue).toEqual([
      {
        billingPeriod: '2026-10',
        deliveredAt: '2026-10-19T08:00:00.000Z',
        visibleDeliveredAt: '2026-10-18T08:00:00.000Z',
        visibleRunId: runIdFor('2026-10', 'previous'),
        hoursSinceDelivery: 28,
      },
    ]);

    // Four months back, July counts too: 78 days and 7 hours = 1879 hours without a run.
    const wider = await watchRuns({ ...target, now: () => NOW, months: 4 });
    expect(wider.overdue.map((p) => [p.billingPeriod, p.visibleRunId, p.hoursSinceDelivery])).toEqual([
      ['2026-07', null, 1879],
      ['2026-10', runIdFor('2026-10', 'previous'), 28],
    ]);
  });

  it('is satisfied by a run of the delivery or of a later re-run, and not before 26 hours have passed', async () => {
    const target = await store();
    const october = delivery('2026-10', '2026-10-19T08:00:00.000Z');
    await recordDelivery(target, october);
    // 26 hours exactly: not yet overdue; one second later: overdue.
    expect((await watchRuns({ ...target, now: () => new Date('2026-10-20T10:00:00.000Z') })).overdue).toEqual(
      [],
    );
    expect(
      (await watchRuns({ ...target, now: () => new Date('2026-10-20T10:00:01.000Z') })).overdue,
    ).toHaveLength(1);
    // A re-run of that delivery is dated when it was requested (later): it counts.
    await publish(target, {
      ...october,
      runId: `${october.runId}-rerun`,
      deliveredAt: '2026-10-20T09:00:00.000Z',
    });
    expect((await watchRuns({ ...target, now: () => NOW })).overdue).toEqual([]);
  });
});

describe('on-delivery: a delivery whose data files stay missing', () => {
  const s3 = mockClient(S3Client);
  const sfn = mockClient(SFNClient);
  beforeEach(() => {
    s3.reset();
    sfn.reset();
  });
  const BUCKET = 'cpc-cur-111122223333';
  const KEY = 'cur/cpc-export/metadata/BILLING_PERIOD=2026-10/cpc-export-Manifest.json';
  const DATA = 'cur/cpc-export/data/BILLING_PERIOD=2026-10/cpc-export-00001.snappy.parquet';
  const manifest = JSON.stringify({
    executionId: 'exec-1',
    bucket: BUCKET,
    billingPeriod: { start: '2026-10-01T00:00:00.000Z', end: '2026-11-01T00:00:00.000Z' },
    dataFiles: [`s3://${BUCKET}/${DATA}`],
  });
  const event = {
    Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: BUCKET }, object: { key: KEY } } }],
  } as unknown as S3Event;
  const manifestExists = () =>
    s3.on(GetObjectCommand).resolves({
      Body: { transformToString: async () => manifest } as unknown as GetObjectCommandOutput['Body'],
      LastModified: new Date('2026-10-19T08:00:00.000Z'),
    });

  it('throws for Lambda to retry until the last of three attempts, which reports it incomplete', async () => {
    const target = await store();
    manifestExists();
    s3.on(ListObjectsV2Command).resolves({ Contents: [], IsTruncated: false });
    const options = {
      s3: new S3Client({}),
      sfn: new SFNClient({}),
      stateMachineArn: 'arn',
      deliveries: target,
    };

    for (const attempt of [1, 2]) {
      const error = await handleDeliveryEvent(event, options).catch((e: unknown) => e);
      expect(error, `attempt ${attempt}`).toBeInstanceOf(DeliveryEventError);
      expect((error as DeliveryEventError).errors[0]).toBeInstanceOf(DataFilesMissingError);
      expect((error as DeliveryEventError).summary.incomplete).toBe(0);
    }
    const last = await handleDeliveryEvent(event, options);

    expect(last).toMatchObject({ started: 0, incomplete: 1 });
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
    // No run started, so nothing for run-watch: the incomplete-delivery alarm covers it.
    expect(await listDeliveries(target, '2026-10')).toEqual([]);
  });

  it('records the delivery once its files exist and the run starts', async () => {
    const target = await store();
    manifestExists();
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: DATA }], IsTruncated: false });
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec', startDate: new Date() });

    const summary = await handleDeliveryEvent(event, {
      s3: new S3Client({}),
      sfn: new SFNClient({}),
      stateMachineArn: 'arn',
      deliveries: target,
      now: () => NOW,
    });

    expect(summary.started).toBe(1);
    expect(await listDeliveries(target, '2026-10')).toEqual([
      {
        billingPeriod: '2026-10',
        executionId: 'exec-1',
        runId: runIdFor('2026-10', 'exec-1'),
        deliveredAt: '2026-10-19T08:00:00.000Z',
        receivedAt: NOW.toISOString(),
        // Which export a re-run of the period reads (on-input's re-runs).
        manifestKey: KEY,
      },
    ]);
  });
});

describe('the run-watch handler', () => {
  it('publishes OverduePeriods every hour, 0 included', async () => {
    const target = await store();
    const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3600_000).toISOString();
    await recordDelivery(target, delivery(periodOf(hoursAgo(30)), hoursAgo(30)));
    vi.stubEnv('TABLE_NAME', target.tableName);
    const endpoint = await local.client.config.endpoint?.();
    if (endpoint === undefined) throw new Error('the local DynamoDB client has no endpoint');
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', `${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
    vi.resetModules();
    const addMetric = vi.spyOn(Metrics.prototype, 'addMetric');
    try {
      const { lambdaHandler } = await import('../../lambdas/run-watch.ts');
      const late = await lambdaHandler();
      expect(late.overdue).toHaveLength(1);
      // The run of that delivery becomes visible: the next hour counts 0.
      const [recorded] = await listDeliveries(target, late.overdue[0]?.billingPeriod ?? '');
      if (recorded === undefined) throw new Error('no delivery recorded');
      await publish(target, recorded);
      expect((await lambdaHandler()).overdue).toEqual([]);
      expect(
        addMetric.mock.calls.filter(([name]) => name === 'OverduePeriods').map(([, , value]) => value),
      ).toEqual([1, 0]);
    } finally {
      addMetric.mockRestore();
      vi.unstubAllEnvs();
    }
  });
});

/** The billing period (UTC) of an ISO time. */
function periodOf(iso: string): string {
  return iso.slice(0, 7);
}
