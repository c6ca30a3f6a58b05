import { BatchWriteItemCommand, GetItemCommand, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type LoadServingInput,
  type LoadServingOptions,
  loadServingTable,
  VisibleRunChangedError,
} from '../../lib/pipeline/load-serving-table.ts';
import {
  claimPeriod,
  flipPointer,
  LeaseLostError,
  type PointerRun,
  readPointer,
  releaseLease,
  servingVersion,
} from '../../lib/pipeline/period-pointer.ts';
import {
  listCustomersByCost,
  readCustomerDays,
  readCustomerMonth,
  type ServingStore,
} from '../../lib/pipeline/serving-reader.ts';
import { type LocalDynamoDB, startLocalDynamoDB } from '../support/local-dynamodb.ts';
import {
  DATABASE,
  RESULTS_BUCKET,
  type ServingAthena,
  startServingAthena,
  type TestDay,
} from '../support/serving-athena.ts';

// The serving load end to end on local stand-ins: the diff and month SQL run on DuckDB (Athena's
// UNLOAD writes gzip JSON lines into a mocked S3), the items go into dynalite, and an application reads
// them back through the period pointer (serving-reader.ts).
let local: LocalDynamoDB;
let athena: ServingAthena;
let tables = 0;
const PERIOD = '2026-10';
const NOW = '2026-10-14T17:00:00.000Z';

beforeAll(async () => {
  local = await startLocalDynamoDB();
  athena = await startServingAthena();
});
afterAll(async () => {
  athena.close();
  await local.close();
});

async function store(): Promise<ServingStore> {
  tables += 1;
  return { dynamodb: local.client, tableName: await local.createServingTable(`serving-${tables}`) };
}

function run(name: string, deliveredAt: string): PointerRun {
  return {
    runId: `${PERIOD}_${name}_000000000000000000000000`,
    billingPeriod: PERIOD,
    executionId: name,
    deliveredAt,
  };
}

const options = (s: ServingStore, token: string): LoadServingOptions => ({
  engine: athena.engine,
  s3: athena.s3,
  dynamodb: s.dynamodb,
  tableName: s.tableName,
  database: DATABASE,
  resultsBucket: RESULTS_BUCKET,
  unloadToken: token,
  now: () => new Date(NOW),
  retry: { sleep: async () => undefined },
});

/** Claims the period for `r`, stages its serving items from `days`; the caller decides to flip. */
async function claimAndLoad(s: ServingStore, r: PointerRun, days: readonly TestDay[]) {
  const claim = await claimPeriod(s, r, { now: () => new Date(NOW) });
  if (!claim.claimed) throw new Error('not claimed');
  await athena.createRunTable(r.runId, PERIOD, days);
  const input: LoadServingInput = {
    runId: r.runId,
    billingPeriod: PERIOD,
    deliveredAt: r.deliveredAt,
    visibleRunId: claim.pointer.visible?.runId ?? null,
  };
  return loadServingTable(input, options(s, r.executionId));
}

/** Flips to `r` and gives the lease back, as publish-run and cleanup do. */
async function publish(s: ServingStore, r: PointerRun): Promise<void> {
  await flipPointer(s, r, { now: () => new Date(NOW) });
  await athena.registerRun(r.runId, PERIOD);
  await releaseLease(s, PERIOD, r.runId);
}

/** The PutRequests of every BatchWriteItem sent while `work` ran: what the load wrote. */
async function putsDuring(s: ServingStore, work: () => Promise<unknown>): Promise<string[]> {
  const send = vi.spyOn(s.dynamodb, 'send');
  try {
    await work();
    return send.mock.calls
      .flatMap(([command]) =>
        command instanceof BatchWriteItemCommand
          ? ((command.input.RequestItems?.[s.tableName] ?? []) as WriteRequest[])
          : [],
      )
      .map((w) => `${w.PutRequest?.Item?.pk?.S} ${w.PutRequest?.Item?.sk?.S}`)
      .sort();
  } finally {
    send.mockRestore();
  }
}

const days = async (s: ServingStore, customer: string) =>
  (await readCustomerDays(s, PERIOD, customer)).days.map((d) => [d.usageDate, d.totalCost, d.runId]);
const listing = async (s: ServingStore) =>
  (await listCustomersByCost(s, PERIOD)).customers.map((c) => [c.customerId, c.totalCost]);

const A = run('a', '2026-10-14T08:00:00.000Z');
const B = run('b', '2026-10-14T16:00:00.000Z');
const C = run('c', '2026-10-14T20:00:00.000Z');
const D = run('d', '2026-10-14T22:00:00.000Z');
const vA = servingVersion(A.deliveredAt, A.runId);
const vB = servingVersion(B.deliveredAt, B.runId);

