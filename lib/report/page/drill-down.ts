import type { DRILL_DOWN_CUSTOMERS, ReportCustomer, ReportDrillDown } from '../report-data.ts';
import { chart, disposeChartIn, type FormatterParams } from './charts.ts';
import { badge, byId, el, query, tile, tooltip } from './dom.ts';
import { moneyIn, moneyTick, pct, unitMoneyIn } from './format.ts';
import type { MonthView } from './month-view.ts';

/** The days of a month MRR is spread over for the reference line: MRR / 30, as the alerts compare. */
const DAYS_PER_MONTH = 30;

interface Share {
  readonly label: readonly string[];
  readonly cost: number;
}
function shareTable(
  id: string,
  headers: readonly string[],
  rows: readonly Share[],
  total: number,
  money: (value: number) => string,
): void {
  const table = byId(id);
  table.replaceChildren(
    el('thead', null, [
      el('tr', null, [
        ...headers.map((header) => el('th', { text: header })),
        el('th', { class: 'num', text: 'Cost' }),
        el('th', { class: 'num', text: 'Share' }),
      ]),
    ]),
    el(
      'tbody',
      null,
      rows.map((row) =>
        el('tr', null, [
          ...row.label.map((text) => el('td', { text })),
          el('td', { class: 'num', text: money(row.cost), 'data-testid': 'share-cost' }),
          el('td', { class: 'num', text: total === 0 ? '–' : pct(row.cost / total) }),
        ]),
      ),
    ),
  );
}

/** The daily cost line of the customer, with MRR / 30 as the reference it is compared with. */
function renderDailyLine(view: MonthView, customer: ReportCustomer, drill: ReportDrillDown): void {
  const money = moneyIn(view.currency);
  const mrrOn = (i: number) => drill.dailyMrr?.[i] ?? (drill.dailyCost[i] === null ? null : customer.mrr);
  const reference = view.days.map((_, i) => {
    const mrr = mrrOn(i) ?? customer.mrr;
    return mrr / DAYS_PER_MONTH;
  });
  disposeChartIn('chart-drilldown');
  chart('chart-drilldown', {
    legend: { top: 0 },
    grid: { left: 8, right: 8, top: 36, bottom: 8, outerBoundsMode: 'same', outerBoundsContain: 'all' },
    tooltip: {
      trigger: 'axis',
      formatter: (ps: readonly FormatterParams[]) => {
        const i = ps[0]?.dataIndex ?? 0;
        const day = view.days[i];
        if (!day) return '';
        const cost = drill.dailyCost[i];
        return tooltip([
          day.date,
          cost === null || cost === undefined ? 'No cost' : `Cost ${money(cost)}`,
          `MRR / 30 ${money(reference[i])}`,
        ]);
      },
    },
    xAxis: { type: 'category', data: view.days.map((d) => d.date.slice(5)) },
    yAxis: { type: 'value', axisLabel: { formatter: moneyTick(view.currency) } },
    series: [
      {
        name: 'Daily cost',
        type: 'line',
        symbol: 'circle',
        symbolSize: 5,
        connectNulls: false,
        itemStyle: { color: '#3d6a99' },
        data: drill.dailyCost,
      },
      {
        name: 'MRR / 30',
        type: 'line',
        symbol: 'none',
        lineStyle: { type: 'dashed', width: 1.5 },
        itemStyle: { color: '#9e2a2b' },
        data: customer.mrr === 0 && drill.dailyMrr === null ? [] : reference,
      },
    ],
  });
}

