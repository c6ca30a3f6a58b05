import type { ReportTier } from '../report-data.ts';
import { chart, type FormatterParams } from './charts.ts';
import { byId, el, query, tooltip } from './dom.ts';
import { moneyIn, pct } from './format.ts';
import type { MonthView } from './month-view.ts';

type TierWithRevenue = ReportTier & { readonly margin: number };

const hasRevenue = (row: ReportTier): row is TierWithRevenue => row.margin !== null;
const tierLabel = (row: ReportTier) => `${row.tier} · ${row.planStatus}`;

/** Each bar's margin, written at its end. */
const PERCENT_LABEL = {
  show: true,
  position: 'right',
  formatter: (p: FormatterParams) => `${p.value.toFixed(1)}%`,
} as const;

/**
 * Section 2: infrastructure gross margin per tier and plan status, attributed and fully loaded, as bars
 * for the rows with revenue (free and trial have no margin) and as a table of every row. The fully loaded
 * margin is the honest one for pricing: it also carries the cost that reaches no customer and what free
 * and trial accounts cost, in proportion to each row's MRR.
 */
export function renderTierMargin(data: MonthView): void {
  const money = moneyIn(data.currency);
  const withRevenue = data.tiers.filter(hasRevenue);
  // One bar per row: the chart grows with the rows instead of squeezing them.
  byId('chart-tiers').style.height = `${Math.max(180, 70 * withRevenue.length + 90)}px`;
  chart('chart-tiers', {
    grid: {
      left: 8,
      right: 56,
      top: 32,
      bottom: 8,
      outerBoundsMode: 'same',
      outerBoundsContain: 'axisLabel',
    },
    tooltip: {
      trigger: 'item',
      formatter: (p: FormatterParams) => {
        const row = withRevenue[p.dataIndex];
        if (!row) return '';
        return tooltip([
          tierLabel(row),
          `${row.customers} customers`,
          `Cost ${money(row.totalCost)}`,
          `MRR ${money(row.totalMrr)}`,
          `Median cost ${money(row.medianCostPerCustomer)}`,
          `Attributed margin ${pct(row.margin)}`,
          `Fully loaded margin ${pct(row.fullyLoadedMargin)}`,
        ]);
      },
    },
    xAxis: {
      type: 'value',
      max: 100,
      // Negative margins (cost above MRR) extend the axis to the left, in steps of 10%.
      min: (extent: { readonly min: number }) => Math.min(0, Math.floor(extent.min / 10) * 10),
      axisLabel: { formatter: '{value}%' },
    },
    yAxis: { type: 'category', inverse: true, data: withRevenue.map(tierLabel) },
    legend: { top: 0 },
    series: [
      {
        name: 'Attributed',
        type: 'bar',
        barMaxWidth: 26,
        data: withRevenue.map((row) => ({
          value: row.margin * 100,
          itemStyle: { color: row.margin < 0 ? '#c9543f' : '#3d6a99' },
        })),
        label: PERCENT_LABEL,
      },
      {
        name: 'Fully loaded',
        type: 'bar',
        barMaxWidth: 26,
        itemStyle: { color: '#8fa9c6' },
        data: withRevenue.map((row) => (row.fullyLoadedMargin === null ? null : row.fullyLoadedMargin * 100)),
        label: PERCENT_LABEL,
      },
    ],
  });

  const body = query('#tier-table tbody');
  for (const row of data.tiers) {
    body.appendChild(
      el('tr', null, [
        el('td', { text: row.tier }),
        el('td', { text: row.planStatus }),
        el('td', { class: 'num', text: String(row.customers) }),
        el('td', { class: 'num', text: money(row.totalCost) }),
        el('td', { class: 'num', text: money(row.totalMrr) }),
        el('td', { class: 'num', text: money(row.medianCostPerCustomer) }),
        el('td', { class: 'num', text: row.margin === null ? 'no revenue' : pct(row.margin) }),
        el('td', {
          class: 'num',
          text: row.fullyLoadedMargin === null ? '–' : pct(row.fullyLoadedMargin),
          'data-testid': 'fully-loaded-margin',
        }),
      ]),
    );
  }
}
