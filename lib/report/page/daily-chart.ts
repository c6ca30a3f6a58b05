import type { ReportData } from '../report-data.ts';
import { type ChartOption, chart, type FormatterParams } from './charts.ts';
import { tooltip } from './dom.ts';
import { moneyIn, moneyTick, pct } from './format.ts';

/**
 * Section 3: cost per usage day, stacked into attributed, unattributed and (only when there is any)
 * excluded cost, with the unattributed share of attributable cost as a line on its own axis.
 */
export function renderDailyChart(data: ReportData): void {
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
  if (days.some((d) => d.excludedCost !== 0)) {
    series.push({
      name: 'Excluded',
      type: 'bar',
      stack: 'cost',
      itemStyle: { color: '#c3c9d1' },
      data: days.map((d) => d.excludedCost),
    });
  }
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
}
