import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../lib/alerts/alert.ts';
import {
  chatbotNotification,
  messageAttributes,
  plainTextMessage,
  SNS_MAX_MESSAGE_BYTES,
  snsMessage,
} from '../../lib/alerts/alert-message.ts';
import {
  FileStateStore,
  type SentRecord,
  type SentStateStore,
  sendAlerts,
} from '../../lib/alerts/alert-state.ts';
import { snsPublisher } from '../../lib/alerts/sns-publisher.ts';
import { costToMrr } from '../../lib/alerts/types/cost_to_mrr.ts';
import { costTrend7d } from '../../lib/alerts/types/cost_trend_7d.ts';

const sns = mockClient(SNSClient);
beforeEach(() => sns.reset());

function customerAlert(severity: Alert['severity'], overrides: Partial<Alert> = {}): Alert {
  return {
    type: 'cost_to_mrr',
    severity,
    asOf: '2026-10-30',
    subject: 'acme',
    customerId: 'acme',
    value: severity === 'P1' ? 0.31 : 0.22,
    threshold: severity === 'P1' ? 0.25 : 0.2,
    customerName: 'Acme Robotics',
    tier: 'enterprise',
    planStatus: 'paid',
    mrr: 10_000,
    cost30d: severity === 'P1' ? 3_100 : 2_200,
    topServices: [{ service: 'AmazonRDS', cost: 1_500, team: 'team-data' }],
    team: 'team-data',
    currency: 'USD',
    explanation:
      'Acme Robotics costs $3,100.00 a month to serve, 31.0% of its $10,000.00 MRR (threshold 25.0%).',
    moneyAtStake: severity === 'P1' ? 600 : 200,
    ...overrides,
  };
}

const day = (iso: string) => new Date(`${iso}T12:00:00Z`);

/** A store that keeps records in memory, as DynamoDB or the state file would. */
function memoryStore(
  initial: Record<string, SentRecord> = {},
): SentStateStore & { records: Record<string, SentRecord> } {
  const records = { ...initial };
  return {
    records,
    load: async (keys) =>
      Object.fromEntries(keys.filter((k) => k in records).map((k) => [k, records[k] as SentRecord])),
    record: async (alert, sentAt) => {
      records[`${alert.type}|${alert.subject}`] = { severity: alert.severity, sentAt: sentAt.toISOString() };
    },
  };
}

describe('deduplication and escalation', () => {
  it('sends the same alert once within the renotify period, again after it', async () => {
    const published: Alert[] = [];
    const publish = async (alert: Alert) => {
      published.push(alert);
    };
    const store = memoryStore();
    await sendAlerts([customerAlert('P2')], store, { now: day('2026-10-01'), renotifyDays: 7, publish });
    const second = await sendAlerts([customerAlert('P2')], store, {
      now: day('2026-10-07'),
      renotifyDays: 7,
      publish,
    });
    expect(published).toHaveLength(1);
    expect(second.suppressed).toHaveLength(1);
    // Seven full days after the first send it is news again.
    const third = await sendAlerts([customerAlert('P2')], store, {
      now: day('2026-10-08'),
      renotifyDays: 7,
      publish,
    });
    expect(third.sent).toHaveLength(1);
    expect(published).toHaveLength(2);
  });

  it('sends P2 and then P1 for the same customer (severity rises), but not P1 then P2', async () => {
    const publish = async () => undefined;
    const store = memoryStore();
    const p2 = await sendAlerts([customerAlert('P2')], store, {
      now: day('2026-10-01'),
      renotifyDays: 7,
      publish,
    });
    const p1 = await sendAlerts([customerAlert('P1')], store, {
      now: day('2026-10-02'),
      renotifyDays: 7,
      publish,
    });
    const p2Again = await sendAlerts([customerAlert('P2')], store, {
      now: day('2026-10-03'),
      renotifyDays: 7,
      publish,
    });
    expect([p2.sent.length, p1.sent.length, p2Again.sent.length]).toEqual([1, 1, 0]);
    expect(store.records['cost_to_mrr|acme']?.severity).toBe('P1');
  });

  it('records nothing for an alert whose publish fails, and keeps what was sent before the failure', async () => {
    const store = memoryStore();
    const trend = customerAlert('WARNING', { type: 'cost_trend_7d' });
    const failing = sendAlerts([trend, customerAlert('P1')], store, {
      now: day('2026-10-01'),
      renotifyDays: 7,
      publish: async (alert) => {
        if (alert.type === 'cost_to_mrr') throw new Error('SNS is down');
      },
    });
    await expect(failing).rejects.toThrow('SNS is down');
    expect(Object.keys(store.records)).toEqual(['cost_trend_7d|acme']);
  });

  it('keeps local state in a file', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cpc-state-')), 'state.json');
    const store = new FileStateStore(path);
    expect(await store.load(['cost_to_mrr|acme'])).toEqual({});
    await store.record(customerAlert('P1', { currency: 'EUR' }), day('2026-10-01'));
    // With the currency its money was sent in.
    expect(await new FileStateStore(path).load(['cost_to_mrr|acme', 'other|x'])).toEqual({
      'cost_to_mrr|acme': { severity: 'P1', sentAt: '2026-10-01T12:00:00.000Z', currency: 'EUR' },
    });
  });
});

