import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../lib/alerts/alert.ts';
import { alertStateWrite } from '../../lib/alerts/alert-state.ts';
import { deliveryStateKeys, planDelivery, settleDelivery } from '../../lib/alerts/delivery.ts';
import { DynamoDbStateStore } from '../../lib/alerts/dynamodb-state-store.ts';

// A local DynamoDB endpoint (dynalite, in memory) on a free loopback port, for the real SDK calls.
const server = dynalite({ createTableMs: 0 });
let client: DynamoDBClient;
const TABLE = 'cost-per-customer-serving';

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await client.send(
    new CreateTableCommand({
      TableName: TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    }),
  );
});

afterAll(async () => {
  client.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const alert = (subject: string, severity: Alert['severity'], asOf = '2026-10-30'): Alert => ({
  type: 'cost_to_mrr',
  severity,
  asOf,
  subject,
  customerId: subject,
  value: 0.3,
  threshold: 0.25,
  customerName: subject,
  tier: 'growth',
  planStatus: 'paid',
  mrr: 100,
  cost30d: 30,
  topServices: [],
  team: 'team-data',
  currency: 'EUR',
  explanation: 'x',
  moneyAtStake: 0,
});

const CONFIG = {
  renotifyDays: 3,
  digestWeekday: 'monday',
  digestMaxAlerts: 15,
  maxMessagesPerRun: 20,
} as const;
const DAY = 86_400;

/** Plans a run against the store, as evaluate-alerts does, and records what it sent. */
async function deliver(store: DynamoDbStateStore, alerts: readonly Alert[], now: Date) {
  const plan = planDelivery(alerts, await store.load(deliveryStateKeys(alerts)), {
    now,
    config: CONFIG,
    reportLocation: 's3://r/report.html',
  });
  const outcome = settleDelivery(plan);
  await store.record(outcome.records);
  return outcome;
}

const getItem = (pk: string) =>
  client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: pk }, sk: { S: 'SENT' } } }));

describe('DynamoDB sent state (against dynalite)', () => {
  it('records a sent alert with a TTL, and the next evaluation suppresses it unless it escalates', async () => {
    const store = new DynamoDbStateStore(client, { tableName: TABLE });
    const now = new Date('2026-10-31T06:00:00Z');
    await deliver(store, [alert("o'brien", 'P2')], now);
    const item = await getItem("ALERT#cost_to_mrr|o'brien");
    expect(item.Item?.severity?.S).toBe('P2');
    // TTL: sent time + (renotifyDays 3 + 1) days, in epoch seconds.
    expect(Number(item.Item?.expires_at?.N)).toBe(now.getTime() / 1000 + 4 * DAY);

    const later = new Date('2026-11-01T06:00:00Z');
    const again = await deliver(store, [alert("o'brien", 'P2'), alert('beta', 'P2', '2026-10-31')], later);
    expect(again.alerts.map((a) => [a.subject, a.notify])).toEqual([
      ["o'brien", false],
      ['beta', true],
    ]);
    // Escalation P2 -> P1 goes out even within the period.
    const escalated = await deliver(store, [alert("o'brien", 'P1', '2026-10-31')], later);
    expect(escalated.published.map((m) => m.kind)).toEqual(['single']);
  });

  it('keeps digest records: the P2 digest with its evaluation day, the weekly one for a week', async () => {
    const store = new DynamoDbStateStore(client, { tableName: TABLE });
    // Monday 30 November 2026: a P2 digest and the weekly digest for team-data.
    const monday = new Date('2026-11-30T06:00:00Z');
    const warning = { ...alert('trend', 'WARNING'), type: 'cost_trend_7d' };
    const first = await deliver(store, [alert('gamma', 'P2'), warning], monday);
    expect(first.published.map((m) => `${m.kind}|${m.severity}`)).toEqual(['digest|P2', 'digest|WARNING']);
    const p2 = await getItem('ALERT#digest|P2|team-data');
    expect([p2.Item?.as_of?.S, p2.Item?.team?.S, p2.Item?.severity?.S]).toEqual([
      '2026-10-30',
      'team-data',
      'P2',
    ]);
    expect(Number(p2.Item?.expires_at?.N)).toBe(monday.getTime() / 1000 + 4 * DAY);
    // The weekly record outlives 7 days though renotifyDays is 3: 7 + 1 days.
    const weekly = await getItem('ALERT#digest|WARNING|team-data');
    expect(Number(weekly.Item?.expires_at?.N)).toBe(monday.getTime() / 1000 + 8 * DAY);
    expect(await store.load(['digest|WARNING|team-data'])).toEqual({
      'digest|WARNING|team-data': {
        severity: 'WARNING',
        sentAt: '2026-11-30T06:00:00.000Z',
        asOf: '2026-10-30',
        team: 'team-data',
        currency: 'EUR',
      },
    });
    // Friday: the warning's own record expired (3 days), but the weekly digest waits for Monday.
    const friday = await deliver(store, [warning], new Date('2026-12-04T06:00:00Z'));
    expect(friday.alerts[0]).toMatchObject({
      notify: false,
      heldBack: 'waits for the weekly digest on monday',
    });
    // The same evaluation day again: the P2 digest for it went already.
    const sameDay = await deliver(store, [alert('delta', 'P2')], new Date('2026-11-30T09:00:00Z'));
    expect(sameDay.alerts[0]?.heldBack).toBe('the P2 digest of 2026-10-30 was already sent to team-data');
  });

  it('reads more keys than one BatchGetItem takes', async () => {
    const store = new DynamoDbStateStore(client, { tableName: TABLE });
    const sentAt = new Date('2026-10-31T06:00:00Z');
    await store.record(
      Array.from({ length: 120 }, (_, i) => alertStateWrite(alert(`bulk-${i}`, 'P1'), sentAt, 7)),
    );
    const keys = Array.from({ length: 130 }, (_, i) => `cost_to_mrr|bulk-${i}`);
    const state = await store.load(keys);
    expect(Object.keys(state)).toHaveLength(120);
    // The record says which currency the alert's money was sent in.
    expect(state['cost_to_mrr|bulk-119']).toEqual({
      severity: 'P1',
      sentAt: '2026-10-31T06:00:00.000Z',
      currency: 'EUR',
      asOf: '2026-10-30',
      team: 'team-data',
    });
  });
});
