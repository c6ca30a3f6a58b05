import { PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Alert, Severity } from '../../lib/alerts/alert.ts';
import { groupNotification, type RenderedMessage, renderMessage } from '../../lib/alerts/alert-message.ts';
import type { SentState, StateWrite } from '../../lib/alerts/alert-state.ts';
import {
  type DeliveryConfig,
  type DeliveryPlan,
  deliveryStateKeys,
  planDelivery,
  settleDelivery,
} from '../../lib/alerts/delivery.ts';
import { batchesOf, snsBatchPublisher } from '../../lib/alerts/sns-publisher.ts';

const sns = mockClient(SNSClient);
beforeEach(() => sns.reset());

const CONFIG: DeliveryConfig = {
  renotifyDays: 7,
  digestWeekday: 'monday',
  digestMaxAlerts: 15,
  maxMessagesPerRun: 20,
};
const REPORT = 's3://cpc-results/reports/billing_period=2026-11/report.html';
const TOPIC = 'arn:aws:sns:eu-west-1:111122223333:cost-per-customer-alerts';

/** A cost_to_mrr alert (P1/P2) or a cost_trend_7d warning for customer `subject`. */
function alert(
  severity: Severity,
  subject: string,
  team: string,
  moneyAtStake: number,
  extra: Partial<Alert> = {},
) {
  return {
    type: severity === 'WARNING' ? 'cost_trend_7d' : 'cost_to_mrr',
    severity,
    asOf: '2026-11-29',
    subject,
    customerId: subject,
    value: severity === 'WARNING' ? 0.4 : 0.3,
    threshold: severity === 'WARNING' ? 0.15 : 0.25,
    customerName: `Customer ${subject}`,
    tier: 'growth',
    planStatus: 'paid',
    mrr: 1000,
    cost30d: 300,
    topServices: [],
    team,
    currency: 'USD',
    explanation: `Customer ${subject} fired.`,
    moneyAtStake,
    ...extra,
  } satisfies Alert;
}

const at = (iso: string) => new Date(iso.includes('T') ? `${iso}Z` : `${iso}T06:00:00Z`);

/** The state a store holds after these writes (what DynamoDB or the state file would give back). */
function applied(state: SentState, writes: readonly StateWrite[]): SentState {
  return { ...state, ...Object.fromEntries(writes.map((w) => [w.key, w.record])) };
}

/** Plans, then settles as if every message was published; returns the plan and the state after it. */
function run(alerts: readonly Alert[], state: SentState, now: Date, config: DeliveryConfig = CONFIG) {
  const plan = planDelivery(alerts, state, { now, config, reportLocation: REPORT });
  const outcome = settleDelivery(plan);
  return { plan, outcome, state: applied(state, outcome.records) };
}

const summary = (plan: DeliveryPlan) =>
  plan.messages.map((m) => `${m.kind} ${m.severity} ${m.team} ${m.alerts.map((a) => a.subject).join(',')}`);