describe('publishing to SNS', () => {
  const topicArn = 'arn:aws:sns:eu-west-1:111122223333:cost-per-customer-alerts';

  it('publishes a Chatbot notification and a plain-text email with routing attributes', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    await snsPublisher(new SNSClient({ region: 'eu-west-1' }), topicArn)(customerAlert('P1'));

    const calls = sns.commandCalls(PublishCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    expect(input?.TopicArn).toBe(topicArn);
    expect(input?.MessageStructure).toBe('json');
    expect(input?.MessageAttributes).toEqual({
      severity: { DataType: 'String', StringValue: 'P1' },
      alert_type: { DataType: 'String', StringValue: 'cost_to_mrr' },
      team: { DataType: 'String', StringValue: 'team-data' },
      customer_id: { DataType: 'String', StringValue: 'acme' },
      tier: { DataType: 'String', StringValue: 'enterprise' },
    });
    const body = JSON.parse(input?.Message ?? '{}') as { default: string; email: string };
    const notification = JSON.parse(body.default);
    expect(notification).toMatchObject({
      version: '1.0',
      source: 'custom',
      content: { textType: 'client-markdown', title: 'P1: Acme Robotics costs 31.0% of its MRR' },
    });
    expect(notification.content.description).toContain('MRR: $10,000.00');
    expect(notification.content.description).toContain('AmazonRDS $1,500.00 (team-data)');
    expect(notification.content.nextSteps.length).toBeGreaterThan(0);
    expect(body.email).toContain('Cost over 30 days: $3,100.00');
    expect(Buffer.byteLength(input?.Message ?? '')).toBeLessThan(SNS_MAX_MESSAGE_BYTES);
  });

  it("writes the money of an alert in the alert's own currency", async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    // The same figures in yen, which has no minor unit: 10000 -> ¥10,000, 3100 -> ¥3,100.
    await snsPublisher(
      new SNSClient({ region: 'eu-west-1' }),
      topicArn,
    )(customerAlert('P1', { currency: 'JPY' }));
    const body = JSON.parse(sns.commandCalls(PublishCommand)[0]?.args[0].input.Message ?? '{}') as {
      default: string;
      email: string;
    };
    const description: string = JSON.parse(body.default).content.description;
    expect(description).toContain('MRR: ¥10,000');
    expect(description).toContain('AmazonRDS ¥1,500 (team-data)');
    expect(body.email).toContain('Cost over 30 days: ¥3,100');
    expect(`${description}${body.email}`).not.toMatch(/MRR: \$|Cost over 30 days: \$|AmazonRDS \$/);
  });

  it('surfaces a failed publish to the caller', async () => {
    sns.on(PublishCommand).rejects(new Error('AuthorizationError'));
    await expect(
      snsPublisher(new SNSClient({ region: 'eu-west-1' }), topicArn)(customerAlert('P2')),
    ).rejects.toThrow('AuthorizationError');
  });

  it('lets a subscription filter policy on severity select the right messages', () => {
    // SNS attribute filtering: a message matches when, for every key of the policy, its attribute is listed.
    const matches = (policy: Record<string, string[]>, alert: Alert) =>
      Object.entries(policy).every(([key, allowed]) => {
        const value = messageAttributes(alert)[key]?.StringValue;
        return value !== undefined && allowed.includes(value);
      });
    const pages = { severity: ['P1'] };
    const dataTeam = { team: ['team-data'], severity: ['P1', 'P2'] };
    const digest = { severity: ['WARNING'] };
    const trend = customerAlert('WARNING', { type: 'cost_trend_7d' });
    expect([customerAlert('P1'), customerAlert('P2'), trend].map((a) => matches(pages, a))).toEqual([
      true,
      false,
      false,
    ]);
    expect([customerAlert('P1'), customerAlert('P2'), trend].map((a) => matches(dataTeam, a))).toEqual([
      true,
      true,
      false,
    ]);
    expect([customerAlert('P1'), customerAlert('P2'), trend].map((a) => matches(digest, a))).toEqual([
      false,
      false,
      true,
    ]);
    // A segment alert has no customer attributes, so a customer_id filter never selects it.
    const segment = customerAlert('WARNING', { type: 'freemium_cliff', customerId: null, tier: null });
    expect(Object.keys(messageAttributes(segment)).sort()).toEqual(['alert_type', 'severity', 'team']);
  });
});

