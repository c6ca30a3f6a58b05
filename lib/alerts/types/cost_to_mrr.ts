import { formatMoney, formatPercent } from '../../common/money.ts';
import { sqlNumber } from '../../sql/sql-template.ts';
import type { Severity } from '../alert.ts';
import { type AlertTypeDefinition, customerOfRow, nonNegative } from '../alert-type.ts';
import { rawText, type SafeText } from '../safe-text.ts';

const thresholds = {
  /** cost_30d / MRR above which a customer is P1 (pages the owner now). */
  costToMrrP1: nonNegative().default(0.25),
  /** cost_30d / MRR above which a customer is P2 (same-day review). */
  costToMrrP2: nonNegative().default(0.2),
  /**
   * The materiality floor: a customer whose cost_30d is below it is not alerted on, whatever its ratio
   * (a $65 customer at 40% is not worth a page).
   */
  minMonthlyCost: nonNegative().default(25),
};

/** The explanation, from figures every alert of the type carries; `text` writes the name. */
function explanation(
  figures: { customerName: string; cost30d: number; mrr: number; value: number; threshold: number },
  text: SafeText,
  currency: string,
): string {
  return (
    `${text(figures.customerName)} costs ${formatMoney(figures.cost30d, currency)} a month to serve, ` +
    `${formatPercent(figures.value)} of its ${formatMoney(figures.mrr, currency)} MRR ` +
    `(threshold ${formatPercent(figures.threshold)}).`
  );
}

/**
 * **cost_to_mrr** (docs/alerts.md): a customer costs more than a share of its MRR to serve over 30 days;
 * P1 above `costToMrrP1`, P2 above `costToMrrP2`. The SQL picks the severity and the threshold it passed.
 */
export const costToMrr: AlertTypeDefinition<'cost_to_mrr', typeof thresholds> = {
  name: 'cost_to_mrr',
  sql: { path: 'alerts/cost_to_mrr.sql' },
  thresholds,
  refinements: [
    { check: (t) => t.costToMrrP1 >= t.costToMrrP2, message: 'costToMrrP1 must be at least costToMrrP2' },
  ],
  placeholders: (t) => ({
    p1_ratio: sqlNumber(t.costToMrrP1),
    p2_ratio: sqlNumber(t.costToMrrP2),
    min_monthly_cost: sqlNumber(t.minMonthlyCost),
  }),
  findings: (rows, { currency }) =>
    rows.map((row) => {
      const customer = customerOfRow(row);
      const value = Number(row.measured);
      const threshold = Number(row.threshold);
      return {
        severity: row.severity as Severity,
        subject: customer.customerId,
        value,
        threshold,
        explanation: explanation({ ...customer, value, threshold }, rawText, currency),
        customer,
        // What the customer costs beyond the share of MRR it passed.
        moneyAtStake: customer.cost30d - threshold * customer.mrr,
      };
    }),
  title: (a, text) =>
    `${a.severity}: ${text(a.customerName ?? a.subject)} costs ${formatPercent(a.value)} of its MRR`,
  explain: (a, text, currency) =>
    explanation(
      {
        customerName: a.customerName ?? a.subject,
        cost30d: a.cost30d ?? 0,
        mrr: a.mrr ?? 0,
        value: a.value,
        threshold: a.threshold,
      },
      text,
      currency,
    ),
  nextSteps: [
    'Check the top services below for a runaway resource or an unusual workload.',
    "Review the customer's plan and pricing with its account owner.",
  ],
  unit: 'ratio',
};
