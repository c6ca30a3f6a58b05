/**
 * The name of the alert type that raised an alert (lib/alerts/alert-types.ts lists the shipped ones). A
 * plain string, so that alerts of a type defined outside the registry's list (a test's) type-check too;
 * `ShippedAlertType` in the registry is the union of the shipped names.
 */
export type AlertType = string;
export type Severity = 'P1' | 'P2' | 'WARNING';

/** Ordering for escalation: a P2 that becomes P1 is sent again at once. */
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { WARNING: 1, P2: 2, P1: 3 };

export interface ServiceCost {
  readonly service: string;
  readonly cost: number;
  /** The team that owns the service, when the service map names one. */
  readonly team: string | null;
}

/** One alert (docs/alerts.md "What an alert carries"). */
export interface Alert {
  readonly type: AlertType;
  readonly severity: Severity;
  /** Evaluation day D, YYYY-MM-DD. */
  readonly asOf: string;
  /** What the alert is about: a customer id, `trial_vs_paid` or `account`; with the type, the dedup key. */
  readonly subject: string;
  readonly customerId: string | null;
  /** The measured figure: ratio, growth, trial median or unattributed share. */
  readonly value: number;
  /** The figure it was compared with. */
  readonly threshold: number;
  readonly customerName: string | null;
  readonly tier: string | null;
  readonly planStatus: string | null;
  readonly mrr: number | null;
  /** Cost over [D-29, D], scaled to 30 days when fewer days have billing data. */
  readonly cost30d: number | null;
  readonly topServices: readonly ServiceCost[];
  /** Where the alert goes: owner of the top service, else the customer's owner team, else the default. */
  readonly team: string;
  /**
   * The ISO 4217 currency of its money (MRR, cost_30d, top services, and value and threshold when its
   * type's unit is money): the currency of the results it was evaluated on.
   */
  readonly currency: string;
  /** One line in plain words. */
  readonly explanation: string;
  /**
   * The money at stake, in {@link currency}, by which a digest ranks its alerts (docs/alerts.md
   * "Delivery and noise"): cost_30d - threshold x MRR for cost_to_mrr, the impact for an anomaly, the
   * excess x active customers for a unit-cost target, the weekly increase for a trend, the unattributed
   * cost of the window for unattributed_share, the trial median's excess for freemium_cliff.
   */
  readonly moneyAtStake: number;
  /** cost_trend_7d: the revenue growth r over the same week (the alert's value is the cost growth g). */
  readonly revenueGrowth?: number;
  /** cost_anomaly: the median daily cost over the baseline days. */
  readonly baselineMedian?: number;
  /** cost_anomaly: cost(D) - the baseline median. */
  readonly impact?: number;
  /**
   * cost_anomaly: the (at most three) services whose cost on D rose most against their own baseline
   * median; `cost` is that rise.
   */
  readonly risingServices?: readonly ServiceCost[];
}

/**
 * An alert of a run, with whether that run sent it, alone or in a digest; when it did not, `heldBack`
 * says why (sent recently, waiting for the weekly digest, over the per-run cap, the publish failed, not
 * the run's to send).
 */
export type NotifiedAlert = Alert & { readonly notify: boolean; readonly heldBack?: string };

export function alertKey(alert: Pick<Alert, 'type' | 'subject'>): string {
  return `${alert.type}|${alert.subject}`;
}
