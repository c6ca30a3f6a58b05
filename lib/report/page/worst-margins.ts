import { badge, byId, customerButton, el, query } from './dom.ts';
import { moneyIn, pct } from './format.ts';
import type { MonthView } from './month-view.ts';

/** How many rows the worst-margins table shows (data.customers holds WORST_MARGINS of them at least). */
const ROWS = 10;

/**
 * The customers that cost the most for what they pay: ranked by cost / MRR, not by cost, so that a small
 * account losing money is not hidden behind large profitable ones. Customers without MRR have no ratio.
 */
export function renderWorstMargins(data: MonthView): void {
  const money = moneyIn(data.currency);
  const ranked = data.customers
    .filter((cu) => cu.costToMrr !== null)
    .sort((a, b) => (b.costToMrr ?? 0) - (a.costToMrr ?? 0) || a.customerId.localeCompare(b.customerId))
    .slice(0, ROWS);
  byId('section-worst').hidden = ranked.length === 0;
  const body = query('#worst-margins tbody');
  ranked.forEach((cu, i) => {
    const ratio = cu.costToMrr ?? 0;
    body.appendChild(
      el('tr', null, [
        el('td', { class: 'num', text: String(i + 1) }),
        el('td', { 'data-testid': 'worst-name', title: cu.customerId }, [
          customerButton(cu.name, cu.customerId),
        ]),
        el('td', { text: cu.tier }),
        el('td', { class: 'num', text: money(cu.totalCost) }),
        el('td', { class: 'num', text: money(cu.mrr) }),
        el('td', { class: `num${ratio >= 1 ? ' bad' : ''}`, text: pct(ratio), 'data-testid': 'worst-ratio' }),
        el('td', { class: 'num', text: pct(1 - ratio) }),
        el('td', null, cu.alerts.map(badge)),
      ]),
    );
  });
}
