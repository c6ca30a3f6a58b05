/**
 * The report page's script (bundled by lib/report/render-report.ts into one inline script). It reads the
 * data from the JSON element and writes every value with textContent or through ECharts, tooltips built
 * as DOM nodes, never as HTML: customer names come from the customers file and may hold markup.
 */
import type { ReportData } from '../report-data.ts';
import { renderAlertList } from './alert-list.ts';
import { resizeChartsWithWindow } from './charts.ts';
import { renderDailyChart } from './daily-chart.ts';
import { badge, byId, el, tile } from './dom.ts';
import { moneyIn, pct } from './format.ts';
import { renderFreeTier } from './free-tier.ts';
import { renderTierMargin } from './tier-margin.ts';
import { renderTopCustomers } from './top-customers.ts';
import { renderTreemap } from './treemap.ts';
import { renderWaterfall } from './waterfall.ts';
import { renderWorstMargins } from './worst-margins.ts';

function renderHeader(data: ReportData): void {
  const money = moneyIn(data.currency);
  const period = data.billingPeriod;
  document.title = `Cost per customer${period ? ` – ${period}` : ''} – run ${data.runId}`;
  byId('title').textContent = `Cost per customer${period ? `, ${period}` : ''}`;
  const status =
    data.isComplete === null ? '' : data.isComplete ? 'complete month' : 'open month, partial data';
  const others = data.runBillingPeriods.filter((p) => p !== period);
  const meta = byId('meta');
  for (const text of [
    `Run ${data.runId}`,
    `Rules ${data.rulesVersion}`,
    `Currency ${data.currency}`,
    `Cost basis ${data.costBasis.replace('_', ' ')}`,
    `Billing month ${period || '–'}${status ? ` (${status})` : ''}`,
    others.length ? `Also in this run: ${others.join(', ')}` : '',
    data.firstDay ? `Days ${data.firstDay} to ${data.lastDay} (${data.days.length})` : '',
    data.alertsAsOf ? `Alerts as of ${data.alertsAsOf}: ${data.alerts.length}` : 'No alerts evaluated',
  ]) {
    if (text) meta.appendChild(el('span', { text }));
  }

  const t = data.totals;
  const c = data.conservation;
  const headline = byId('headline');
  headline.appendChild(
    tile(
      'Total cost',
      money(t.totalCost),
      `attributed ${money(t.attributedCost)}${t.excludedCost ? `, excluded ${money(t.excludedCost)}` : ''}`,
      'total-cost',
    ),
  );
  headline.appendChild(
    tile(
      'Unattributed share',
      pct(t.unattributedShare, 2),
      `${money(t.unattributedCost)} reached no customer`,
      'unattributed-share',
    ),
  );
  headline.appendChild(tile('Customers with cost', String(data.customerCount), null, 'customer-count'));
  headline.appendChild(
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

  // Alerts about a customer are badges in the top-customers table; the others belong to the account.
  const accountAlerts = byId('account-alerts');
  for (const alert of data.alerts) {
    if (alert.customerId !== null) continue;
    accountAlerts.appendChild(el('li', null, [badge(alert), el('span', { text: alert.explanation })]));
  }

  byId('footer').textContent =
    `Run ${data.runId}, rules ${data.rulesVersion}. Amounts are in ${data.currency}, rounded to its ` +
    "minor unit for display only; the run's CSV and Parquet files hold the unrounded values. Customer " +
    "alerts are evaluated over the 30 days up to their evaluation day, so they need not match the month's " +
    'figures exactly.';
}

function render(data: ReportData, topCustomers: number): void {
  renderHeader(data);
  renderAlertList(data);
  if (data.days.length === 0) {
    byId('empty').hidden = false;
    byId('content').hidden = true;
    return;
  }
  resizeChartsWithWindow();
  renderWaterfall(data);
  renderTreemap(data);
  renderTierMargin(data);
  renderDailyChart(data);
  renderTopCustomers(data, topCustomers);
  renderWorstMargins(data);
  renderFreeTier(data);
}

const dataElement = byId('report-data');
render(JSON.parse(dataElement.textContent ?? '') as ReportData, Number(dataElement.getAttribute('data-top')));
// What the report benchmark and the browser tests wait for: everything is drawn.
performance.mark('cpc-report-rendered');
document.documentElement.dataset.rendered = 'true';