// A: acme 1.25 + 0.5 = 1.75 on the 1st, 2 + 0.25 = 2.25 on the 2nd (month 4); globex 0.1 and 0.2
// of shared cost (month 0.30000000000000004 in doubles, 0.3 once rounded to 8 decimals).
const DAYS_A: TestDay[] = [
  { customer: 'acme', date: '2026-10-01', direct: 1.25, shared: 0.5 },
  { customer: 'acme', date: '2026-10-02', direct: 2, shared: 0.25 },
  { customer: 'globex', date: '2026-10-01', direct: 0, shared: 0.1 },
  { customer: 'globex', date: '2026-10-02', direct: 0, shared: 0.2 },
];
// B: acme's 1st unchanged; 2nd 3 + 0.25 = 3.25 (changed); a new 3rd, 1 (month 1.75 + 3.25 + 1 = 6).
// globex's 1st differs from A's only below 1e-8 (unchanged once rounded); its 2nd is gone (tombstone).
const DAYS_B: TestDay[] = [
  { customer: 'acme', date: '2026-10-01', direct: 1.25, shared: 0.5 },
  { customer: 'acme', date: '2026-10-02', direct: 3, shared: 0.25 },
  { customer: 'acme', date: '2026-10-03', direct: 1, shared: 0 },
  { customer: 'globex', date: '2026-10-01', direct: 0, shared: 0.1 + 1e-12 },
];