describe('delivery by severity', () => {
  it('sends one message per P1 alert, highest money at stake first', () => {
    const { plan, outcome } = run(
      [alert('P1', 'a1', 'team-a', 100), alert('P1', 'b1', 'team-b', 300), alert('P1', 'a2', 'team-a', 200)],
      {},
      at('2026-11-30'),
    );
    expect(summary(plan)).toEqual(['single P1 team-b b1', 'single P1 team-a a2', 'single P1 team-a a1']);
    expect(plan.alerts.map((a) => a.notify)).toEqual([true, true, true]);
    expect(outcome.records.map((r) => r.key)).toEqual(['cost_to_mrr|b1', 'cost_to_mrr|a2', 'cost_to_mrr|a1']);
  });

  it('sends one P2 digest per team, its alerts ranked by money at stake, once per evaluation day', () => {
    const alerts = [
      alert('P2', 'a-small', 'team-a', 50),
      alert('P2', 'a-big', 'team-a', 500),
      alert('P2', 'b-only', 'team-b', 80),
      alert('P2', 'a-mid', 'team-a', 120),
    ];
    const first = run(alerts, {}, at('2026-11-30'));
    // team-a's digest holds 500 + 120 + 50 = 670 at stake, team-b's 80: team-a's goes first.
    expect(summary(first.plan)).toEqual(['digest P2 team-a a-big,a-mid,a-small', 'digest P2 team-b b-only']);
    const [digest] = first.plan.messages;
    if (digest === undefined) throw new Error('no digest');
    const rendered = renderMessage(digest);
    expect(rendered.title).toBe('P2 digest for team-a: 3 alerts, $670.00 at stake');
    const description: string = (groupNotification(digest).content as { description: string }).description;
    expect(description.split('\n').filter((line) => line.startsWith('• '))).toEqual([
      '• P2: Customer a-big costs 30.0% of its MRR: $500.00 at stake',
      '• P2: Customer a-mid costs 30.0% of its MRR: $120.00 at stake',
      '• P2: Customer a-small costs 30.0% of its MRR: $50.00 at stake',
    ]);
    expect(description).toContain(`\`${REPORT}\``);
    expect(rendered.email).toContain(`Every alert, with its figures: ${REPORT}`);
    expect(rendered.attributes).toEqual({
      severity: { DataType: 'String', StringValue: 'P2' },
      alert_type: { DataType: 'String', StringValue: 'digest' },
      team: { DataType: 'String', StringValue: 'team-a' },
    });
    expect(groupNotification(digest).metadata).toMatchObject({ threadId: 'digest:P2:team-a' });
    expect(first.state['digest|P2|team-a']).toMatchObject({ severity: 'P2', asOf: '2026-11-29' });

    // A later run on the same evaluation day with a new P2 for team-a: the day's digest went already.
    const again = run(
      [...alerts, alert('P2', 'a-new', 'team-a', 900)],
      first.state,
      at('2026-11-30T18:00:00'),
    );
    expect(again.plan.messages).toEqual([]);
    expect(again.plan.alerts.map((a) => a.heldBack)).toEqual([
      'sent within the last 7 days',
      'sent within the last 7 days',
      'sent within the last 7 days',
      'sent within the last 7 days',
      'the P2 digest of 2026-11-29 was already sent to team-a',
    ]);
    // The next evaluation day: a digest with the new alert alone (the others were sent a day ago).
    const nextDay = run(
      [alert('P2', 'a-new', 'team-a', 900, { asOf: '2026-11-30' })],
      again.state,
      at('2026-12-01'),
    );
    expect(summary(nextDay.plan)).toEqual(['digest P2 team-a a-new']);
  });

  it('sends the weekly digest on its weekday, holds warnings on the other days, and sends it a week later', () => {
    const monday = run(
      [alert('WARNING', 'w1', 'team-a', 40), alert('WARNING', 'w2', 'team-a', 60)],
      {},
      at('2026-11-30'),
    );
    expect(summary(monday.plan)).toEqual(['digest WARNING team-a w2,w1']);
    expect(renderMessage(monday.plan.messages[0] as never).title).toBe(
      'Weekly digest for team-a: 2 warnings, $100.00 at stake',
    );
    // The weekly record keeps the next digest back for a week, whatever renotifyDays says.
    expect(monday.outcome.records.find((r) => r.key === 'digest|WARNING|team-a')?.keepDays).toBe(7);

    const w3 = alert('WARNING', 'w3', 'team-a', 30, { asOf: '2026-11-30' });
    const tuesday = run([w3], monday.state, at('2026-12-01'));
    expect(tuesday.plan.messages).toEqual([]);
    expect(tuesday.plan.alerts).toMatchObject([
      { notify: false, heldBack: 'waits for the weekly digest on monday' },
    ]);
    // Nothing recorded: w3 goes in the next digest.
    expect(tuesday.outcome.records).toEqual([]);
    const sunday = run([w3], tuesday.state, at('2026-12-06'));
    expect(sunday.plan.messages).toEqual([]);

    // Next Monday, 7 days on: w1 and w2 are news again (7 days since they were sent), and w3.
    const next = run(
      [w3, alert('WARNING', 'w1', 'team-a', 40), alert('WARNING', 'w2', 'team-a', 60)],
      sunday.state,
      at('2026-12-07'),
    );
    expect(summary(next.plan)).toEqual(['digest WARNING team-a w2,w1,w3']);
    // And not again on the Tuesday after.
    expect(run([w3], next.state, at('2026-12-08')).plan.messages).toEqual([]);
  });

  it('holds the next weekly digest for 6 days after one sent late in the week', () => {
    // First sent on Thursday 3 December (no state before): Monday 7 is 4 days on, Tuesday 8 is 5 days
    // on, held both; Wednesday 9 is 6 days on and after the Monday: sent.
    const w = (subject: string) => alert('WARNING', subject, 'team-a', 10);
    const thursday = run([w('w1')], {}, at('2026-12-03'));
    expect(thursday.plan.messages).toHaveLength(1);
    expect(run([w('w2')], thursday.state, at('2026-12-07')).plan.messages).toEqual([]);
    expect(run([w('w2')], thursday.state, at('2026-12-08')).plan.messages).toEqual([]);
    expect(summary(run([w('w2')], thursday.state, at('2026-12-09')).plan)).toEqual([
      'digest WARNING team-a w2',
    ]);
  });

  it('lists at most digestMaxAlerts alerts in a digest, then "and N more", and sends them all', () => {
    const alerts = Array.from({ length: 18 }, (_, i) =>
      alert('P2', `c${String(i).padStart(2, '0')}`, 'team-a', 100 + i),
    );
    const { plan, outcome } = run(alerts, {}, at('2026-11-30'));
    expect(plan.messages).toHaveLength(1);
    const email = renderMessage(plan.messages[0] as never).email;
    const bullets = email.split('\n').filter((line) => line.startsWith('• '));
    // Ranked by money at stake: c17 (117) first, c03 (103) the 15th; c02, c01, c00 are the 3 more.
    expect(bullets).toHaveLength(15);
    expect(bullets[0]).toContain('Customer c17 ');
    expect(bullets[14]).toContain('Customer c03 ');
    expect(email).toContain('…and 3 more');
    expect(email).not.toContain('Customer c02 ');
    expect(plan.alerts.every((a) => a.notify)).toBe(true);
    // 18 alert records and the digest's.
    expect(outcome.records).toHaveLength(19);
  });

  it('caps a run at maxMessagesPerRun messages, held-back summaries included', () => {
    // 25 P1 alerts, money 2500, 2400, ..., 100, alternating team-a, team-b. With the cap of 20: 18
    // singles, and the 7 held (the 19th to 25th) span both teams: 2 summaries, 20 messages in all.
    const alerts = Array.from({ length: 25 }, (_, i) =>
      alert('P1', `c${i}`, i % 2 === 0 ? 'team-a' : 'team-b', (25 - i) * 100),
    );
    const { plan, outcome } = run(alerts, {}, at('2026-11-30'));
    expect(plan.messages).toHaveLength(20);
    expect(plan.messages.filter((m) => m.kind === 'single')).toHaveLength(18);
    const held = plan.messages.filter((m) => m.kind === 'held_back');
    // team-a holds c18, c20, c22, c24; team-b c19, c21, c23.
    expect(held.map((m) => `${m.team}:${m.alerts.map((a) => a.subject).join(',')}`)).toEqual([
      'team-a:c18,c20,c22,c24',
      'team-b:c19,c21,c23',
    ]);
    expect(plan.alerts.filter((a) => a.notify)).toHaveLength(18);
    expect(plan.alerts.filter((a) => !a.notify).map((a) => a.heldBack)).toEqual(
      Array(7).fill('over the per-run cap of 20 messages'),
    );
    // No state for what was held back: the next run sends it.
    expect(outcome.records).toHaveLength(18);
    const summaryMessage = renderMessage(held[0] as never);
    expect(summaryMessage.title).toBe('4 alerts for team-a held back');
    expect(summaryMessage.email).toContain(
      'This run reached its limit of 20 messages, so 4 alerts for team-a (4 P1) were not sent.',
    );
    expect(summaryMessage.attributes).toEqual({
      severity: { DataType: 'String', StringValue: 'P1' },
      alert_type: { DataType: 'String', StringValue: 'held_back' },
      team: { DataType: 'String', StringValue: 'team-a' },
    });
  });

  it('fills the cap with P1 first, then P2 digests, then weekly digests', () => {
    const alerts = [
      alert('WARNING', 'w', 'team-a', 5000),
      alert('P2', 'p2', 'team-a', 3000),
      alert('P1', 'small', 'team-a', 10),
      alert('P1', 'big', 'team-a', 20),
    ];
    const { plan } = run(alerts, {}, at('2026-11-30'), { ...CONFIG, maxMessagesPerRun: 3 });
    // 4 candidates over a cap of 3: two go, one summary for team-a holds the P2 digest and the weekly.
    expect(summary(plan)).toEqual([
      'single P1 team-a big',
      'single P1 team-a small',
      'held_back P2 team-a p2,w',
    ]);
  });

  it('gives a summary to the first teams only when the summaries alone would pass the cap', () => {
    // Cap 1, P1 alerts for team-b (300) and team-a (200): no single fits beside 2 summaries; only
    // team-b (whose held alert comes first) gets one; team-a's alert is held all the same.
    const { plan, outcome } = run(
      [alert('P1', 'a', 'team-a', 200), alert('P1', 'b', 'team-b', 300)],
      {},
      at('2026-11-30'),
      { ...CONFIG, maxMessagesPerRun: 1 },
    );
    expect(summary(plan)).toEqual(['held_back P1 team-b b']);
    expect(plan.alerts.map((a) => a.heldBack)).toEqual([
      'over the per-run cap of 1 messages',
      'over the per-run cap of 1 messages',
    ]);
    expect(outcome.records).toEqual([]);
  });

  it('does not send an alert twice within renotifyDays, inside digests too, unless its severity rises', () => {
    const d1 = run([alert('P2', 'acme', 'team-a', 100)], {}, at('2026-11-30'));
    expect(summary(d1.plan)).toEqual(['digest P2 team-a acme']);
    // The next evaluation day: acme is still P2, sent in yesterday's digest: no digest for team-a.
    const d2 = run([alert('P2', 'acme', 'team-a', 100, { asOf: '2026-11-30' })], d1.state, at('2026-12-01'));
    expect(d2.plan.messages).toEqual([]);
    expect(d2.plan.alerts[0]?.heldBack).toBe('sent within the last 7 days');
    // It becomes P1: sent at once, alone.
    const d3 = run([alert('P1', 'acme', 'team-a', 100, { asOf: '2026-12-01' })], d2.state, at('2026-12-02'));
    expect(summary(d3.plan)).toEqual(['single P1 team-a acme']);
    // Back to P2 the next day: not sent (the last sending was P1, one day ago).
    const d4 = run([alert('P2', 'acme', 'team-a', 100, { asOf: '2026-12-02' })], d3.state, at('2026-12-03'));
    expect(d4.plan.messages).toEqual([]);
    // 7 days after the P1: news again, in that day's digest.
    const d9 = run([alert('P2', 'acme', 'team-a', 100, { asOf: '2026-12-08' })], d4.state, at('2026-12-09'));
    expect(summary(d9.plan)).toEqual(['digest P2 team-a acme']);
  });

  it('reads the alert and digest keys of the teams it plans for', () => {
    expect(deliveryStateKeys([alert('P1', 'x', 'team-a', 1), alert('P2', 'y', 'team-a', 1)])).toEqual([
      'cost_to_mrr|x',
      'cost_to_mrr|y',
      'digest|P2|team-a',
      'digest|WARNING|team-a',
    ]);
  });
});

