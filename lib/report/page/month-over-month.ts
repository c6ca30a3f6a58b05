import type { ReportMonth } from '../report-data.ts';
import { byId, el, query } from './dom.ts';
import { growth, moneyIn, pct, points, signedMoneyIn } from './format.ts';
import type { MonthView } from './month-view.ts';

/** The month-level figures compared from one month to the next. */
interface MonthFigures {
  readonly totalCost: number;
  readonly attributedCost: number;
  readonly unattributedShare: number | null;
  readonly customers: number;
  readonly paidMrr: number;
  readonly paidCost: number;
  /** 1 - paid customers' cost / paid MRR; null without paid MRR. */
  readonly attributedMargin: number | null;
  /** 1 - paid rows' fully loaded cost / paid MRR; null without paid MRR. */
  readonly fullyLoadedMargin: number | null;
  /** Customers' cost / customers with cost; null without customers. */
  readonly costPerCustomer: number | null;
}

/** The figures of a month, summed from its tier rows and totals. */
export function monthFigures(month: ReportMonth): MonthFigures {
  const paid = month.tiers.filter((tier) => tier.totalMrr > 0);
  const paidMrr = paid.reduce((sum, tier) => sum + tier.totalMrr, 0);
  const paidCost = paid.reduce((sum, tier) => sum + tier.totalCost, 0);
  const fullyLoaded = paid.reduce((sum, tier) => sum + (tier.fullyLoadedCost ?? tier.totalCost), 0);
  const customerCost = month.tiers.reduce((sum, tier) => sum + tier.totalCost, 0);
  return {
    totalCost: month.totals.totalCost,
    attributedCost: month.totals.attributedCost,
    unattributedShare: month.totals.unattributedShare,
    customers: month.customerCount,
    paidMrr,
    paidCost,
    attributedMargin: paidMrr === 0 ? null : 1 - paidCost / paidMrr,
    fullyLoadedMargin: paidMrr === 0 ? null : 1 - fullyLoaded / paidMrr,
    costPerCustomer: month.customerCount === 0 ? null : customerCost / month.customerCount,
  };
}

/**
 * Month-over-month: this month's headline figures beside the previous calendar month's, when the run
 * holds it, with the change (money with its sign and growth, shares in percentage points).
 */
export function renderMonthOverMonth(view: MonthView): void {
  const previous = view.previous;
  const note = byId('mom-note');
  const table = byId('mom-table');
  if (previous === null) {
    table.hidden = true;
    note.textContent = `The run does not hold the month before ${view.billingPeriod}, so there is nothing to compare with.`;
    return;
  }
  const money = moneyIn(view.currency);
  const signed = signedMoneyIn(view.currency);
  const now = monthFigures(view);
  const before = monthFigures(previous);
  query('#mom-table thead').replaceChildren(
    el('tr', null, [
      el('th', { text: 'Figure' }),
      el('th', { class: 'num', text: previous.billingPeriod }),
      el('th', { class: 'num', text: view.billingPeriod }),
      el('th', { class: 'num', text: 'Change' }),
    ]),
  );
  const moneyRow = (label: string, a: number, b: number) =>
    [label, money(a), money(b), `${signed(b - a)} (${growth(a === 0 ? null : b / a - 1)})`] as const;
  const ratioRow = (label: string, a: number | null, b: number | null) =>
    [label, pct(a), pct(b), a === null || b === null ? '–' : points(b - a)] as const;
  const rows = [
    moneyRow('Total cost', before.totalCost, now.totalCost),
    moneyRow('Attributed to customers', before.attributedCost, now.attributedCost),
    ratioRow('Unattributed share', before.unattributedShare, now.unattributedShare),
    [
      'Customers with cost',
      String(before.customers),
      String(now.customers),
      `${now.customers - before.customers >= 0 ? '+' : '−'}${Math.abs(now.customers - before.customers)}`,
    ] as const,
    [
      'Cost per customer',
      money(before.costPerCustomer),
      money(now.costPerCustomer),
      before.costPerCustomer === null || now.costPerCustomer === null
        ? '–'
        : `${signed(now.costPerCustomer - before.costPerCustomer)} (${growth(before.costPerCustomer === 0 ? null : now.costPerCustomer / before.costPerCustomer - 1)})`,
    ] as const,
    moneyRow('Paid MRR', before.paidMrr, now.paidMrr),
    ratioRow('Attributed margin (paid)', before.attributedMargin, now.attributedMargin),
    ratioRow('Fully loaded margin (paid)', before.fullyLoadedMargin, now.fullyLoadedMargin),
  ];
  query('#mom-table tbody').replaceChildren(
    ...rows.map(([label, a, b, change]) =>
      el('tr', { 'data-testid': 'mom-row' }, [
        el('th', { text: label }),
        el('td', { class: 'num', text: a }),
        el('td', { class: 'num', text: b }),
        el('td', { class: 'num', text: change }),
      ]),
    ),
  );
  note.textContent =
    view.isComplete === false
      ? `${view.billingPeriod} is still open (partial data): a partial month meets a full one, so wait until it is complete before reading the change.`
      : '';
}