describe('safe text in messages', () => {
  const NAME = '<!channel> *Acme* <https://evil.example|click>';
  const SLACK_NAME = '&lt;!channel&gt; Acme &lt;https://evil.example|click&gt;';
  const PLAIN_NAME = '<!channel> Acme <https://evil.example|click>';

  /** A cost_to_mrr alert as evaluateAlerts makes it: the explanation from the type's own findings. */
  function hostileAlert(name = NAME): Alert {
    const [finding] = costToMrr.findings(
      [
        {
          customer_id: 'acme&co',
          name,
          tier: '_gold_',
          plan_status: 'paid',
          mrr: 10_000,
          cost_30d: 3_100,
          owner_team: '`ops`',
          severity: 'P1',
          measured: 0.31,
          threshold: 0.25,
        },
      ],
      { asOf: '2026-10-30', thresholds: { costToMrrP1: 0.25, costToMrrP2: 0.2 }, currency: 'USD' },
    );
    if (finding === undefined) throw new Error('no finding');
    return customerAlert('P1', {
      subject: 'acme&co',
      customerId: 'acme&co',
      customerName: name,
      tier: '_gold_',
      topServices: [{ service: 'AmazonRDS', cost: 1_500, team: '`ops`' }],
      team: '`ops`',
      explanation: finding.explanation,
    });
  }

  it('escapes and strips every data value in the Chatbot notification', () => {
    const notification = chatbotNotification(hostileAlert()) as {
      content: { title: string; description: string; nextSteps: string[] };
      metadata: { summary: string; additionalContext: { team: string } };
    };
    const explanation = `${SLACK_NAME} costs $3,100.00 a month to serve, 31.0% of its $10,000.00 MRR (threshold 25.0%).`;
    expect(notification.content.title).toBe(`P1: ${SLACK_NAME} costs 31.0% of its MRR`);
    expect(notification.content.description).toBe(
      [
        explanation,
        '',
        `• Customer: ${SLACK_NAME} (acme&amp;co), gold, paid`,
        '• MRR: $10,000.00',
        '• Cost over 30 days: $3,100.00',
        '• Measured: 31.0% (threshold 25.0%)',
        '• Top services: AmazonRDS $1,500.00 (ops)',
        '• As of 2026-10-30; routed to ops.',
      ].join('\n'),
    );
    expect(notification.metadata.summary).toBe(explanation);
    expect(notification.metadata.additionalContext.team).toBe('ops');
    // No field a person reads carries a mention, link or formatting from data.
    for (const text of [
      notification.content.title,
      notification.content.description,
      notification.metadata.summary,
      notification.metadata.additionalContext.team,
    ]) {
      expect(text).not.toMatch(/[<>*_`~]/);
    }
    // The product's own words are unchanged.
    expect(notification.content.nextSteps).toEqual(costToMrr.nextSteps);
  });

  it('cuts a long name to 80 characters with an ellipsis', () => {
    const long = 'N'.repeat(200);
    const cutName = `${'N'.repeat(79)}…`;
    const notification = chatbotNotification(hostileAlert(long)) as { content: { title: string } };
    expect(notification.content.title).toBe(`P1: ${cutName} costs 31.0% of its MRR`);
    expect(plainTextMessage(hostileAlert(long))).toContain(`Customer: ${cutName} (acme&co)`);
  });

  it('writes the email with the same content, free of markdown and HTML entities', () => {
    const email = plainTextMessage(hostileAlert());
    expect(email.split('\n').slice(0, 5)).toEqual([
      `P1: ${PLAIN_NAME} costs 31.0% of its MRR`,
      '',
      `${PLAIN_NAME} costs $3,100.00 a month to serve, 31.0% of its $10,000.00 MRR (threshold 25.0%).`,
      '',
      `Customer: ${PLAIN_NAME} (acme&co), gold, paid`,
    ]);
    expect(email).toContain('Top services: AmazonRDS $1,500.00 (ops)');
    expect(email).not.toMatch(/&amp;|&lt;|&gt;|[*_`]/);
    const body = JSON.parse(snsMessage(hostileAlert())) as { email: string };
    expect(body.email).toBe(email);
  });

  it('keeps the raw values on the alert and in the SNS attributes', () => {
    const alert = hostileAlert();
    // What alerts.json and the terminal summary show.
    expect(alert.explanation).toBe(
      `${NAME} costs $3,100.00 a month to serve, 31.0% of its $10,000.00 MRR (threshold 25.0%).`,
    );
    // A subscription filter policy matches attribute values exactly.
    expect(messageAttributes(alert)).toMatchObject({
      team: { DataType: 'String', StringValue: '`ops`' },
      customer_id: { DataType: 'String', StringValue: 'acme&co' },
      tier: { DataType: 'String', StringValue: '_gold_' },
    });
  });

  it('writes the name of a trend alert safely, and leaves its next steps alone', () => {
    const explanation = `${NAME}'s cost grew 40.0% week over week, from $100.00 to $140.00.`;
    const trend = customerAlert('WARNING', {
      type: 'cost_trend_7d',
      value: 0.4,
      threshold: 0.15,
      customerName: NAME,
      explanation,
    });
    const notification = chatbotNotification(trend) as {
      content: { title: string; description: string; nextSteps: string[] };
    };
    expect(notification.content.title).toBe(`Cost of ${SLACK_NAME} up 40.0% week over week`);
    expect(notification.content.description.split('\n')[0]).toBe(
      `${SLACK_NAME}'s cost grew 40.0% week over week, from $100.00 to $140.00.`,
    );
    expect(notification.content.nextSteps).toEqual([
      'Compare this week with last week in customer_daily_service_cost to see which service grew.',
    ]);
    expect(costTrend7d.nextSteps).toEqual(notification.content.nextSteps);
    expect(trend.explanation).toBe(explanation);
  });
});
