import { formatMoney, formatPercent } from '../../common/money.ts';
import { sqlNumber } from '../../sql/sql-template.ts';
import { type AlertTypeDefinition, customerOfRow, nonNegative } from '../alert-type.ts';

const thresholds = {
  /** Week-over-week cost growth above which cost_trend_7d fires... */
  trendGrowth: nonNegative().default(0.15),
  /** ...provided the weekly cost grew by at least this much money (ignores noise on tiny customers). */
  trendMinIncrease: nonNegative().default(1),
};

/**
 * **cost_trend_7d** (docs/alerts.md): a customer's cost over the last 7 days grew more than `trendGrowth`
 * over the 7 days before, by at least `trendMinIncrease`. A warning: growth is not yet a loss.
 */
export const costTrend7d: AlertTypeDefinition<'cost_trend_7d', typeof thresholds> = {
  name: 'cost_trend_7d',
  sql: { path: 'alerts/cost_trend_7d.sql' },
  thresholds,
  placeholders: (t) => ({
    trend_growth: sqlNumber(t.trendGrowth),
    trend_min_increase: sqlNumber(t.trendMinIncrease),
  }),
  findings: (rows, { currency }) =>
    rows.map((row) => {
      const customer = customerOfRow(row);
      const value = Number(row.measured);
      return {
        severity: 'WARNING',
        subject: customer.customerId,
        value,
        threshold: Number(row.threshold),
        // Starts with the name: explain() below relies on it.
        explanation:
          `${customer.customerName}'s cost grew ${formatPercent(value)} week over week, from ` +
          `${formatMoney(Number(row.previous_7d), currency)} to ${formatMoney(Number(row.current_7d), currency)}.`,
        customer,
        moneyAtStake: Number(row.current_7d) - Number(row.previous_7d),
      };
    }),
  title: (a, text) =>
    `Cost of ${text(a.customerName ?? a.subject)} up ${formatPercent(a.value)} week over week`,
  // The weekly costs are in the explanation only, not on the alert: keep what follows the name, which
  // is the type's own words and money, and write the name through `text`.
  explain: (a, text) => {
    const name = a.customerName ?? a.subject;
    return a.explanation.startsWith(name)
      ? `${text(name)}${a.explanation.slice(name.length)}`
      : text(a.explanation, Number.POSITIVE_INFINITY);
  },
  nextSteps: ['Compare this week with last week in customer_daily_service_cost to see which service grew.'],
  unit: 'ratio',
};
