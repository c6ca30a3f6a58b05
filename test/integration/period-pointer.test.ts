import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimRunPeriod } from '../../lib/pipeline/claim-period.ts';
import {
  claimPeriod,
  flipPointer,
  LeaseBusyError,
  LeaseLostError,
  type PointerRun,
  readPointer,
  releaseLease,
  servingVersion,
} from '../../lib/pipeline/period-pointer.ts';
import { type LocalDynamoDB, startLocalDynamoDB } from '../support/local-dynamodb.ts';

// The period pointer against a local DynamoDB: its conditional writes are the whole point.
let local: LocalDynamoDB;
let tables = 0;
const PERIOD = '2026-10';

beforeAll(async () => {
  local = await startLocalDynamoDB();
});
afterAll(() => local.close());

async function store() {
  tables += 1;
  return { dynamodb: local.client, tableName: await local.createServingTable(`pointer-${tables}`) };
}

function run(name: string, deliveredAt: string): PointerRun {
  return {
    runId: `${PERIOD}_${name}_000000000000000000000000`,
    billingPeriod: PERIOD,
    executionId: name,
    deliveredAt,
  };
}

const A = run('a', '2026-10-14T08:00:00.000Z');
const B = run('b', '2026-10-14T16:00:00.000Z');
const at = (iso: string) => () => new Date(iso);

describe('period pointer', () => {
  it('claims, flips and releases: one run, then a newer one replaces it', async () => {
    const s = await store();
    expect(await readPointer(s, PERIOD)).toBeUndefined();

    const first = await claimPeriod(s, A, { now: at('2026-10-14T09:00:00Z') });
    expect(first).toMatchObject({ claimed: true, pointer: { visible: undefined, history: [] } });
    const flipped = await flipPointer(s, A, { now: at('2026-10-14T09:10:00Z') });
    expect(flipped.previousRunId).toBeNull();
    expect(flipped.pointer.visible).toEqual({
      runId: A.runId,
      executionId: 'a',
      deliveredAt: A.deliveredAt,
      publishedAt: '2026-10-14T09:10:00.000Z',
      version: `2026-10-14T08:00:00.000Z#${A.runId}`,
      previousRunId: null,
    });
    expect(await releaseLease(s, PERIOD, A.runId)).toBe(true);

    const second = await claimPeriod(s, B, { now: at('2026-10-14T17:00:00Z') });
    expect(second.claimed && second.pointer.visible?.runId).toBe(A.runId);
    const replaced = await flipPointer(s, B);
    expect(replaced.previousRunId).toBe(A.runId);
    expect(replaced.pointer.history).toEqual([
      servingVersion(A.deliveredAt, A.runId),
      servingVersion(B.deliveredAt, B.runId),
    ]);
    // A retried flip (the answer of the first was lost) changes nothing and still knows what it replaced.
    const retried = await flipPointer(s, B);
    expect(retried.previousRunId).toBe(A.runId);
    expect(retried.pointer.history).toHaveLength(2);
  });

  it('serialises: a second run waits while the first holds the lease, then publishes after it', async () => {
    const s = await store();
    await claimPeriod(s, A, { now: at('2026-10-14T17:00:00Z') });
    await expect(claimPeriod(s, B, { now: at('2026-10-14T17:01:00Z') })).rejects.toThrow(LeaseBusyError);
    await expect(claimPeriod(s, B, { now: at('2026-10-14T17:01:00Z') })).rejects.toThrow(
      `billing period 2026-10 is being published by run ${A.runId}`,
    );
    // B cannot flip without the lease.
    await expect(flipPointer(s, B)).rejects.toThrow(LeaseLostError);
    await flipPointer(s, A);
    await releaseLease(s, PERIOD, A.runId);
    expect((await claimPeriod(s, B, { now: at('2026-10-14T17:02:00Z') })).claimed).toBe(true);
    await flipPointer(s, B);
    expect((await readPointer(s, PERIOD))?.visible?.runId).toBe(B.runId);
  });

  it('refuses an older delivery: the newest delivery stays visible whatever the order', async () => {
    const s = await store();
    await claimPeriod(s, B);
    await flipPointer(s, B);
    await releaseLease(s, PERIOD, B.runId);
    expect(await claimPeriod(s, A)).toEqual({
      claimed: false,
      reason: 'newer run already published',
      publishedRunId: B.runId,
    });
    expect(await readPointer(s, PERIOD)).toMatchObject({ visible: { runId: B.runId }, lease: undefined });
  });

  it('lets a run take an expired lease; the run that lost it can no longer flip', async () => {
    const s = await store();
    await claimPeriod(s, A, { now: at('2026-10-14T17:00:00Z'), leaseSeconds: 60 });
    const taken = await claimPeriod(s, B, { now: at('2026-10-14T17:02:00Z') });
    expect(taken.claimed).toBe(true);
    await expect(flipPointer(s, A)).rejects.toThrow(
      `run ${A.runId} no longer holds the lease of billing period 2026-10 (held by ${B.runId}; visible run none)`,
    );
    expect(await releaseLease(s, PERIOD, A.runId)).toBe(false);
    expect((await readPointer(s, PERIOD))?.lease?.holder).toBe(B.runId);
  });

  it('claim-period returns the visible run for the serving load', async () => {
    const s = await store();
    await claimPeriod(s, A);
    await flipPointer(s, A);
    await releaseLease(s, PERIOD, A.runId);
    expect(await claimRunPeriod({ ...B }, { ...s })).toEqual({
      claimed: true,
      runId: B.runId,
      billingPeriod: PERIOD,
      visibleRunId: A.runId,
      visibleVersion: servingVersion(A.deliveredAt, A.runId),
    });
  });
});
