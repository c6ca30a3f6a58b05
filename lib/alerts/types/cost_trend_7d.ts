import { formatMoney, formatPercent } from '../../common/money.ts';
import { sqlNumber } from '../../sql/sql-template.ts';
import { type AlertTypeDefinition, customerOfRow, nonNegative } from '../alert-type.ts';

const thresholds = {
  /** Week-over-week cost growth g above which cost_trend_7d fires... */
  trendGrowth: nonNegative().default(0.15),
  /** ...provided the weekly cost grew by at least this much money (ignores noise on small customers)... */
  trendMinIncrease: nonNegative().default(10),
  /**
   * ...and faster than revenue by more than this margin (g - r, r the MRR growth over the same week): a
   * customer whose cost follows a price rise is growing, not getting less profitable.
   */
  trendOverRevenue: nonNegative().default(0.15),
};

/** `+12.5%`, `-3.0%` or `0.0%`: a growth figure with its sign. */
function signedPercent(ratio: number): string {
  return `${ratio > 0 ? '+' : ''}${formatPercent(ratio)}`;
}

/**
 * **cost_trend_7d** (docs/alerts.md): a customer's cost over the last 7 days grew more than `trendGrowth`
 * over the 7 days before, by at least `trendMinIncrease`, and more than `trendOverRevenue` faster than its
 * MRR over the same week. A warning: growth is not yet a loss.
 */
export const costTrend7d: AlertTypeDefinition<'cost_trend_7d', typeof thresholds> = {
  name: 'cost_trend_7d',
  sql: { path: 'alerts/cost_trend_7d.sql' },
  thresholds,
  placeholders: (t) => ({
    trend_growth: sqlNumber(t.trendGrowth),
    trend_min_increase: sqlNumber(t.trendMinIncrease),
    trend_over_revenue: sqlNumber(t.trendOverRevenue),
  }),
  findings: (rows, { currency }) =>
    rows.map((row) => {
      const customer = customerOfRow(row);
      const value = Number(row.measured);
      const revenueGrowth = Number(row.revenue_growth);
      const previous = Number(row.previous_7d);
      const current = Number(row.current_7d);
      return {
        severity: 'WARNING',
        subject: customer.customerId,
        value,
        threshold: Number(row.threshold),
        // Starts with the name: explain() below relies on it.
        explanation:
          `${customer.customerName}'s cost grew ${signedPercent(value)} week over week, from ` +
          `${formatMoney(previous, currency)} to ${formatMoney(current, currency)}, while its MRR ` +
          `changed ${signedPercent(revenueGrowth)}.`,
        customer,
        moneyAtStake: current - previous,
        details: { revenueGrowth },
      };
    }),
  title: (a, text) =>
    `Cost of ${text(a.customerName ?? a.subject)} up ${formatPercent(a.value)} week over week, faster than its revenue`,
  // The weekly costs are in the explanation only, not on the alert: keep what follows the name, which
  // is the type's own words and money, and write the name through `text`.
  explain: (a, text) => {
    const name = a.customerName ?? a.subject;
    return a.explanation.startsWith(name)
      ? `${text(name)}${a.explanation.slice(name.length)}`
      : text(a.explanation, Number.POSITIVE_INFINITY);
  },
  facts: (a) => [
    `Cost growth ${signedPercent(a.value)} against MRR growth ${signedPercent(a.revenueGrowth ?? 0)} over the same week`,
  ],
  nextSteps: [
    'Compare this week with last week in customer_daily_service_cost to see which service grew.',
    'If the growth is expected (a new workload), check that the plan and price follow it.',
  ],
  unit: 'ratio',
};
