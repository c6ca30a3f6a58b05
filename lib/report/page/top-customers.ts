import { badge, byId, customerButton, el, query } from './dom.ts';
import { moneyIn, pct } from './format.ts';
import type { MonthView } from './month-view.ts';

/** Section 4: the `count` costliest customers (data.customers is sorted by cost) with their alerts. */
export function renderTopCustomers(data: MonthView, count: number): void {
  const money = moneyIn(data.currency);
  const top = data.customers.slice(0, count);
  byId('top-title').textContent = `Top ${top.length} customers by cost`;
  const body = query('#top-customers tbody');
  top.forEach((cu, i) => {
    body.appendChild(
      el('tr', null, [
        el('td', { class: 'num', text: String(i + 1) }),
        el('td', { 'data-testid': 'customer-name', title: cu.customerId }, [
          customerButton(cu.name, cu.customerId),
        ]),
        el('td', { text: cu.tier }),
        el('td', { text: cu.planStatus }),
        el('td', { class: 'num', text: money(cu.totalCost), 'data-testid': 'customer-cost' }),
        el('td', { class: 'num', text: money(cu.mrr) }),
        el('td', { class: 'num', text: cu.costToMrr === null ? 'no MRR' : pct(cu.costToMrr) }),
        el('td', null, cu.alerts.map(badge)),
      ]),
    );
  });
}
