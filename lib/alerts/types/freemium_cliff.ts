import { formatMoney } from '../../common/money.ts';
import type { AlertTypeDefinition } from '../alert-type.ts';

/**
 * **freemium_cliff** (docs/alerts.md): the median active trial customer costs more over 30 days than the
 * median active paying customer. No threshold of its own: the paid median is the threshold.
 */
export const freemiumCliff: AlertTypeDefinition<'freemium_cliff', Record<never, never>> = {
  name: 'freemium_cliff',
  sql: { path: 'alerts/freemium_cliff.sql' },
  thresholds: {},
  findings: (rows, { currency }) => {
    const medians = new Map(rows.map((r) => [String(r.plan_status), Number(r.median_cost_30d)]));
    const trialMedian = medians.get('trial');
    const paidMedian = medians.get('paid');
    if (trialMedian === undefined || paidMedian === undefined || !(trialMedian > paidMedian)) return [];
    return [
      {
        severity: 'WARNING',
        subject: 'trial_vs_paid',
        value: trialMedian,
        threshold: paidMedian,
        explanation:
          `The median trial customer costs ${formatMoney(trialMedian, currency)} over 30 days, more than ` +
          `the median paying customer (${formatMoney(paidMedian, currency)}).`,
        customer: null,
        moneyAtStake: trialMedian - paidMedian,
      },
    ];
  },
  title: () => 'Trial customers cost more than paying customers',
  nextSteps: ['Review trial limits: the trial is costing more to serve than a paying customer.'],
  unit: 'money',
};
