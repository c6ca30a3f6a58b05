import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ReportData } from './report-data.ts';

/** How many customers the top-customers table lists. */
export const TOP_CUSTOMERS = 15;

let echartsSource: string | undefined;

/**
 * The minified ECharts build, read once. It is inlined so that the report opens without a network; it
 * must not contain text that would end the <script> element early.
 */
export function echartsScript(): string {
  if (echartsSource === undefined) {
    const path = createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js');
    const source = readFileSync(path, 'utf8');
    if (/<\/script|<!--/i.test(source)) {
      throw new Error(`${path} contains "</script" or "<!--" and cannot be inlined as is`);
    }
    echartsSource = source;
  }
  return echartsSource;
}

/**
 * The report data as the text of a <script type="application/json"> element. JSON escapes for `<`,
 * `>` and `&` keep any customer name from closing the element or opening a comment, and U+2028/2029 are
 * escaped for older JavaScript parsers; JSON.parse reads the same data back.
 */
export function reportJson(data: ReportData): string {
  return JSON.stringify(data)
    .replaceAll('<', '\\u003c')
    .replaceAll('>', '\\u003e')
    .replaceAll('&', '\\u0026')
    .replaceAll('\u2028', '\\u2028')
    .replaceAll('\u2029', '\\u2029');
}

function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

// Nothing reaches the network: scripts and styles are inline, images only data: URLs.
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:";

const STYLE = `
:root { --ink: #1f2933; --muted: #5f6b7a; --line: #dde2e8; --panel: #f6f8fa; --accent: #3d6a99; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); background: #fff; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 20px 40px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; font-weight: 600; }
h2 { font-size: 1.15rem; margin: 0 0 4px; font-weight: 600; }
p { margin: 0 0 8px; }
.meta { display: flex; flex-wrap: wrap; gap: 2px 20px; color: var(--muted); font-size: 0.9rem; margin-bottom: 16px; }
.meta span { white-space: nowrap; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: 12px; margin: 12px 0; }
.tile { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; }
.tile .label { color: var(--muted); font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.04em; }
.tile .value { font-size: 1.35rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.tile .note { color: var(--muted); font-size: 0.85rem; }
.ok { color: #2f7a4f; } .bad { color: #b3261e; }
section { margin-top: 28px; break-inside: avoid; }
.hint { color: var(--muted); font-size: 0.9rem; }
.chart { width: 100%; height: 420px; margin-top: 8px; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 16px; font-size: 0.85rem; color: var(--muted); margin-top: 6px; }
.legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
table { border-collapse: collapse; width: 100%; margin-top: 8px; font-size: 0.92rem; }
th, td { padding: 6px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.03em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.badge { display: inline-block; border-radius: 4px; padding: 0 6px; margin: 1px 4px 1px 0; font-size: 0.78rem;
  border: 1px solid; white-space: nowrap; }
.sev-P1 { color: #8c1d18; border-color: #e3a39d; background: #fbeceb; }
.sev-P2 { color: #7a4b00; border-color: #e8c27a; background: #fdf4e3; }
.sev-WARNING { color: #3d4a5c; border-color: #c3cbd6; background: #f1f4f7; }
.bar { display: flex; height: 22px; border-radius: 4px; overflow: hidden; border: 1px solid var(--line); margin-top: 8px; }
.bar div { height: 100%; }
.alerts { list-style: none; padding: 0; margin: 8px 0 0; }
.alerts li { margin: 4px 0; }
.empty { padding: 24px; background: var(--panel); border: 1px dashed var(--line); border-radius: 6px;
  color: var(--muted); text-align: center; }
footer { margin-top: 36px; color: var(--muted); font-size: 0.85rem; border-top: 1px solid var(--line); padding-top: 10px; }
@media (max-width: 700px) {
  table { display: block; overflow-x: auto; }
}
@media print {
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  section { margin-top: 18px; }
  .chart { height: 360px; }
}
`;

