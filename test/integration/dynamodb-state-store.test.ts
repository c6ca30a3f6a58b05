import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../lib/alerts/alert.ts';
import { sendAlerts } from '../../lib/alerts/alert-state.ts';
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

const alert = (subject: string, severity: Alert['severity']): Alert => ({
  type: 'cost_to_mrr',
  severity,
  asOf: '2026-10-30',
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

describe('DynamoDB sent-alert state (against dynalite)', () => {
  it('records a sent alert with a TTL, and the next evaluation suppresses it', async () => {
    const store = new DynamoDbStateStore(client, { tableName: TABLE, renotifyDays: 7 });
    const now = new Date('2026-10-31T06:00:00Z');
    const published: string[] = [];
    const publish = async (a: Alert) => {
      published.push(a.subject);
    };
    await sendAlerts([alert("o'brien", 'P2')], store, { now, renotifyDays: 7, publish });
    const item = await client.send(
      new GetItemCommand({
        TableName: TABLE,
        Key: { pk: { S: "ALERT#cost_to_mrr|o'brien" }, sk: { S: 'SENT' } },
      }),
    );
    expect(item.Item?.severity?.S).toBe('P2');
    // TTL: sent time + (7 + 1) days, in epoch seconds.
    expect(Number(item.Item?.expires_at?.N)).toBe(now.getTime() / 1000 + 8 * 86_400);

    const later = new Date('2026-11-02T06:00:00Z');
    const again = await sendAlerts([alert("o'brien", 'P2'), alert('beta', 'P2')], store, {
      now: later,
      renotifyDays: 7,
      publish,
    });
    expect(again.suppressed.map((a) => a.subject)).toEqual(["o'brien"]);
    expect(published).toEqual(["o'brien", 'beta']);
    // Escalation P2 -> P1 goes out even within the period.
    const escalated = await sendAlerts([alert("o'brien", 'P1')], store, {
      now: later,
      renotifyDays: 7,
      publish,
    });
    expect(escalated.sent).toHaveLength(1);
  });

  it('reads more keys than one BatchGetItem takes', async () => {
    const store = new DynamoDbStateStore(client, { tableName: TABLE, renotifyDays: 7 });
    const sentAt = new Date('2026-10-31T06:00:00Z');
    for (let i = 0; i < 120; i++) await store.record(alert(`bulk-${i}`, 'P1'), sentAt);
    const keys = Array.from({ length: 130 }, (_, i) => `cost_to_mrr|bulk-${i}`);
    const state = await store.load(keys);
    expect(Object.keys(state)).toHaveLength(120);
    // The record says which currency the alert's money was sent in.
    expect(state['cost_to_mrr|bulk-119']).toEqual({
      severity: 'P1',
      sentAt: '2026-10-31T06:00:00.000Z',
      currency: 'EUR',
    });
  });
});