function renderUnitCosts(view: MonthView, drill: ReportDrillDown): void {
  const unitMoney = unitMoneyIn(view.currency);
  const money = moneyIn(view.currency);
  const body = query('#drilldown-unit-costs tbody');
  body.replaceChildren(
    ...drill.unitCosts.map(([metricIndex, units, metricCost, costPerUnit, customerCostPerUnit]) => {
      const metric = view.drillDownNames.metrics[metricIndex];
      return el('tr', { 'data-testid': 'drilldown-unit-cost' }, [
        el('td', { text: metric?.metric ?? '' }),
        el('td', {
          class: 'num',
          text: `${units.toLocaleString('en-US', { maximumFractionDigits: 2 })} × ${metric?.unit ?? ''}`,
        }),
        el('td', { class: 'num', text: money(metricCost) }),
        el('td', { class: 'num', text: unitMoney(costPerUnit) }),
        el('td', { class: 'num', text: unitMoney(metric?.averageCostPerUnit) }),
        el('td', { class: 'num', text: unitMoney(customerCostPerUnit) }),
      ]);
    }),
  );
  byId('drilldown-unit-costs-empty').hidden = drill.unitCosts.length > 0;
}

/**
 * Opens a listed customer's drill-down below the treemap: its month, its daily cost against MRR / 30,
 * its cost by service and by rule (which sum to its cost), its alerts and its unit costs. A listed
 * customer beyond the costliest {@link DRILL_DOWN_CUSTOMERS} shows its month's figures and a note.
 */
export function openDrillDown(view: MonthView, customerId: string): void {
  const customer = view.customers.find((cu) => cu.customerId === customerId);
  if (customer === undefined) return;
  const drill = view.drillDowns[customerId];
  const money = moneyIn(view.currency);
  const section = byId('section-drilldown');
  section.hidden = false;
  section.dataset.customerId = customerId;
  byId('drilldown-title').textContent = `${customer.name}, ${view.billingPeriod}`;
  byId('drilldown-meta').textContent =
    `Customer ${customer.customerId}, tier ${customer.tier}, ${customer.planStatus}, cost on ${customer.daysWithCost} day(s)`;
  byId('drilldown-tiles').replaceChildren(
    tile(
      'Cost',
      money(customer.totalCost),
      `direct ${money(customer.directCost)}, shared ${money(customer.sharedCost)}`,
      'drilldown-cost',
    ),
    tile('MRR', money(customer.mrr), null, 'drilldown-mrr'),
    tile(
      'Cost / MRR',
      customer.costToMrr === null ? 'no MRR' : pct(customer.costToMrr),
      customer.costToMrr === null
        ? `a ${customer.planStatus} account`
        : `margin ${pct(1 - customer.costToMrr)}`,
      'drilldown-ratio',
    ),
  );
  // The file carries the daily line and breakdowns of the costliest customers and the worst margins only.
  byId('drilldown-details').hidden = drill === undefined;
  byId('drilldown-not-carried').hidden = drill !== undefined;
  if (drill === undefined) {
    disposeChartIn('chart-drilldown');
    section.scrollIntoView({ block: 'start' });
    return;
  }
  renderDailyLine(view, customer, drill);
  const names = view.drillDownNames;
  shareTable(
    'drilldown-services',
    ['Provider', 'Service'],
    drill.services.map(([i, cost]) => ({ label: names.services[i] ?? ['', ''], cost })),
    customer.totalCost,
    money,
  );
  shareTable(
    'drilldown-rules',
    ['Rule'],
    drill.rules.map(([i, cost]) => ({ label: [names.rules[i] ?? ''], cost })),
    customer.totalCost,
    money,
  );
  const alerts = view.alerts.filter((alert) => alert.customerId === customerId);
  byId('drilldown-alerts').replaceChildren(
    ...(alerts.length === 0
      ? [el('li', { class: 'hint', text: 'No alert about this customer in this run.' })]
      : alerts.map((alert) =>
          el('li', { 'data-testid': 'drilldown-alert' }, [
            badge(alert),
            el('span', { text: alert.explanation }),
          ]),
        )),
  );
  renderUnitCosts(view, drill);
  section.scrollIntoView({ block: 'start' });
}

/** Closes the drill-down (its close button). */
export function closeDrillDown(): void {
  const section = byId('section-drilldown');
  section.hidden = true;
  delete section.dataset.customerId;
  disposeChartIn('chart-drilldown');
}
