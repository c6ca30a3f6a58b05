import type { ReportCustomer } from '../report-data.ts';
import { chart, type FormatterParams } from './charts.ts';
import { byId, el, swatch, tooltip } from './dom.ts';
import { moneyIn, pct } from './format.ts';
import type { MonthView } from './month-view.ts';

interface Band {
  readonly below: number;
  readonly color: string;
  readonly label: string;
}

/** The costliest band; its blocks get white labels. */
const HIGHEST: Band = { below: Number.POSITIVE_INFINITY, color: '#c9543f', label: '50% or more' };
/** Colour bands of cost / MRR; 20% and 25% are the default thresholds of the P2 and P1 cost_to_mrr alerts. */
const BANDS: readonly Band[] = [
  { below: 0.1, color: '#6aa884', label: 'under 10% of MRR' },
  { below: 0.2, color: '#b5cf86', label: '10–20%' },
  { below: 0.25, color: '#f2cd6b', label: '20–25%' },
  { below: 0.5, color: '#e8955a', label: '25–50%' },
  HIGHEST,
];
const NO_MRR = '#c3c9d1';
const OTHERS = '#e4e8ec';

function bandOf(ratio: number): Band {
  return BANDS.find((band) => ratio < band.below) ?? HIGHEST;
}

/** A block of the treemap; which optional field is set tells the tooltip what the block is. */
interface TreemapNode {
  readonly name: string;
  readonly value: number;
  readonly customer?: ReportCustomer;
  /** How many customers a tier's "more customers" block stands for. */
  readonly others?: number;
  readonly itemStyle: { readonly color: string };
  readonly label: { readonly color: string };
}

interface TierGroup {
  shownCost: number;
  shown: number;
  readonly children: TreemapNode[];
}

interface TierNode {
  readonly name: string;
  readonly children: TreemapNode[];
  readonly tierCost: number;
  readonly tierCustomers: number;
}

/** The tiers with their listed customers, each tier's unlisted ones as one block, largest tier first. */
function treemapData(data: MonthView): { readonly tiers: TierNode[]; readonly notDrawn: number } {
  // data.customers lists at most DEFAULT_MAX_CUSTOMERS; data.tiers has the totals of every customer.
  const tierTotals: Record<string, { cost: number; customers: number }> = {};
  for (const row of data.tiers) {
    const totals = tierTotals[row.tier] ?? { cost: 0, customers: 0 };
    tierTotals[row.tier] = totals;
    totals.cost += row.totalCost;
    totals.customers += row.customers;
  }
  const byTier: Record<string, TierGroup> = {};
  let notDrawn = 0;
  for (const cu of data.customers) {
    const group = byTier[cu.tier] ?? { shownCost: 0, shown: 0, children: [] };
    byTier[cu.tier] = group;
    group.shownCost += cu.totalCost;
    group.shown += 1;
    // A treemap cannot draw a zero or negative area (credits): such customers are counted instead.
    if (!(cu.totalCost > 0)) {
      notDrawn += 1;
      continue;
    }
    const color = cu.costToMrr === null ? NO_MRR : bandOf(cu.costToMrr).color;
    group.children.push({
      name: cu.name + (cu.costToMrr === null ? ` (${cu.planStatus})` : ''),
      value: cu.totalCost,
      customer: cu,
      itemStyle: { color },
      label: { color: color === HIGHEST.color ? '#ffffff' : '#1f2933' },
    });
  }
  const tiers = Object.entries(tierTotals)
    .map(([tier, totals]): TierNode => {
      const group = byTier[tier] ?? { shownCost: 0, shown: 0, children: [] };
      const rest = totals.customers - group.shown;
      const restCost = totals.cost - group.shownCost;
      if (rest > 0 && restCost > 0) {
        group.children.push({
          name: `${rest} more customers`,
          value: restCost,
          others: rest,
          itemStyle: { color: OTHERS },
          label: { color: '#5f6b7a' },
        });
      }
      return { name: tier, children: group.children, tierCost: totals.cost, tierCustomers: totals.customers };
    })
    .filter((tier) => tier.children.length > 0)
    .sort((a, b) => b.tierCost - a.tierCost);
  return { tiers, notDrawn };
}

function treemapTooltip(p: FormatterParams, money: (value: number) => string): HTMLElement {
  const d = (p.data ?? {}) as Partial<TreemapNode & TierNode>;
  if (d.customer) {
    const cu = d.customer;
    return tooltip([
      cu.name,
      `Tier ${cu.tier}, ${cu.planStatus}`,
      `Cost ${money(cu.totalCost)}`,
      `MRR ${money(cu.mrr)}`,
      cu.costToMrr === null ? 'No MRR' : `Cost / MRR ${pct(cu.costToMrr)}`,
    ]);
  }
  if (d.others) return tooltip([p.name, `Cost ${money(p.value)}`]);
  return tooltip([p.name, `${d.tierCustomers || 0} customers`, `Cost ${money(p.value)}`]);
}

/**
 * Section 1: customers by tier, sized by cost, coloured by cost / MRR, with the colour legend. Clicking a
 * customer's block calls `onCustomer` with its id (the drill-down).
 */
export function renderTreemap(data: MonthView, onCustomer: (customerId: string) => void): void {
  const money = moneyIn(data.currency);
  const legend = byId('treemap-legend');
  for (const band of BANDS) legend.appendChild(swatch(band.color, band.label));
  legend.appendChild(swatch(NO_MRR, 'free or trial (no MRR)'));

  const { tiers, notDrawn } = treemapData(data);
  const total = tiers.reduce((sum, tier) => sum + tier.children.reduce((s, node) => s + node.value, 0), 0);
  if (notDrawn > 0) {
    legend.appendChild(
      el('span', { text: `${notDrawn} customer(s) with zero or negative cost (credits) not drawn` }),
    );
  }
  const treemap = chart('chart-treemap', {
    tooltip: { formatter: (p: FormatterParams) => treemapTooltip(p, money) },
    series: [
      {
        type: 'treemap',
        name: 'All customers',
        data: tiers,
        roam: false,
        // A click opens the customer's drill-down rather than zooming into its block.
        nodeClick: false,
        leafDepth: 2,
        top: 8,
        left: 2,
        right: 2,
        bottom: 4,
        // Nothing zooms, so there is no path to show.
        breadcrumb: { show: false },
        // Small blocks cannot hold the label: under 0.5% of the area none, under 2% the name only, as a
        // truncated amount ($10 for $103.04) would mislead. The tooltip always has both.
        label: {
          show: true,
          fontSize: 11,
          lineHeight: 15,
          overflow: 'truncate',
          ellipsis: '…',
          formatter: (p: FormatterParams) => {
            if (p.value < total * 0.005) return '';
            return p.value < total * 0.02 ? p.name : `${p.name}\n${money(p.value)}`;
          },
        },
        upperLabel: {
          show: true,
          height: 22,
          color: '#1f2933',
          fontWeight: 600,
          formatter: (p: FormatterParams) => `${p.name}  ${money(p.value)}`,
        },
        levels: [
          { itemStyle: { borderColor: '#ffffff', borderWidth: 0, gapWidth: 4 }, upperLabel: { show: false } },
          { itemStyle: { borderColor: '#eef1f4', borderWidth: 3, gapWidth: 1 }, upperLabel: { show: true } },
          { itemStyle: { borderColor: '#ffffff', borderWidth: 1, gapWidth: 1 } },
        ],
      },
    ],
  });
  treemap.on('click', (p) => {
    const customer = (p.data as Partial<TreemapNode> | undefined)?.customer;
    if (customer) onCustomer(customer.customerId);
  });
}
