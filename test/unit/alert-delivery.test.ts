import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../lib/alerts/alert.ts';
import {
  chatbotNotification,
  messageAttributes,
  plainTextMessage,
  renderMessage,
  SNS_MAX_MESSAGE_BYTES,
  snsMessage,
} from '../../lib/alerts/alert-message.ts';
import { alertStateWrite, FileStateStore } from '../../lib/alerts/alert-state.ts';
import { type DeliveryConfig, planDelivery } from '../../lib/alerts/delivery.ts';
import { snsBatchPublisher } from '../../lib/alerts/sns-publisher.ts';
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

const CONFIG: DeliveryConfig = {
  renotifyDays: 7,
  digestWeekday: 'monday',
  digestMaxAlerts: 15,
  maxMessagesPerRun: 20,
};

describe('local state file', () => {
  it('keeps local state in a file', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cpc-state-')), 'state.json');
    const store = new FileStateStore(path);
    expect(await store.load(['cost_to_mrr|acme'])).toEqual({});
    await store.record([alertStateWrite(customerAlert('P1', { currency: 'EUR' }), day('2026-10-01'), 7)]);
    // With the currency its money was sent in, its evaluation day and its team.
    expect(await new FileStateStore(path).load(['cost_to_mrr|acme', 'other|x'])).toEqual({
      'cost_to_mrr|acme': {
        severity: 'P1',
        sentAt: '2026-10-01T12:00:00.000Z',
        currency: 'EUR',
        asOf: '2026-10-30',
        team: 'team-data',
      },
    });
  });
});

describe('publishing to SNS', () => {
  const topicArn = 'arn:aws:sns:eu-west-1:111122223333:cost-per-customer-alerts';

  /** Publishes one alert as the deployed step does: planned alone (P1), rendered, batch-published. */
  async function publishOne(alert: Alert) {
    const plan = planDelivery([alert], {}, { now: day('2026-10-31'), config: CONFIG, reportLocation: 'r' });
    return snsBatchPublisher(new SNSClient({ region: 'eu-west-1' }), topicArn, { sleep: async () => {} })(
      plan.messages.map((message) => renderMessage(message)),
    );
  }

  function firstEntry() {
    return sns.commandCalls(PublishBatchCommand)[0]?.args[0].input.PublishBatchRequestEntries?.[0];
  }

  it('publishes a Chatbot notification and a plain-text email with routing attributes', async () => {
    sns.on(PublishBatchCommand).resolves({ Successful: [{ Id: 'm0', MessageId: 'x' }], Failed: [] });
    await publishOne(customerAlert('P1'));

    const calls = sns.commandCalls(PublishBatchCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input.TopicArn).toBe(topicArn);
    const input = firstEntry();
    expect(input?.MessageStructure).toBe('json');
    expect(input?.Subject).toBe('[P1] cost-per-customer: cost_to_mrr');
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
      metadata: { threadId: 'cost_to_mrr:acme' },
    });
    expect(notification.content.description).toContain('MRR: $10,000.00');
    expect(notification.content.description).toContain('AmazonRDS $1,500.00 (team-data)');
    expect(notification.content.nextSteps.length).toBeGreaterThan(0);
    expect(body.email).toContain('Cost over 30 days: $3,100.00');
    expect(body.email).toBe(plainTextMessage(customerAlert('P1')));
    expect(Buffer.byteLength(input?.Message ?? '')).toBeLessThan(SNS_MAX_MESSAGE_BYTES);
  });

  it("writes the money of an alert in the alert's own currency", async () => {
    sns.on(PublishBatchCommand).resolves({ Successful: [{ Id: 'm0', MessageId: 'x' }], Failed: [] });
    // The same figures in yen, which has no minor unit: 10000 -> ¥10,000, 3100 -> ¥3,100.
    await publishOne(customerAlert('P1', { currency: 'JPY' }));
    const body = JSON.parse(firstEntry()?.Message ?? '{}') as { default: string; email: string };
    const description: string = JSON.parse(body.default).content.description;
    expect(description).toContain('MRR: ¥10,000');
    expect(description).toContain('AmazonRDS ¥1,500 (team-data)');
    expect(body.email).toContain('Cost over 30 days: ¥3,100');
    expect(`${description}${body.email}`).not.toMatch(/MRR: \$|Cost over 30 days: \$|AmazonRDS \$/);
  });

  it('reports a publish that keeps failing, with the error name as code, and does not throw', async () => {
    const denied = new Error('not allowed');
    denied.name = 'AuthorizationError';
    sns.on(PublishBatchCommand).rejects(denied);
    const result = await publishOne(customerAlert('P1'));
    expect(result.published).toEqual([]);
    expect([...result.failed]).toEqual([['m0', 'AuthorizationError']]);
    // Three attempts in all (the default).
    expect(result.calls).toBe(3);
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
      {
        asOf: '2026-10-30',
        thresholds: { costToMrrP1: 0.25, costToMrrP2: 0.2, minMonthlyCost: 25 },
        currency: 'USD',
      },
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
    expect(notification.content.title).toBe(
      `Cost of ${SLACK_NAME} up 40.0% week over week, faster than its revenue`,
    );
    expect(notification.content.description.split('\n')[0]).toBe(
      `${SLACK_NAME}'s cost grew 40.0% week over week, from $100.00 to $140.00.`,
    );
    expect(notification.content.nextSteps).toEqual([
      'Compare this week with last week in customer_daily_service_cost to see which service grew.',
      'If the growth is expected (a new workload), check that the plan and price follow it.',
    ]);
    expect(costTrend7d.nextSteps).toEqual(notification.content.nextSteps);
    expect(trend.explanation).toBe(explanation);
  });
});
