import { chart, type FormatterParams } from './charts.ts';
import { byId, el, query, tooltip } from './dom.ts';
import { moneyIn, moneyTick, pct } from './format.ts';
import type { MonthView } from './month-view.ts';

interface Step {
  readonly label: string;
  readonly amount: number;
  readonly note: string;
  /** The bill and paid customers stand on the axis; the steps between hang from what is left. */
  readonly total: boolean;
  readonly color: string;
}

/**
 * The reconciliation waterfall: from the bill, what is excluded (tax), what reaches no customer, what free
 * and trial accounts take, and what is left for paying customers, each with its share of the bill. The
 * steps add up to the bill (the finance view cost_reconciliation checks it).
 */
export function renderWaterfall(data: MonthView): void {
  const steps = data.reconciliation;
  byId('section-waterfall').hidden = steps === null;
  if (steps === null) return;
  const money = moneyIn(data.currency);
  const share = (amount: number) => (steps.billTotal === 0 ? null : amount / steps.billTotal);
  const reasons = steps.unattributedByReason;
  const byReason = (
    [
      ['unknown tenant', reasons.unknownTenant],
      ['no rule', reasons.noRule],
      ['no usage signal', reasons.noUsageSignal],
      ['no active customers', reasons.noActiveCustomers],
      ['no revenue', reasons.noRevenue],
      ['other', reasons.other],
    ] as const
  )
    .filter(([, amount]) => amount !== 0)
    .map(([reason, amount]) => `${reason} ${money(amount)}`)
    .join(', ');
  const list: Step[] = [
    {
      label: 'Bill',
      amount: steps.billTotal,
      note: 'every line item of the month',
      total: true,
      color: '#3d6a99',
    },
    {
      label: 'Excluded',
      amount: steps.excludedCost,
      note: 'tax and what the rules exclude',
      total: false,
      color: '#c3c9d1',
    },
    {
      label: 'Unattributed',
      amount: steps.unattributedCost,
      note: byReason || 'none',
      total: false,
      color: '#e8955a',
    },
    {
      label: 'Free and trial',
      amount: steps.freeTrialCost,
      note: `${steps.freeTrialCustomers} accounts without revenue`,
      total: false,
      color: '#b5cf86',
    },
    {
      label: 'Paid customers',
      amount: steps.paidCost,
      note: `${steps.paidCustomers} customers`,
      total: true,
      color: '#2f5a3d',
    },
  ];
  // Each middle step hangs from the bill minus the steps before it; negative amounts (credits) hang up.
  let left = steps.billTotal;
  const bases: number[] = [];
  for (const step of list) {
    if (step.total) {
      bases.push(0);
    } else {
      left -= step.amount;
      bases.push(Math.min(left, left + step.amount));
    }
  }
  chart('chart-waterfall', {
    grid: { left: 8, right: 8, top: 16, bottom: 8, outerBoundsMode: 'same', outerBoundsContain: 'all' },
    tooltip: {
      trigger: 'item',
      formatter: (p: FormatterParams) => {
        const step = list[p.dataIndex];
        if (!step) return '';
        return tooltip([
          step.label,
          `${money(step.amount)} (${pct(share(step.amount))} of the bill)`,
          step.note,
        ]);
      },
    },
    xAxis: { type: 'category', data: list.map((step) => step.label) },
    yAxis: { type: 'value', axisLabel: { formatter: moneyTick(data.currency) } },
    series: [
      {
        type: 'bar',
        stack: 'waterfall',
        silent: true,
        itemStyle: { color: 'transparent' },
        data: bases,
      },
      {
        type: 'bar',
        stack: 'waterfall',
        data: list.map((step) => ({ value: Math.abs(step.amount), itemStyle: { color: step.color } })),
      },
    ],
  });
  const body = query('#waterfall-table tbody');
  for (const step of list) {
    body.appendChild(
      el('tr', { 'data-testid': 'waterfall-step' }, [
        el('td', { text: step.label }),
        el('td', { class: 'num', text: money(step.amount), 'data-testid': 'waterfall-amount' }),
        el('td', { class: 'num', text: pct(share(step.amount)) }),
        el('td', { text: step.note }),
      ]),
    );
  }
}