const BODY = `
<main>
  <header>
    <h1 id="title">Cost per customer</h1>
    <div class="meta" id="meta"></div>
    <div class="tiles" id="headline"></div>
    <ul class="alerts" id="account-alerts"></ul>
  </header>
  <div class="empty" id="empty" hidden>No cost in this run: the billing data has no line items, so there is nothing to chart.</div>
  <div id="content">
    <section id="section-treemap">
      <h2>Customer cost</h2>
      <p class="hint">Each block is one customer's cost over the billing month, grouped by tier; the colour is the month's cost as a share of the customer's MRR.</p>
      <div class="legend" id="treemap-legend"></div>
      <div class="chart" id="chart-treemap" style="height: 480px"></div>
    </section>
    <section id="section-tiers">
      <h2>Infrastructure gross margin by tier</h2>
      <p class="hint">Margin = 1 − cost / MRR over the month, per tier and plan status. Free and trial accounts have no revenue, so no margin.</p>
      <div class="chart" id="chart-tiers"></div>
      <table id="tier-table"><thead><tr><th>Tier</th><th>Plan</th><th class="num">Customers</th><th class="num">Cost</th><th class="num">MRR</th><th class="num">Median cost</th><th class="num">Margin</th></tr></thead><tbody></tbody></table>
    </section>
    <section id="section-daily">
      <h2>Daily cost</h2>
      <p class="hint">Cost per usage day, split into cost attributed to customers, unattributed and excluded; the line is the unattributed share of attributable cost.</p>
      <div class="chart" id="chart-daily"></div>
    </section>
    <section id="section-top">
      <h2 id="top-title">Top customers by cost</h2>
      <table id="top-customers"><thead><tr><th class="num">#</th><th>Customer</th><th>Tier</th><th>Plan</th><th class="num">Cost</th><th class="num">MRR</th><th class="num">Cost / MRR</th><th>Alerts</th></tr></thead><tbody></tbody></table>
    </section>
    <section id="section-free">
      <h2>Free and trial accounts</h2>
      <p class="hint">What accounts without revenue cost, and how much of it a few of them take.</p>
      <div class="tiles" id="free-tiles"></div>
      <div class="bar" id="free-bar"></div>
      <div class="legend" id="free-legend"></div>
    </section>
  </div>
  <footer id="footer"></footer>
</main>
`;

