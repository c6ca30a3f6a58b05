import { byId, customerButton, el, query } from './dom.ts';
import { growth, moneyIn, signedMoneyIn } from './format.ts';
import type { MonthView } from './month-view.ts';

/**
 * Top movers: the customers whose cost changed most from the previous month, either way (new customers
 * and those whose cost ended included). A customer the month lists opens its drill-down.
 */
export function renderMovers(view: MonthView): void {
  const money = moneyIn(view.currency);
  const signed = signedMoneyIn(view.currency);
  const listed = new Set(view.customers.map((cu) => cu.customerId));
  const note = byId('movers-note');
  byId('top-movers').hidden = view.movers.length === 0;
  note.textContent =
    view.previousPeriod === null
      ? `Needs the month before ${view.billingPeriod} in the run.`
      : `Change from ${view.previousPeriod}, largest first, up or down.`;
  query('#top-movers tbody').replaceChildren(
    ...view.movers.map((m, i) =>
      el('tr', null, [
        el('td', { class: 'num', text: String(i + 1) }),
        el('td', { 'data-testid': 'mover-name', title: m.customerId }, [
          listed.has(m.customerId) ? customerButton(m.name, m.customerId) : document.createTextNode(m.name),
        ]),
        el('td', { text: m.tier }),
        el('td', { class: 'num', text: money(m.previousCost) }),
        el('td', { class: 'num', text: money(m.totalCost) }),
        el('td', {
          class: `num ${m.costChange > 0 ? 'bad' : 'ok'}`,
          text: signed(m.costChange),
          'data-testid': 'mover-change',
        }),
        el('td', { class: 'num', text: m.previousCost === 0 ? 'new' : growth(m.costGrowth) }),
      ]),
    ),
  );
}
