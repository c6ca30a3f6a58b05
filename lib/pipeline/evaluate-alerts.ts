import * as z from 'zod';
import type { Alert, NotifiedAlert } from '../alerts/alert.ts';
import type { AlertConfig } from '../alerts/alert-config.ts';
import { type SentStateStore, sendAlerts } from '../alerts/alert-state.ts';
import type { AlertTypeDefinition } from '../alerts/alert-type.ts';
import { ALERT_TYPES } from '../alerts/alert-types.ts';
import { addDays, defaultAsOf, evaluateAlerts } from '../alerts/evaluate-alerts.ts';
import { billingPeriodSchema, billingPeriodsBetween, runIdSchema } from '../common/names.ts';
import type { PublishedResultsReader } from './published-results.ts';
import type { RunLogger } from './start-run.ts';

export const evaluateAlertsInputSchema = z.object({
  runId: runIdSchema,
  billingPeriod: billingPeriodSchema,
  /** publish-run's `published`; `false` skips evaluation (nothing new is published). @default true */
  published: z.boolean().optional(),
});
/** The evaluate-alerts input once the handler has parsed its event. */
export type EvaluateAlertsInput = z.infer<typeof evaluateAlertsInputSchema>;

/** The days of billing data the rules look back over (docs/alerts.md: [D-29, D]). */
export const ALERT_WINDOW_DAYS = 30;

export interface EvaluateRunAlertsOptions {
  /** The published results, all billing periods (see {@link PublishedResultsReader}). */
  readonly engine: PublishedResultsReader;
  readonly config: AlertConfig;
  /** The alert types to evaluate. @default ALERT_TYPES */
  readonly types?: readonly AlertTypeDefinition[];
  readonly store: SentStateStore;
  readonly publish: (alert: Alert) => Promise<void>;
  /** Keeps the evaluated alerts, each with whether this evaluation sent it (`writeRunAlerts`). */
  readonly saveAlerts: (alerts: readonly NotifiedAlert[]) => Promise<void>;
  /** @default () => new Date() */
  readonly now?: () => Date;
  readonly logger?: RunLogger;
}

export interface EvaluateRunAlertsResult {
  readonly runId: string;
  readonly billingPeriod: string;
  /** The evaluation day D, or null when nothing was evaluated. */
  readonly asOf: string | null;
  readonly evaluated: number;
  readonly sent: number;
  readonly suppressed: number;
  /** `type|subject|severity` of each alert sent, at most 50 (the full list is in the logs). */
  readonly sentAlerts: readonly string[];
}

/**
 * Evaluates the alert rules on the published results ({@link publishedAlerts}) and sends what should go
 * out: SNS publish with routing attributes, then the sent-state record, alert by alert (see `sendAlerts`).
 * Then saves every evaluated alert with whether it was sent, for the run's report. `input` is already
 * parsed: the handler validates its event against {@link evaluateAlertsInputSchema} once.
 */
export async function evaluateRunAlerts(
  input: EvaluateAlertsInput,
  options: EvaluateRunAlertsOptions,
): Promise<EvaluateRunAlertsResult> {
  const { runId, billingPeriod, published } = input;
  const none = { runId, billingPeriod, evaluated: 0, sent: 0, suppressed: 0, sentAlerts: [] };
  if (published === false) {
    options.logger?.info('Run was not published; alerts not evaluated', { runId, billingPeriod });
    return { ...none, asOf: null };
  }
  const { asOf, alerts } = await publishedAlerts(options.engine, options.config, options.types);
  if (asOf === null) {
    options.logger?.warn('No published billing data; alerts not evaluated', { runId, billingPeriod });
    return { ...none, asOf: null };
  }
  const { sent, suppressed } = await sendAlerts(alerts, options.store, {
    now: (options.now ?? (() => new Date()))(),
    renotifyDays: options.config.renotifyDays,
    publish: options.publish,
  });
  await options.saveAlerts(alerts.map((alert) => ({ ...alert, notify: sent.includes(alert) })));
  const describe = (alert: Alert) => `${alert.type}|${alert.subject}|${alert.severity}`;
  options.logger?.info('Alerts evaluated', {
    runId,
    asOf,
    evaluated: alerts.length,
    sent: sent.map(describe),
    suppressed: suppressed.map(describe),
  });
  return {
    runId,
    billingPeriod,
    asOf,
    evaluated: alerts.length,
    sent: sent.length,
    suppressed: suppressed.length,
    sentAlerts: sent.slice(0, 50).map(describe),
  };
}

/**
 * The alerts that fire on the published results as of D = the latest usage day with billing data, minus
 * one (that day's delivery is still incomplete). D is taken over every published period (a late delivery
 * for an old month does not move the alerts back in time), and the rules then read only the periods
 * their 30-day window touches. `asOf` is null when nothing is published.
 */
async function publishedAlerts(
  engine: PublishedResultsReader,
  config: AlertConfig,
  types: readonly AlertTypeDefinition[] = ALERT_TYPES,
): Promise<{ readonly asOf: string | null; readonly alerts: readonly Alert[] }> {
  const asOf = await defaultAsOf(engine);
  if (asOf === null) return { asOf, alerts: [] };
  const window = engine.forPeriods(billingPeriodsBetween(addDays(asOf, 1 - ALERT_WINDOW_DAYS), asOf));
  return { asOf, alerts: await evaluateAlerts(window, asOf, config, types) };
}