// The page's own script. Plain ES2020 for the browser; it reads the data from the JSON element and
// writes every value with textContent or through ECharts (tooltips are built as DOM nodes), never as HTML.
const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var TOP = Number(document.getElementById('report-data').getAttribute('data-top'));
  var moneyFormat = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
  var money = function (v) { return v === null || v === undefined ? '–' : moneyFormat.format(v); };
  var pct = function (v, digits) {
    if (v === null || v === undefined) return '–';
    return (v * 100).toFixed(digits === undefined ? 1 : digits) + '%';
  };
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k];
      else if (k === 'style') node.style.cssText = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  function tile(label, value, note, testId, cls) {
    return el('div', { class: 'tile' }, [
      el('div', { class: 'label', text: label }),
      el('div', { class: 'value' + (cls ? ' ' + cls : ''), text: value, 'data-testid': testId }),
      note ? el('div', { class: 'note', text: note }) : null,
    ]);
  }
  function badge(alert) {
    return el('span', { class: 'badge sev-' + alert.severity, text: alert.severity + ' ' + alert.type });
  }
  function tooltip(lines) {
    return el('div', { style: 'font-size:13px;line-height:1.45' }, lines.map(function (line, i) {
      return el('div', { text: line, style: i === 0 ? 'font-weight:600' : '' });
    }));
  }

  // Header.
  var period = data.billingPeriod;
  document.title = 'Cost per customer' + (period ? ' – ' + period : '') + ' – run ' + data.runId;
  document.getElementById('title').textContent = 'Cost per customer' + (period ? ', ' + period : '');
  var meta = document.getElementById('meta');
  var status = data.isComplete === null ? '' : data.isComplete ? 'complete month' : 'open month, partial data';
  var others = data.runBillingPeriods.filter(function (p) { return p !== period; });
  [
    'Run ' + data.runId,
    'Rules ' + data.rulesVersion,
    'Billing month ' + (period || '–') + (status ? ' (' + status + ')' : ''),
    others.length ? 'Also in this run: ' + others.join(', ') : '',
    data.firstDay ? 'Days ' + data.firstDay + ' to ' + data.lastDay + ' (' + data.days.length + ')' : '',
    data.alertsAsOf ? 'Alerts as of ' + data.alertsAsOf + ': ' + data.alerts.length : 'No alerts evaluated',
  ].forEach(function (text) { if (text) meta.appendChild(el('span', { text: text })); });

  var t = data.totals;
  var c = data.conservation;
  var headline = document.getElementById('headline');
  headline.appendChild(tile('Total cost', money(t.totalCost),
    'attributed ' + money(t.attributedCost) + (t.excludedCost ? ', excluded ' + money(t.excludedCost) : ''), 'total-cost'));
  headline.appendChild(tile('Unattributed share', pct(t.unattributedShare, 2),
    money(t.unattributedCost) + ' reached no customer', 'unattributed-share'));
  headline.appendChild(tile('Customers with cost', String(data.customerCount), null, 'customer-count'));
  headline.appendChild(tile('Conservation', c.holds ? 'Holds' : 'Broken',
    c.holds ? 'on every day (' + c.daysChecked + ' checked)' : 'on ' + c.breachDays.length + ' day(s), first ' + c.breachDays[0],
    'conservation', c.holds ? 'ok' : 'bad'));

  var accountAlerts = document.getElementById('account-alerts');
  data.alerts.filter(function (a) { return a.customerId === null; }).forEach(function (a) {
    accountAlerts.appendChild(el('li', null, [badge(a), el('span', { text: a.explanation })]));
  });

  document.getElementById('footer').textContent =
    'Run ' + data.runId + ', rules ' + data.rulesVersion + '. Amounts are rounded to cents for display only; ' +
    'the run\'s CSV and Parquet files hold the unrounded values. Customer alerts are evaluated over the ' +
    '30 days up to their evaluation day, so they need not match the month\'s figures exactly.';

  if (data.days.length === 0) {
    document.getElementById('empty').hidden = false;
    document.getElementById('content').hidden = true;
    return;
  }

  var charts = [];
  function chart(id, option) {
    var instance = echarts.init(document.getElementById(id), null, { renderer: 'svg' });
    instance.setOption(Object.assign({ animation: false, aria: { enabled: true },
      textStyle: { fontFamily: 'system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif' } }, option));
    charts.push(instance);
    return instance;
  }
  function resizeAll() { charts.forEach(function (x) { x.resize(); }); }
  window.addEventListener('resize', resizeAll);
  window.addEventListener('beforeprint', resizeAll);

  // 1. Treemap: customers by tier, sized by cost, coloured by cost / MRR.
  var BANDS = [
    { below: 0.10, color: '#6aa884', label: 'under 10% of MRR' },
    { below: 0.20, color: '#b5cf86', label: '10–20%' },
    { below: 0.25, color: '#f2cd6b', label: '20–25%' },
    { below: 0.50, color: '#e8955a', label: '25–50%' },
    { below: Infinity, color: '#c9543f', label: '50% or more' },
  ];
  var NO_MRR = '#c3c9d1';
  var OTHERS = '#e4e8ec';
  function bandOf(ratio) {
    for (var i = 0; i < BANDS.length; i++) if (ratio < BANDS[i].below) return BANDS[i];
    return BANDS[BANDS.length - 1];
  }
  var legend = document.getElementById('treemap-legend');
  BANDS.forEach(function (b) {
    legend.appendChild(el('span', null, [el('i', { style: 'background:' + b.color }), document.createTextNode(b.label)]));
  });
  legend.appendChild(el('span', null, [el('i', { style: 'background:' + NO_MRR }), document.createTextNode('free or trial (no MRR)')]));

  var tierTotals = {};
  data.tiers.forEach(function (row) {
    var x = tierTotals[row.tier] || (tierTotals[row.tier] = { cost: 0, customers: 0 });
    x.cost += row.totalCost;
    x.customers += row.customers;
  });
  var byTier = {};
  var notDrawn = 0;
  data.customers.forEach(function (cu) {
    var group = byTier[cu.tier] || (byTier[cu.tier] = { shownCost: 0, shown: 0, children: [] });
    group.shownCost += cu.totalCost;
    group.shown += 1;
    if (!(cu.totalCost > 0)) { notDrawn += 1; return; }
    var noMrr = cu.costToMrr === null;
    var color = noMrr ? NO_MRR : bandOf(cu.costToMrr).color;
    group.children.push({
      name: cu.name + (noMrr ? ' (' + cu.planStatus + ')' : ''),
      value: cu.totalCost,
      customer: cu,
      itemStyle: { color: color },
      label: { color: color === '#c9543f' ? '#ffffff' : '#1f2933' },
    });
  });
  var treeData = Object.keys(tierTotals).map(function (tier) {
    var group = byTier[tier] || { shownCost: 0, shown: 0, children: [] };
    var rest = tierTotals[tier].customers - group.shown;
    var restCost = tierTotals[tier].cost - group.shownCost;
    if (rest > 0 && restCost > 0) {
      group.children.push({ name: rest + ' more customers', value: restCost, others: rest,
        itemStyle: { color: OTHERS }, label: { color: '#5f6b7a' } });
    }
    return { name: tier, children: group.children, tierCost: tierTotals[tier].cost,
      tierCustomers: tierTotals[tier].customers };
  }).filter(function (t) { return t.children.length > 0; })
    .sort(function (a, b) { return b.tierCost - a.tierCost; });
  var treeTotal = treeData.reduce(function (sum, t) {
    return sum + t.children.reduce(function (s2, n) { return s2 + n.value; }, 0);
  }, 0);
  if (notDrawn > 0) {
    legend.appendChild(el('span', { text: notDrawn + ' customer(s) with zero or negative cost (credits) not drawn' }));
  }
  chart('chart-treemap', {
    tooltip: {
      formatter: function (p) {
        var d = p.data || {};
        if (d.customer) {
          var cu = d.customer;
          return tooltip([cu.name, 'Tier ' + cu.tier + ', ' + cu.planStatus, 'Cost ' + money(cu.totalCost),
            'MRR ' + money(cu.mrr), cu.costToMrr === null ? 'No MRR' : 'Cost / MRR ' + pct(cu.costToMrr)]);
        }
        if (d.others) return tooltip([p.name, 'Cost ' + money(p.value)]);
        return tooltip([p.name, (d.tierCustomers || 0) + ' customers', 'Cost ' + money(p.value)]);
      },
    },
    series: [{
      type: 'treemap',
      name: 'All customers',
      data: treeData,
      roam: false,
      nodeClick: 'zoomToNode',
      leafDepth: 2,
      top: 8, left: 2, right: 2, bottom: 34,
      breadcrumb: { show: true, bottom: 4, itemStyle: { color: '#eef1f4', borderColor: '#dde2e8', textStyle: { color: '#1f2933' } } },
      // Small blocks cannot hold the label: under 0.5% of the area none, under 2% the name only, as a
      // truncated amount ($10 for $103.04) would mislead. The tooltip always has both.
      label: { show: true, fontSize: 11, lineHeight: 15, overflow: 'truncate', ellipsis: '…',
        formatter: function (p) {
          if (p.value < treeTotal * 0.005) return '';
          return p.value < treeTotal * 0.02 ? p.name : p.name + '\n' + money(p.value);
        } },
      upperLabel: { show: true, height: 22, color: '#1f2933', fontWeight: 600,
        formatter: function (p) { return p.name + '  ' + money(p.value); } },
      levels: [
        { itemStyle: { borderColor: '#ffffff', borderWidth: 0, gapWidth: 4 }, upperLabel: { show: false } },
        { itemStyle: { borderColor: '#eef1f4', borderWidth: 3, gapWidth: 1 }, upperLabel: { show: true } },
        { itemStyle: { borderColor: '#ffffff', borderWidth: 1, gapWidth: 1 } },
      ],
    }],
  });

  // 2. Margin by tier and plan status.
  var withRevenue = data.tiers.filter(function (row) { return row.margin !== null; });
  var tierLabel = function (row) { return row.tier + ' · ' + row.planStatus; };
  var tierChart = document.getElementById('chart-tiers');
  tierChart.style.height = Math.max(160, 46 * withRevenue.length + 70) + 'px';
  chart('chart-tiers', {
    grid: { left: 8, right: 56, top: 16, bottom: 8, outerBoundsMode: 'same', outerBoundsContain: 'axisLabel' },
    tooltip: {
      trigger: 'item',
      formatter: function (p) {
        var row = withRevenue[p.dataIndex];
        return tooltip([tierLabel(row), row.customers + ' customers', 'Cost ' + money(row.totalCost),
          'MRR ' + money(row.totalMrr), 'Median cost ' + money(row.medianCostPerCustomer), 'Margin ' + pct(row.margin)]);
      },
    },
    xAxis: { type: 'value', max: 100, min: function (v) { return Math.min(0, Math.floor(v.min / 10) * 10); },
      axisLabel: { formatter: '{value}%' } },
    yAxis: { type: 'category', inverse: true, data: withRevenue.map(tierLabel) },
    series: [{
      type: 'bar',
      barMaxWidth: 26,
      data: withRevenue.map(function (row) {
        return { value: row.margin * 100, itemStyle: { color: row.margin < 0 ? '#c9543f' : '#3d6a99' } };
      }),
      label: { show: true, position: 'right', formatter: function (p) { return p.value.toFixed(1) + '%'; } },
    }],
  });
  var tierBody = document.querySelector('#tier-table tbody');
  data.tiers.forEach(function (row) {
    tierBody.appendChild(el('tr', null, [
      el('td', { text: row.tier }), el('td', { text: row.planStatus }),
      el('td', { class: 'num', text: String(row.customers) }), el('td', { class: 'num', text: money(row.totalCost) }),
      el('td', { class: 'num', text: money(row.totalMrr) }), el('td', { class: 'num', text: money(row.medianCostPerCustomer) }),
      el('td', { class: 'num', text: row.margin === null ? 'no revenue' : pct(row.margin) }),
    ]));
  });

  // 3. Daily cost with the unattributed share.
  var anyExcluded = data.days.some(function (d) { return d.excludedCost !== 0; });
  var dailySeries = [
    { name: 'Attributed', type: 'bar', stack: 'cost', itemStyle: { color: '#3d6a99' },
      data: data.days.map(function (d) { return d.attributedCost; }) },
    { name: 'Unattributed', type: 'bar', stack: 'cost', itemStyle: { color: '#e8955a' },
      data: data.days.map(function (d) { return d.unattributedCost; }) },
  ];
  if (anyExcluded) {
    dailySeries.push({ name: 'Excluded', type: 'bar', stack: 'cost', itemStyle: { color: '#c3c9d1' },
      data: data.days.map(function (d) { return d.excludedCost; }) });
  }
  dailySeries.push({ name: 'Unattributed share', type: 'line', yAxisIndex: 1, symbol: 'circle', symbolSize: 5,
    itemStyle: { color: '#9e2a2b' }, lineStyle: { width: 2 },
    data: data.days.map(function (d) { return d.unattributedPct * 100; }) });
  chart('chart-daily', {
    legend: { top: 0 },
    grid: { left: 8, right: 8, top: 40, bottom: 8, outerBoundsMode: 'same', outerBoundsContain: 'all' },
    tooltip: {
      trigger: 'axis',
      formatter: function (ps) {
        var day = data.days[ps[0].dataIndex];
        return tooltip([day.date, 'Total ' + money(day.totalCost), 'Attributed ' + money(day.attributedCost),
          'Unattributed ' + money(day.unattributedCost) + ' (' + pct(day.unattributedPct) + ')',
          'Excluded ' + money(day.excludedCost)]);
      },
    },
    xAxis: { type: 'category', data: data.days.map(function (d) { return d.date.slice(5); }) },
    yAxis: [
      { type: 'value', name: 'Cost', axisLabel: { formatter: function (v) { return '$' + v.toLocaleString('en-US'); } } },
      { type: 'value', name: 'Unattributed', min: 0, splitLine: { show: false }, axisLabel: { formatter: '{value}%' } },
    ],
    series: dailySeries,
  });

  // 4. Top customers.
  var top = data.customers.slice(0, TOP);
  document.getElementById('top-title').textContent = 'Top ' + top.length + ' customers by cost';
  var topBody = document.querySelector('#top-customers tbody');
  top.forEach(function (cu, i) {
    topBody.appendChild(el('tr', null, [
      el('td', { class: 'num', text: String(i + 1) }),
      el('td', { text: cu.name, 'data-testid': 'customer-name', title: cu.customerId }),
      el('td', { text: cu.tier }), el('td', { text: cu.planStatus }),
      el('td', { class: 'num', text: money(cu.totalCost), 'data-testid': 'customer-cost' }),
      el('td', { class: 'num', text: money(cu.mrr) }),
      el('td', { class: 'num', text: cu.costToMrr === null ? 'no MRR' : pct(cu.costToMrr) }),
      el('td', null, cu.alerts.map(badge)),
    ]));
  });

  // 5. Free and trial accounts.
  var f = data.freeTier;
  var freeTiles = document.getElementById('free-tiles');
  if (!f || f.accounts === 0) {
    freeTiles.appendChild(el('p', { class: 'hint', text: 'No free or trial account has cost in this month.' }));
    document.getElementById('free-bar').hidden = true;
  } else {
    freeTiles.appendChild(tile('Free and trial accounts', String(f.accounts), null, 'free-accounts'));
    freeTiles.appendChild(tile('Their cost', money(f.freeTrialCost),
      'free ' + money(f.freeCost) + ', trial ' + money(f.trialCost), 'free-cost'));
    freeTiles.appendChild(tile('Share of customer cost', pct(f.shareOfCustomerCost), 'of ' + money(f.customerCost), 'free-share'));
    freeTiles.appendChild(tile('Top 10% of them', pct(f.top10PctShare), f.top10PctAccounts + ' account(s) take this share', 'free-top10'));
    freeTiles.appendChild(tile('Top 20% of them', pct(f.top20PctShare), f.top20PctAccounts + ' account(s) take this share', 'free-top20'));
    var s10 = f.top10PctShare || 0;
    var s20 = f.top20PctShare || 0;
    var parts = [
      { share: s10, color: '#c9543f', label: 'top 10% (' + f.top10PctAccounts + ') ' + pct(s10) },
      { share: s20 - s10, color: '#e8955a', label: 'next 10% ' + pct(s20 - s10) },
      { share: 1 - s20, color: '#c3c9d1', label: 'the other ' + (f.accounts - f.top20PctAccounts) + ' ' + pct(1 - s20) },
    ];
    var bar = document.getElementById('free-bar');
    var freeLegend = document.getElementById('free-legend');
    parts.forEach(function (part) {
      bar.appendChild(el('div', { style: 'width:' + Math.max(0, part.share * 100).toFixed(3) + '%;background:' + part.color }));
      freeLegend.appendChild(el('span', null, [el('i', { style: 'background:' + part.color }), document.createTextNode(part.label)]));
    });
  }
})();
`;

/**
 * The self-contained HTML report of one billing month: the data as JSON, ECharts and the page's script
 * inline, nothing fetched. Pure apart from reading the ECharts build once.
 */
export function renderReportHtml(data: ReportData): string {
  const title = `Cost per customer${data.billingPeriod ? ` – ${data.billingPeriod}` : ''} – run ${data.runId}`;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    BODY,
    `<script type="application/json" id="report-data" data-top="${TOP_CUSTOMERS}">${reportJson(data)}</script>`,
    `<script>${echartsScript()}</script>`,
    `<script>${PAGE_SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
