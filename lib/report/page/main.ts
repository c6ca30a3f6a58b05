/**
 * The report page's script (bundled by lib/report/render-report.ts into one inline script). It reads the
 * data from the JSON element and writes every value with textContent or through ECharts, tooltips built
 * as DOM nodes, never as HTML: customer names come from the customers file and may hold markup.
 *
 * The run-wide parts (what the run is, the month selector, warnings, every alert) are drawn once; the
 * month's sections are cloned from `#month-template` and drawn again when another month is chosen.
 */
import type { ReportData, ReportMonth } from '../report-data.ts';
import { renderAlertList } from './alert-list.ts';
import { disposeCharts, resizeChartsWithWindow } from './charts.ts';
import { renderDailyChart } from './daily-chart.ts';
import { badge, byId, el, tile } from './dom.ts';
import { closeDrillDown, openDrillDown } from './drill-down.ts';
import { moneyIn, pct } from './format.ts';
import { renderFreeTier } from './free-tier.ts';
import { renderMonthOverMonth } from './month-over-month.ts';
import type { MonthView } from './month-view.ts';
import { renderMovers } from './movers.ts';
import { renderTierMargin } from './tier-margin.ts';
import { renderTopCustomers } from './top-customers.ts';
import { renderTreemap } from './treemap.ts';
import { renderUnitCosts } from './unit-costs.ts';
import { renderWaterfall } from './waterfall.ts';
import { renderWorstMargins } from './worst-margins.ts';

/** The headline of a run without billing data: nothing cost anything, and no day was checked. */
const NO_TOTALS: ReportMonth['totals'] = {
  totalCost: 0,
  directCost: 0,
  sharedCost: 0,
  attributedCost: 0,
  unattributedCost: 0,
  excludedCost: 0,
  unattributedShare: null,
};
const NO_DAYS_CHECKED: ReportMonth['conservation'] = {
  holds: true,
  daysChecked: 0,
  breachDays: [],
  maxAbsDifference: 0,
};

function monthLabel(month: ReportMonth): string {
  return `${month.billingPeriod}${month.isComplete === false ? ' (open)' : ''}`;
}

/** What the run is: drawn once, whatever month is shown. */
function renderRun(data: ReportData, onMonth: (period: string) => void): void {
  const meta = byId('meta');
  for (const text of [
    `Run ${data.runId}`,
    `Rules ${data.rulesVersion}`,
    `Currency ${data.currency}`,
    `Cost basis ${data.costBasis.replace('_', ' ')}`,
    data.alertsAsOf ? `Alerts as of ${data.alertsAsOf}: ${data.alerts.length}` : 'No alerts evaluated',
  ]) {
    meta.appendChild(el('span', { text }));
  }
  const select = byId('month-select') as HTMLSelectElement;
  for (const month of data.months) {
    select.appendChild(el('option', { value: month.billingPeriod, text: monthLabel(month) }));
  }
  byId('month-picker').hidden = data.months.length === 0;
  select.addEventListener('change', () => onMonth(select.value));

  // Alerts about a customer are badges in the customer tables; the others belong to the account.
  const accountAlerts = byId('account-alerts');
  for (const alert of data.alerts) {
    if (alert.customerId !== null) continue;
    accountAlerts.appendChild(el('li', null, [badge(alert), el('span', { text: alert.explanation })]));
  }
  const warnings = byId('warnings');
  warnings.hidden = data.warnings.length === 0;
  for (const warning of data.warnings) warnings.appendChild(el('li', { text: warning }));

  byId('footer').textContent =
    `Run ${data.runId}, rules ${data.rulesVersion}. Amounts are in ${data.currency}, rounded to its ` +
    "minor unit for display only; the run's CSV and Parquet files hold the unrounded values (the " +
    'drill-downs carry them to a millionth). Customer alerts are evaluated over the 30 days up to their ' +
    "evaluation day, so they need not match a month's figures exactly.";
}

function renderMonthHeader(view: MonthView, runId: string): void {
  const money = moneyIn(view.currency);
  const period = view.billingPeriod;
  document.title = `Cost per customer – ${period} – run ${runId}`;
  byId('title').textContent = `Cost per customer, ${period}`;
  const status =
    view.isComplete === null ? '' : view.isComplete ? 'complete month' : 'open month, partial data';
  byId('month-meta').replaceChildren(
    ...[
      `Billing month ${period}${status ? ` (${status})` : ''}`,
      view.firstDay ? `Days ${view.firstDay} to ${view.lastDay} (${view.days.length})` : '',
    ]
      .filter((text) => text !== '')
      .map((text) => el('span', { text })),
  );

  renderHeadline(view.totals, view.conservation, view.customerCount, money);
}

