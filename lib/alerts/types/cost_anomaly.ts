import { addDays } from '../../common/dates.ts';
import { formatMoney } from '../../common/money.ts';
import { sqlDate, sqlNumber } from '../../sql/sql-template.ts';
import type { ServiceCost } from '../alert.ts';
import { type AlertTypeDefinition, customerOfRow, nonNegative } from '../alert-type.ts';
import { rawText, type SafeText } from '../safe-text.ts';

const thresholds = {
  /** The baseline: the N days before D (those with billing data on which the customer was active). */
  anomalyBaselineDays: wholeDays(28),
  /** Fewer baseline days than this: too little history to call a day unusual. */
  anomalyMinHistoryDays: wholeDays(14),
  /** How many robust standard deviations (1.4826 x MAD) above the median a day must be. */
  anomalyMadMultiplier: nonNegative().default(3),
  /** The least impact (cost(D) - median) worth a warning, in money. */
  minAnomalyImpact: nonNegative().default(20),
  /** The least impact as a share of the median: a customer that spends $1,000 a day is not alerted at +$25. */
  anomalyRelativeImpact: nonNegative().default(0.5),
  /** Impact from which the anomaly is P2 (a same-day review) rather than a WARNING. */
  p2AnomalyImpact: nonNegative().default(500),
};

/** A whole number of days, at least 1 (zod, with its default). */
function wholeDays(defaultDays: number) {
  return nonNegative().int().min(1).max(366).default(defaultDays);
}

interface AnomalyFigures {
  readonly customerName: string;
  readonly asOf: string;
  readonly cost: number;
  readonly median: number;
  readonly threshold: number;
}

function explanation(f: AnomalyFigures, text: SafeText, currency: string): string {
  return (
    `${text(f.customerName)} cost ${formatMoney(f.cost, currency)} on ${f.asOf}, ` +
    `${formatMoney(f.cost - f.median, currency)} above its median day of ${formatMoney(f.median, currency)} ` +
    `(threshold ${formatMoney(f.threshold, currency)}).`
  );
}

/**
 * **cost_anomaly** (docs/alerts.md): a customer's cost on D is far above its own usual day: more than
 * `anomalyMadMultiplier` robust deviations (1.4826 x MAD) above the median of its baseline days, by at
 * least `minAnomalyImpact` and at least `anomalyRelativeImpact` of that median. A WARNING, P2 from an
 * impact of `p2AnomalyImpact`. It carries the median, the impact and the services that rose most.
 */
export const costAnomaly: AlertTypeDefinition<'cost_anomaly', typeof thresholds> = {
  name: 'cost_anomaly',
  sql: { path: 'alerts/cost_anomaly.sql' },
  thresholds,
  refinements: [
    {
      check: (t) => t.anomalyMinHistoryDays <= t.anomalyBaselineDays,
      message: 'anomalyMinHistoryDays must be at most anomalyBaselineDays',
    },
  ],
  placeholders: (t, asOf) => ({
    baseline_start: sqlDate(addDays(asOf, -t.anomalyBaselineDays)),
    baseline_end: sqlDate(addDays(asOf, -1)),
    min_history_days: sqlNumber(t.anomalyMinHistoryDays),
    mad_multiplier: sqlNumber(t.anomalyMadMultiplier),
    min_impact: sqlNumber(t.minAnomalyImpact),
    relative_impact: sqlNumber(t.anomalyRelativeImpact),
  }),
  findings: (rows, { asOf, thresholds: t, currency }) => {
    // One row per (customer, rising service); a customer without a rising service has one row.
    const byCustomer = new Map<string, (typeof rows)[number][]>();
    for (const row of rows) {
      const id = String(row.customer_id);
      byCustomer.set(id, [...(byCustomer.get(id) ?? []), row]);
    }
    return [...byCustomer.values()].map((customerRows) => {
      const [row] = customerRows as [(typeof rows)[number]];
      const customer = customerOfRow(row);
      const cost = Number(row.measured);
      const median = Number(row.median_cost);
      const threshold = Number(row.threshold);
      const impact = cost - median;
      const risingServices: ServiceCost[] = customerRows
        .filter((r) => r.rising_service !== null && r.rising_service !== undefined)
        .sort((a, b) => Number(a.rise_rank) - Number(b.rise_rank))
        .map((r) => ({ service: String(r.rising_service), cost: Number(r.rising_cost), team: null }));
      return {
        severity: impact >= t.p2AnomalyImpact ? 'P2' : 'WARNING',
        subject: customer.customerId,
        value: cost,
        threshold,
        explanation: explanation(
          { customerName: customer.customerName, asOf, cost, median, threshold },
          rawText,
          currency,
        ),
        customer,
        moneyAtStake: impact,
        details: { baselineMedian: median, impact, risingServices },
      };
    });
  },
  title: (a, text, currency) =>
    `Unusual day for ${text(a.customerName ?? a.subject)}: ${formatMoney(a.impact ?? 0, currency)} above its median`,
  explain: (a, text, currency) =>
    explanation(
      {
        customerName: a.customerName ?? a.subject,
        asOf: a.asOf,
        cost: a.value,
        median: a.baselineMedian ?? 0,
        threshold: a.threshold,
      },
      text,
      currency,
    ),
  facts: (a, text, currency) => {
    const rising = a.risingServices ?? [];
    return [
      `Baseline median ${formatMoney(a.baselineMedian ?? 0, currency)} a day; impact ${formatMoney(a.impact ?? 0, currency)}`,
      ...(rising.length === 0
        ? []
        : [
            `Rising services: ${rising.map((s) => `${text(s.service)} +${formatMoney(s.cost, currency)}`).join(', ')}`,
          ]),
    ];
  },
  nextSteps: [
    "Compare the customer's services on that day with the days before in customer_daily_service_cost, starting with the rising services the alert names.",
    'A deploy, a batch job or a runaway resource on that day is the usual cause.',
  ],
  unit: 'money',
};