describe('publishing the plan with PublishBatch', () => {
  const publisher = () =>
    snsBatchPublisher(new SNSClient({ region: 'eu-west-1' }), TOPIC, { sleep: async () => undefined });

  it('retries a failed entry alone, then records its alerts unsent, and the next run sends them', async () => {
    const alerts = [alert('P1', 'ok', 'team-a', 200), alert('P1', 'flaky', 'team-b', 100)];
    const plan = planDelivery(alerts, {}, { now: at('2026-11-30'), config: CONFIG, reportLocation: REPORT });
    // m0 = ok (200), m1 = flaky (100). SNS fails m1 on every attempt.
    sns.on(PublishBatchCommand).callsFake(async (input) => ({
      Successful: input.PublishBatchRequestEntries.filter((e: { Id: string }) => e.Id !== 'm1').map(
        (e: { Id: string }) => ({ Id: e.Id, MessageId: `sns-${e.Id}` }),
      ),
      Failed: input.PublishBatchRequestEntries.filter((e: { Id: string }) => e.Id === 'm1').map(() => ({
        Id: 'm1',
        Code: 'InternalError',
        SenderFault: false,
      })),
    }));
    const result = await publisher()(plan.messages.map((m) => renderMessage(m)));
    expect(result.calls).toBe(3);
    expect(
      sns
        .commandCalls(PublishBatchCommand)
        .map((c) => c.args[0].input.PublishBatchRequestEntries?.map((e) => e.Id)),
    ).toEqual([['m0', 'm1'], ['m1'], ['m1']]);
    expect(result.published).toEqual(['m0']);
    expect([...result.failed]).toEqual([['m1', 'InternalError']]);

    const outcome = settleDelivery(plan, result.failed);
    expect(outcome.alerts.map((a) => [a.subject, a.notify, a.heldBack])).toEqual([
      ['ok', true, undefined],
      ['flaky', false, 'publish failed: InternalError'],
    ]);
    expect(outcome.records.map((r) => r.key)).toEqual(['cost_to_mrr|ok']);

    // The next run: flaky goes out, ok was sent minutes ago.
    const next = planDelivery(alerts, applied({}, outcome.records), {
      now: at('2026-11-30T07:00:00'),
      config: CONFIG,
      reportLocation: REPORT,
    });
    expect(summary(next)).toEqual(['single P1 team-b flaky']);
  });

  it('publishes an entry that succeeds on its retry', async () => {
    const plan = planDelivery(
      [alert('P1', 'a', 'team-a', 1)],
      {},
      {
        now: at('2026-11-30'),
        config: CONFIG,
        reportLocation: REPORT,
      },
    );
    sns
      .on(PublishBatchCommand)
      .resolvesOnce({ Failed: [{ Id: 'm0', Code: 'Throttled', SenderFault: false }] })
      .resolves({ Successful: [{ Id: 'm0', MessageId: 'x' }] });
    const result = await publisher()(plan.messages.map((m) => renderMessage(m)));
    expect(result).toEqual({ published: ['m0'], failed: new Map(), calls: 2 });
  });

  it('does not retry an entry SNS says the sender got wrong', async () => {
    const plan = planDelivery(
      [alert('P1', 'a', 'team-a', 1)],
      {},
      {
        now: at('2026-11-30'),
        config: CONFIG,
        reportLocation: REPORT,
      },
    );
    sns
      .on(PublishBatchCommand)
      .resolves({ Failed: [{ Id: 'm0', Code: 'InvalidParameter', SenderFault: true }] });
    const result = await publisher()(plan.messages.map((m) => renderMessage(m)));
    expect(result.calls).toBe(1);
    expect([...result.failed]).toEqual([['m0', 'InvalidParameter']]);
  });

  it('puts at most 10 entries and 256 KiB in one call', async () => {
    const alerts = Array.from({ length: 20 }, (_, i) => alert('P1', `c${i}`, 'team-a', 100 - i));
    const plan = planDelivery(alerts, {}, { now: at('2026-11-30'), config: CONFIG, reportLocation: REPORT });
    sns.on(PublishBatchCommand).callsFake(async (input) => ({
      Successful: input.PublishBatchRequestEntries.map((e: { Id: string }) => ({ Id: e.Id, MessageId: 'x' })),
    }));
    const result = await publisher()(plan.messages.map((m) => renderMessage(m)));
    expect(result.calls).toBe(2);
    expect(
      sns.commandCalls(PublishBatchCommand).map((c) => c.args[0].input.PublishBatchRequestEntries?.length),
    ).toEqual([10, 10]);
    // Messages of 100 KiB each: two fit in a call (200 KiB), a third would pass 256 KiB.
    const big = (id: string): RenderedMessage => ({
      id,
      subject: 's',
      message: 'x'.repeat(100 * 1024),
      attributes: {},
      title: 't',
      email: 'e',
    });
    expect(batchesOf(['a', 'b', 'c', 'd', 'e'].map(big)).map((b) => b.map((m) => m.id).join(''))).toEqual([
      'ab',
      'cd',
      'e',
    ]);
  });
});