describe('serving items through the period pointer (DuckDB as Athena, dynalite as DynamoDB)', () => {
  it('two loads then a flip: the old values until the flip, the new ones after; unchanged days not rewritten', async () => {
    const s = await store();
    // A finds no visible run: all 4 days and 2 months are new: 6 puts.
    const putsA = await putsDuring(s, async () => {
      const result = await claimAndLoad(s, A, DAYS_A);
      expect(result).toEqual({
        loaded: true,
        runId: A.runId,
        billingPeriod: PERIOD,
        version: vA,
        visibleRunId: null,
        unloadLocation: `s3://${RESULTS_BUCKET}/runs/run=${A.runId}/serving/a/`,
        daysWritten: 4,
        daysDeleted: 0,
        daysUnchanged: 0,
        customers: 2,
        written: 6,
        expiresAt: Date.parse(NOW) / 1000 + 400 * 86_400,
      });
    });
    expect(putsA).toEqual([
      `CUSTOMER#acme DAY#2026-10-01#${vA}`,
      `CUSTOMER#acme DAY#2026-10-02#${vA}`,
      `CUSTOMER#acme MONTH#2026-10#${vA}`,
      `CUSTOMER#globex DAY#2026-10-01#${vA}`,
      `CUSTOMER#globex DAY#2026-10-02#${vA}`,
      `CUSTOMER#globex MONTH#2026-10#${vA}`,
    ]);
    // Staged, not visible: nothing is published yet.
    expect(await readCustomerDays(s, PERIOD, 'acme')).toEqual({ visibleRunId: null, days: [] });
    await publish(s, A);
    expect(await days(s, 'acme')).toEqual([
      ['2026-10-01', 1.75, A.runId],
      ['2026-10-02', 2.25, A.runId],
    ]);
    expect(await listing(s)).toEqual([
      ['acme', 4],
      ['globex', 0.3],
    ]);

    // B against A: 2 changed days, 1 tombstone, both months: 5 puts; acme's and globex's 1st untouched.
    const putsB = await putsDuring(s, async () => {
      const result = await claimAndLoad(s, B, DAYS_B);
      expect(result).toMatchObject({
        visibleRunId: A.runId,
        daysWritten: 2,
        daysDeleted: 1,
        daysUnchanged: 2,
        customers: 2,
        written: 5,
      });
    });
    expect(putsB).toEqual([
      `CUSTOMER#acme DAY#2026-10-02#${vB}`,
      `CUSTOMER#acme DAY#2026-10-03#${vB}`,
      `CUSTOMER#acme MONTH#2026-10#${vB}`,
      `CUSTOMER#globex DAY#2026-10-02#${vB}`,
      `CUSTOMER#globex MONTH#2026-10#${vB}`,
    ]);
    const tombstone = await s.dynamodb.send(
      new GetItemCommand({
        TableName: s.tableName,
        Key: { pk: { S: 'CUSTOMER#globex' }, sk: { S: `DAY#2026-10-02#${vB}` } },
      }),
    );
    expect(tombstone.Item).toEqual({
      pk: { S: 'CUSTOMER#globex' },
      sk: { S: `DAY#2026-10-02#${vB}` },
      customer_id: { S: 'globex' },
      usage_date: { S: '2026-10-02' },
      deleted: { BOOL: true },
      billing_period: { S: PERIOD },
      version: { S: vB },
      run_id: { S: B.runId },
      delivered_at: { S: B.deliveredAt },
      expires_at: { N: String(Date.parse(NOW) / 1000 + 400 * 86_400) },
    });

    // Before the flip: A whole.
    expect(await days(s, 'acme')).toEqual([
      ['2026-10-01', 1.75, A.runId],
      ['2026-10-02', 2.25, A.runId],
    ]);
    expect(await days(s, 'globex')).toEqual([
      ['2026-10-01', 0.1, A.runId],
      ['2026-10-02', 0.2, A.runId],
    ]);
    expect(await listing(s)).toEqual([
      ['acme', 4],
      ['globex', 0.3],
    ]);

    await publish(s, B);
    // After: B whole; the days B left unchanged are still A's items; globex's 2nd is hidden by the tombstone.
    expect(await days(s, 'acme')).toEqual([
      ['2026-10-01', 1.75, A.runId],
      ['2026-10-02', 3.25, B.runId],
      ['2026-10-03', 1, B.runId],
    ]);
    expect(await days(s, 'globex')).toEqual([['2026-10-01', 0.1, A.runId]]);
    expect(await listing(s)).toEqual([
      ['acme', 6],
      ['globex', 0.1],
    ]);
    const month = await readCustomerMonth(s, PERIOD, 'acme');
    expect(month).toEqual({
      visibleRunId: B.runId,
      month: {
        customerId: 'acme',
        billingPeriod: PERIOD,
        customerName: 'ACME',
        tier: 'growth',
        planStatus: 'paid',
        mrr: 1000,
        rulesVersion: 'v1',
        directCost: 5.25,
        sharedCost: 0.75,
        totalCost: 6,
        daysWithCost: 3,
        firstUsageDate: '2026-10-01',
        lastUsageDate: '2026-10-03',
        runId: B.runId,
        version: vB,
      },
    });
    expect((await readCustomerMonth(s, PERIOD, 'initech')).month).toBeUndefined();
    const top = await listCustomersByCost(s, PERIOD, { limit: 1 });
    expect(top.customers.map((c) => c.customerId)).toEqual(['acme']);
    const cheapest = await listCustomersByCost(s, PERIOD, { ascending: true });
    expect(cheapest.customers.map((c) => c.customerId)).toEqual(['globex', 'acme']);

    // C loads and fails before its flip (cleanup gives the lease back). Its items stay in the table
    // with a version between B's and D's, outside the history: never visible.
    const result = await claimAndLoad(s, C, [
      { customer: 'acme', date: '2026-10-01', direct: 100, shared: 0 },
      { customer: 'globex', date: '2026-10-02', direct: 7, shared: 0 },
    ]);
    expect(result).toMatchObject({ daysWritten: 2, daysDeleted: 3, customers: 2 });
    await releaseLease(s, PERIOD, C.runId);
    expect(await days(s, 'acme')).toEqual([
      ['2026-10-01', 1.75, A.runId],
      ['2026-10-02', 3.25, B.runId],
      ['2026-10-03', 1, B.runId],
    ]);
    // D repeats B's days: against B nothing changed, so only its 2 months are written.
    const putsD = await putsDuring(s, () => claimAndLoad(s, D, DAYS_B));
    expect(putsD).toHaveLength(2);
    await publish(s, D);
    expect((await readPointer(s, PERIOD))?.history).toEqual([vA, vB, servingVersion(D.deliveredAt, D.runId)]);
    expect(await days(s, 'acme')).toEqual([
      ['2026-10-01', 1.75, A.runId],
      ['2026-10-02', 3.25, B.runId],
      ['2026-10-03', 1, B.runId],
    ]);
    expect(await days(s, 'globex')).toEqual([['2026-10-01', 0.1, A.runId]]);
    expect(await listing(s)).toEqual([
      ['acme', 6],
      ['globex', 0.1],
    ]);
  });

  it('a run that lost its lease, or whose claim saw another visible run, writes nothing', async () => {
    const s = await store();
    await athena.createRunTable(A.runId, PERIOD, DAYS_A);
    const input = { runId: A.runId, billingPeriod: PERIOD, deliveredAt: A.deliveredAt, visibleRunId: null };
    const unloadsBefore = athena.unloads.length;

    // No claim at all: the pointer does not exist.
    const noLease = await putsDuring(s, async () => {
      await expect(loadServingTable(input, options(s, 'x1'))).rejects.toThrow(LeaseLostError);
    });
    expect(noLease).toEqual([]);

    // B holds the lease: A must not stage.
    await claimPeriod(s, B, { now: () => new Date(NOW) });
    await expect(loadServingTable(input, options(s, 'x2'))).rejects.toThrow(
      `run ${A.runId} does not hold the lease of billing period ${PERIOD} (held by ${B.runId}), so it loads nothing`,
    );

    // C claims after B published: its claim saw B, but a stale input says none was visible.
    await athena.createRunTable(B.runId, PERIOD, DAYS_B);
    await flipPointer(s, B, { now: () => new Date(NOW) });
    await releaseLease(s, PERIOD, B.runId);
    await claimPeriod(s, C, { now: () => new Date(NOW) });
    const stale = { runId: C.runId, billingPeriod: PERIOD, deliveredAt: C.deliveredAt, visibleRunId: null };
    await expect(loadServingTable(stale, options(s, 'x3'))).rejects.toThrow(VisibleRunChangedError);
    await expect(loadServingTable(stale, options(s, 'x4'))).rejects.toThrow(
      `billing period ${PERIOD}: the visible run is ${B.runId}, not none as when run ${C.runId} claimed it`,
    );
    expect(athena.unloads.length).toBe(unloadsBefore);
  });
});
