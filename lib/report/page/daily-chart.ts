import { type ChartOption, chart, type FormatterParams } from './charts.ts';
import { byId, el, tooltip } from './dom.ts';
import { moneyIn, moneyTick, pct } from './format.ts';
import type { MonthView } from './month-view.ts';

/**
 * Section 3: cost per usage day, stacked into attributed and unattributed cost, with the unattributed
 * share of attributable cost as a line on its own axis. Excluded cost (tax, and what the rules exclude)
 * is listed apart, below the chart: the month's tax lands on one day, and drawn as a bar it would stretch
 * the axis until every other day is flat.
 */
export function renderDailyChart(data: MonthView): void {
  const money = moneyIn(data.currency);
  const days = data.days;
  const series: ChartOption[] = [
    {
      name: 'Attributed',
      type: 'bar',
      stack: 'cost',
      itemStyle: { color: '#3d6a99' },
      data: days.map((d) => d.attributedCost),
    },
    {
      name: 'Unattributed',
      type: 'bar',
      stack: 'cost',
      itemStyle: { color: '#e8955a' },
      data: days.map((d) => d.unattributedCost),
    },
  ];
  series.push({
    name: 'Unattributed share',
    type: 'line',
    yAxisIndex: 1,
    symbol: 'circle',
    symbolSize: 5,
    itemStyle: { color: '#9e2a2b' },
    lineStyle: { width: 2 },
    data: days.map((d) => d.unattributedPct * 100),
  });
  chart('chart-daily', {
    legend: { top: 0 },
    grid: { left: 8, right: 8, top: 40, bottom: 8, outerBoundsMode: 'same', outerBoundsContain: 'all' },
    tooltip: {
      trigger: 'axis',
      formatter: (ps: readonly FormatterParams[]) => {
        const day = ps[0] && days[ps[0].dataIndex];
        if (!day) return '';
        return tooltip([
          day.date,
          `Total ${money(day.totalCost)}`,
          `Attributed ${money(day.attributedCost)}`,
          `Unattributed ${money(day.unattributedCost)} (${pct(day.unattributedPct)})`,
          `Excluded ${money(day.excludedCost)}`,
        ]);
      },
    },
    xAxis: { type: 'category', data: days.map((d) => d.date.slice(5)) },
    yAxis: [
      {
        type: 'value',
        name: 'Cost',
        axisLabel: { formatter: moneyTick(data.currency) },
      },
      {
        type: 'value',
        name: 'Unattributed',
        min: 0,
        splitLine: { show: false },
        axisLabel: { formatter: '{value}%' },
      },
    ],
    series,
  });
  renderExcludedDays(data);
}

/** The days with excluded cost, each with its amount, and their total. */
function renderExcludedDays(data: MonthView): void {
  const money = moneyIn(data.currency);
  const excluded = data.days.filter((d) => d.excludedCost !== 0);
  const list = byId('excluded-days');
  list.appendChild(
    el('p', {
      class: 'hint',
      'data-testid': 'excluded-total',
      text:
        excluded.length === 0
          ? 'No cost was excluded from attribution this month.'
          : `Excluded from attribution, not in the chart: ${money(data.totals.excludedCost)} on ${excluded.length} day(s).`,
    }),
  );
  if (excluded.length === 0) return;
  const body = el('tbody');
  for (const day of excluded) {
    body.appendChild(
      el('tr', { 'data-testid': 'excluded-day' }, [
        el('td', { text: day.date }),
        el('td', { class: 'num', text: money(day.excludedCost) }),
      ]),
    );
  }
  list.appendChild(
    el('table', null, [
      el('thead', null, [
        el('tr', null, [el('th', { text: 'Day' }), el('th', { class: 'num', text: 'Excluded' })]),
      ]),
      body,
    ]),
  );
}
