import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../lib/alerts/alert.ts';
import { messageAttributes, SNS_MAX_MESSAGE_BYTES } from '../../lib/alerts/alert-message.ts';
import { sendAlerts, shouldSend } from '../../lib/alerts/alert-state.ts';
import { snsPublisher } from '../../lib/alerts/sns-publisher.ts';

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
    explanation:
      'Acme Robotics costs $3100.00 a month to serve, 31.0% of its $10000.00 MRR (threshold 25.0%).',
    ...overrides,
  };
}

const day = (iso: string) => new Date(`${iso}T12:00:00Z`);

describe('deduplication and escalation', () => {
  it('sends the same alert once within the renotify period, again after it', async () => {
    const published: Alert[] = [];
    const publish = async (alert: Alert) => {
      published.push(alert);
    };
    const first = await sendAlerts(
      [customerAlert('P2')],
      {},
      { now: day('2026-10-01'), renotifyDays: 7, publish },
    );
    const second = await sendAlerts([customerAlert('P2')], first.state, {
      now: day('2026-10-07'),
      renotifyDays: 7,
      publish,
    });
    expect(published).toHaveLength(1);
    expect(second.suppressed).toHaveLength(1);
    // Seven full days later it is news again.
    const third = await sendAlerts([customerAlert('P2')], first.state, {
      now: day('2026-10-08'),
      renotifyDays: 7,
      publish,
    });
    expect(third.sent).toHaveLength(1);
    expect(published).toHaveLength(2);
  });

  it('sends P2 and then P1 for the same customer (severity rises), but not P1 then P2', async () => {
    const sentAt = day('2026-10-01');
    const afterP2 = { 'cost_to_mrr|acme': { severity: 'P2' as const, sentAt: sentAt.toISOString() } };
    expect(shouldSend(customerAlert('P1'), afterP2, day('2026-10-02'), 7)).toBe(true);
    const afterP1 = { 'cost_to_mrr|acme': { severity: 'P1' as const, sentAt: sentAt.toISOString() } };
    expect(shouldSend(customerAlert('P2'), afterP1, day('2026-10-02'), 7)).toBe(false);
  });

  it('records nothing when the publish fails', async () => {
    const failing = sendAlerts(
      [customerAlert('P1')],
      {},
      {
        now: day('2026-10-01'),
        renotifyDays: 7,
        publish: async () => {
          throw new Error('SNS is down');
        },
      },
    );
    await expect(failing).rejects.toThrow('SNS is down');
    // The state is only returned by a successful call: the caller has nothing new to store.
    const retry = await sendAlerts(
      [customerAlert('P1')],
      {},
      { now: day('2026-10-01'), renotifyDays: 7, publish: async () => undefined },
    );
    expect(Object.keys(retry.state)).toEqual(['cost_to_mrr|acme']);
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
    expect(notification.content.description).toContain('MRR: $10000.00');
    expect(notification.content.description).toContain('AmazonRDS $1500.00 (team-data)');
    expect(notification.content.nextSteps.length).toBeGreaterThan(0);
    expect(body.email).toContain('Cost over 30 days: $3100.00');
    expect(Buffer.byteLength(input?.Message ?? '')).toBeLessThan(SNS_MAX_MESSAGE_BYTES);
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
