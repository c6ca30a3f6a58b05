import { describe, expect, it } from 'vitest';
import type { Alert, NotifiedAlert } from '../../lib/alerts/alert.ts';
import { alertKey } from '../../lib/alerts/alert.ts';
import { renderMessage } from '../../lib/alerts/alert-message.ts';
import { planDelivery, settleDelivery } from '../../lib/alerts/delivery.ts';
import type { LocalMessage } from '../../lib/local/run-local.ts';
import { alertLines } from '../../lib/local/summary-text.ts';

function alert(severity: Alert['severity'], subject: string, team: string): Alert {
  return {
    type: severity === 'WARNING' ? 'cost_trend_7d' : 'cost_to_mrr',
    severity,
    asOf: '2026-11-30',
    subject,
    customerId: subject,
    value: 0.3,
    threshold: 0.25,
    customerName: `Customer ${subject}`,
    tier: 'growth',
    planStatus: 'paid',
    mrr: 1000,
    cost30d: 300,
    topServices: [],
    team,
    currency: 'USD',
    explanation: `${subject} fired`,
    moneyAtStake: 10,
  };
}

/** The summary lines of a run on Tuesday 1 December 2026 whose team-c had its weekly digest yesterday. */
function lines(alerts: readonly Alert[]) {
  const plan = planDelivery(
    alerts,
    { 'digest|WARNING|team-c': { severity: 'WARNING', sentAt: '2026-11-30T06:00:00.000Z' } },
    {
      now: new Date('2026-12-01T06:00:00Z'),
      config: { renotifyDays: 7, digestWeekday: 'monday', digestMaxAlerts: 15, maxMessagesPerRun: 20 },
      reportLocation: 'out/report.html',
    },
  );
  const outcome = settleDelivery(plan);
  const messages: LocalMessage[] = outcome.published.map((m) => ({
    kind: m.kind,
    severity: m.severity,
    team: m.team,
    title: renderMessage(m).title,
    alerts: m.alerts.map(alertKey),
    email: renderMessage(m).email,
  }));
  const notified: readonly NotifiedAlert[] = outcome.alerts;
  return alertLines({ alerts: notified, messages, asOf: '2026-11-30' });
}

describe('the alert lines of the terminal summary', () => {
  it('shows one line per message, the weekly digests that wait, and one count line', () => {
    expect(
      lines([
        alert('P1', 'acme', 'team-a'),
        alert('P2', 'beta', 'team-b'),
        alert('P2', 'gamma', 'team-b'),
        alert('WARNING', 'delta', 'team-c'),
        alert('WARNING', 'eps', 'team-d'),
      ]),
    ).toEqual([
      'Alerts as of 2026-11-30: 5 evaluated, 4 sent, 1 held (why: alerts.json); 3 messages',
      '  P1: Customer acme costs 30.0% of its MRR -> team-a',
      '  P2 digest -> team-b: 2 alerts',
      // team-d never had a weekly digest: it goes out now; team-c's waits for Monday.
      '  WARNING weekly digest -> team-d: 1 alert',
      '  WARNING weekly digest -> team-c: 1 alert held (waits for the weekly digest on monday)',
    ]);
  });
});