describe('safe text in digests', () => {
  const HOSTILE = `<!channel> *bold* <https://x|y> & co\nsecond line ${'z'.repeat(500)}`;

  it('writes hostile names and teams as plain text in the Chatbot body and the email', () => {
    const alerts = [
      alert('P2', 'evil', '<!here> *ops*', 100, { customerName: HOSTILE }),
      alert('P2', 'fine', '<!here> *ops*', 50),
    ];
    const plan = planDelivery(alerts, {}, { now: at('2026-11-30'), config: CONFIG, reportLocation: REPORT });
    const [digest] = plan.messages;
    if (digest === undefined) throw new Error('no digest');
    const notification = groupNotification(digest) as {
      content: { title: string; description: string; nextSteps: string[] };
      metadata: { threadId: string; summary: string; additionalContext: { team: string } };
    };
    // The name: control characters to a space, markdown characters gone, cut to 80, then escaped.
    const cutName = `<!channel> bold <https://x|y> & co second line ${'z'.repeat(32)}…`;
    expect([...cutName]).toHaveLength(80);
    const slackName = cutName.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
    expect(notification.content.title).toBe('P2 digest for &lt;!here&gt; ops: 2 alerts, $150.00 at stake');
    expect(notification.content.description.split('\n')).toContain(
      `• P2: ${slackName} costs 30.0% of its MRR: $100.00 at stake`,
    );
    for (const text of [
      notification.content.title,
      notification.content.description.replace(`\`${REPORT}\``, ''),
      notification.metadata.threadId,
      notification.metadata.summary,
      notification.metadata.additionalContext.team,
    ]) {
      expect(text).not.toMatch(/<|>|\*|_/);
      expect(text).not.toContain('zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz');
    }
    const rendered = renderMessage(digest);
    expect(rendered.email.split('\n')[0]).toBe('P2 digest for <!here> ops: 2 alerts, $150.00 at stake');
    expect(rendered.email.split('\n')).toContain(`• P2: ${cutName} costs 30.0% of its MRR: $100.00 at stake`);
    expect(rendered.email).not.toMatch(/&amp;|&lt;|\*/);
    // The SNS subject line is one line of ASCII; the attributes keep the raw team for filter policies.
    expect(rendered.subject).toBe('[P2] cost-per-customer: digest for <!here> ops');
    expect(rendered.attributes.team?.StringValue).toBe('<!here> *ops*');
    // The JSON body holds the same two texts.
    const body = JSON.parse(rendered.message) as { default: string; email: string };
    expect(JSON.parse(body.default)).toEqual(notification);
    expect(body.email).toBe(rendered.email);
  });
});