/** The headline tiles: a month's, or zeros for a run without billing data. */
function renderHeadline(
  t: ReportMonth['totals'],
  c: ReportMonth['conservation'],
  customerCount: number,
  money: (value: number) => string,
): void {
  byId('headline').replaceChildren(
    tile(
      'Total cost',
      money(t.totalCost),
      `attributed ${money(t.attributedCost)}${t.excludedCost ? `, excluded ${money(t.excludedCost)}` : ''}`,
      'total-cost',
    ),
    tile(
      'Unattributed share',
      pct(t.unattributedShare, 2),
      `${money(t.unattributedCost)} reached no customer`,
      'unattributed-share',
    ),
    tile('Customers with cost', String(customerCount), null, 'customer-count'),
    tile(
      'Conservation',
      c.holds ? 'Holds' : 'Broken',
      c.holds
        ? `on every day (${c.daysChecked} checked)`
        : `on ${c.breachDays.length} day(s), first ${c.breachDays[0]}`,
      'conservation',
      c.holds ? 'ok' : 'bad',
    ),
  );
}

/** Draws one month's sections into a fresh copy of the template. */
function showMonth(data: ReportData, period: string | null, topCustomers: number): void {
  disposeCharts();
  const month = data.months.find((m) => m.billingPeriod === period);
  const container = byId('month');
  container.replaceChildren((byId('month-template') as HTMLTemplateElement).content.cloneNode(true));
  if (month === undefined || month.days.length === 0) {
    byId('empty').hidden = false;
    byId('content').hidden = true;
    if (month === undefined) renderHeadline(NO_TOTALS, NO_DAYS_CHECKED, 0, moneyIn(data.currency));
    if (month !== undefined) {
      byId('empty').textContent =
        `No cost in ${month.billingPeriod}: its billing data has no line items, so there is nothing to chart.`;
      renderMonthHeader(
        { ...month, currency: data.currency, alerts: data.alerts, previous: null },
        data.runId,
      );
    }
    return;
  }
  const previous = data.months.find((m) => m.billingPeriod === month.previousPeriod) ?? null;
  const view: MonthView = { ...month, currency: data.currency, alerts: data.alerts, previous };
  (byId('month-select') as HTMLSelectElement).value = month.billingPeriod;
  byId('month').dataset.period = month.billingPeriod;
  shownMonth = view;
  renderMonthHeader(view, data.runId);
  renderWaterfall(view);
  renderMonthOverMonth(view);
  renderTreemap(view, (customerId) => openDrillDown(view, customerId));
  renderTierMargin(view);
  renderDailyChart(view);
  renderTopCustomers(view, topCustomers);
  renderWorstMargins(view);
  renderMovers(view);
  renderUnitCosts(view);
  renderFreeTier(view);
  byId('drilldown-close').addEventListener('click', closeDrillDown);
}

/** The month on the page, which a click on a customer's name opens the drill-down in. */
let shownMonth: MonthView | null = null;

function render(data: ReportData, topCustomers: number): void {
  renderRun(data, (period) => {
    showMonth(data, period, topCustomers);
    markRendered();
  });
  renderAlertList(data);
  resizeChartsWithWindow();
  // Every customer name drawn as a button (customerButton) opens its drill-down; the listener is on the
  // container, which stays while the months drawn into it change.
  byId('month').addEventListener('click', (event) => {
    const target = (event.target as Element | null)?.closest('[data-customer-id]');
    if (shownMonth !== null && target instanceof HTMLElement && target.dataset.customerId) {
      openDrillDown(shownMonth, target.dataset.customerId);
    }
  });
  showMonth(data, data.defaultPeriod, topCustomers);
}

/** What the report benchmark and the browser tests wait for: everything is drawn. */
function markRendered(): void {
  performance.mark('cpc-report-rendered');
  document.documentElement.dataset.rendered = 'true';
}

const dataElement = byId('report-data');
render(JSON.parse(dataElement.textContent ?? '') as ReportData, Number(dataElement.getAttribute('data-top')));
markRendered();
