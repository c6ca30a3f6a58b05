import * as z from 'zod';
import type { Alert, NotifiedAlert } from '../alerts/alert.ts';
import type { AlertConfig } from '../alerts/alert-config.ts';
import { renderMessage } from '../alerts/alert-message.ts';
import type { SentStateStore } from '../alerts/alert-state.ts';
import type { AlertTypeDefinition } from '../alerts/alert-type.ts';
import { deliveryStateKeys, planDelivery, settleDelivery } from '../alerts/delivery.ts';
import { addDays, defaultAsOf, evaluateAlerts, type RuleOwners } from '../alerts/evaluate-alerts.ts';
import type { Publisher } from '../alerts/sns-publisher.ts';
import { billingPeriodSchema, billingPeriodsBetween, runIdSchema } from '../common/names.ts';
import { type PointerStore, readPointer } from './period-pointer.ts';
import { type PublishedResultsReader, type VisibleRuns, visibleRuns } from './published-results.ts';
import type { RunLogger } from './start-run.ts';
import { latestReportKey } from './write-report.ts';

export const evaluateAlertsInputSchema = z.object({
  runId: runIdSchema,
  billingPeriod: billingPeriodSchema,
});
/** The evaluate-alerts input once the handler has parsed its event. */
export type EvaluateAlertsInput = z.infer<typeof evaluateAlertsInputSchema>;

/** The days of billing data the rules look back over (docs/alerts.md: [D-29, D]). */
export const ALERT_WINDOW_DAYS = 30;

/** The S3 URI of a billing period's report (written by write-report for the visible run): digests link to it. */
export function periodReportUri(resultsBucket: string, billingPeriod: string): string {
  return `s3://${resultsBucket}/${latestReportKey(billingPeriod)}`;
}

export interface EvaluateRunAlertsOptions {
  /** The published results (see {@link PublishedResultsReader}); read for the runs the pointers name. */
  readonly engine: PublishedResultsReader;
  /** The period pointers: alerts are evaluated only when the run's pointer names it. */
  readonly pointers: PointerStore;
  readonly config: AlertConfig;
  /** The alert types to evaluate. @default ALERT_TYPES */
  readonly types?: readonly AlertTypeDefinition[];
  /**
   * The owners the rules name (`ruleOwnersOf` of the deployment's rules), to route a customer's alerts
   * to the owner of the pool that costs it most. @default {} (routing by service teams and owner teams)
   */
  readonly ruleOwners?: RuleOwners;
  readonly store: SentStateStore;
  /** Publishes the planned messages (`snsBatchPublisher`); what failed is left unrecorded. */
  readonly publish: Publisher;
  /** Where digests and held-back summaries say the period's report is ({@link periodReportUri}). */
  readonly reportLocation: (billingPeriod: string) => string;
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
  /** Why nothing was evaluated: the pointer names another run (this run is not visible). */
  readonly skipped?: 'not the visible run';
  /** The run the pointer named when evaluation was skipped (null: none). */
  readonly visibleRunId?: string | null;
  /** The run read for each billing period of the window, `period=run id`. */
  readonly read?: readonly string[];
  readonly evaluated: number;
  /** Alerts sent, alone or in a digest. */
  readonly sent: number;
  /** Alerts not sent (sent recently, waiting for the weekly digest, over the cap, publish failed). */
  readonly suppressed: number;
  /** Messages published (single alerts, digests, held-back summaries). */
  readonly messages: number;
  /** Messages whose publish still failed after retries: their alerts go out with the next run. */
  readonly failedMessages: number;
  /** PublishBatch calls made, retries included. */
  readonly publishCalls: number;
  /** `type|subject|severity` of each alert sent, at most 50 (the full list is in the logs). */
  readonly sentAlerts: readonly string[];
}

/**
 * Evaluates the alert rules on the visible results ({@link visibleAlerts}) and sends what should go
 * out: the delivery plan of lib/alerts/delivery.ts (P1 alone, P2 and weekly WARNING digests, the
 * per-run cap) published in batches, then the state of what was published; a message that failed
 * leaves its alerts unrecorded, for the next run.
 * Only when the period's pointer names this run: a run that is not visible (a newer delivery won, or its
 * publish failed) sends nothing. Then saves every evaluated alert with whether it was sent, for the run's
 * report. `input` is already parsed: the handler validates its event against
 * {@link evaluateAlertsInputSchema} once.
 */
export async function evaluateRunAlerts(
  input: EvaluateAlertsInput,
  options: EvaluateRunAlertsOptions,
): Promise<EvaluateRunAlertsResult> {
  const { runId, billingPeriod } = input;
  const now = (options.now ?? (() => new Date()))();
  const none = {
    runId,
    billingPeriod,
    evaluated: 0,
    sent: 0,
    suppressed: 0,
    messages: 0,
    failedMessages: 0,
    publishCalls: 0,
    sentAlerts: [],
  };
  const visibleRunId = (await readPointer(options.pointers, billingPeriod))?.visible?.runId ?? null;
  if (visibleRunId !== runId) {
    options.logger?.info('Run is not the visible one; alerts not evaluated', {
      runId,
      billingPeriod,
      visibleRunId,
    });
    return { ...none, asOf: null, skipped: 'not the visible run', visibleRunId };
  }
  const { asOf, alerts, runs } = await visibleAlerts(options, billingPeriod, now);
  const read = [...runs].map(([period, run]) => `${period}=${run}`);
  if (asOf === null) {
    options.logger?.warn('No published billing data; alerts not evaluated', { runId, billingPeriod });
    return { ...none, asOf: null, read };
  }
  const state = await options.store.load(deliveryStateKeys(alerts));
  const plan = planDelivery(alerts, state, {
    now,
    config: options.config,
    reportLocation: options.reportLocation(billingPeriod),
  });
  const rendered = plan.messages.map((message) => renderMessage(message, { types: options.types }));
  const published = await options.publish(rendered);
  const outcome = settleDelivery(plan, published.failed);
  await options.store.record(outcome.records);
  await options.saveAlerts(outcome.alerts);
  const describe = (alert: Alert) => `${alert.type}|${alert.subject}|${alert.severity}`;
  const sent = outcome.alerts.filter((alert) => alert.notify);
  const suppressed = outcome.alerts.filter((alert) => !alert.notify);
  if (outcome.failed.length > 0) {
    options.logger?.warn('Alert messages failed to publish; their alerts go out with the next run', {
      runId,
      failed: outcome.failed.map(
        ({ message, code }) => `${message.kind}|${message.severity}|${message.team}|${code}`,
      ),
    });
  }
  options.logger?.info('Alerts evaluated', {
    runId,
    asOf,
    read,
    evaluated: alerts.length,
    messages: outcome.published.map((m) => `${m.kind}|${m.severity}|${m.team}|${m.alerts.length}`),
    publishCalls: published.calls,
    sent: sent.map(describe),
    suppressed: suppressed.map((alert) => `${describe(alert)}|${alert.heldBack ?? ''}`),
  });
  return {
    runId,
    billingPeriod,
    asOf,
    evaluated: alerts.length,
    sent: sent.length,
    suppressed: suppressed.length,
    messages: outcome.published.length,
    failedMessages: outcome.failed.length,
    publishCalls: published.calls,
    sentAlerts: sent.slice(0, 50).map(describe),
    read,
  };
}

/**
 * The alerts that fire on the visible results as of D = the latest usage day with billing data, minus
 * one (that day's delivery is still incomplete). D is taken over the run's period and every later one up
 * to today (a late delivery for an old month does not move the alerts back in time); the rules then read
 * the visible run of each period their 30-day window touches, each read from its pointer. `asOf` is null
 * when nothing is published.
 */
async function visibleAlerts(
  options: EvaluateRunAlertsOptions,
  billingPeriod: string,
  now: Date,
): Promise<{ readonly asOf: string | null; readonly alerts: readonly Alert[]; readonly runs: VisibleRuns }> {
  const today = now.toISOString().slice(0, 10);
  // The run's own period at least, should the clock read a day before it.
  const periods = billingPeriodsBetween(`${billingPeriod}-01`, today);
  const since = await visibleRuns(options.pointers, periods.length > 0 ? periods : [billingPeriod]);
  const asOf = await defaultAsOf(options.engine.forRuns(since));
  if (asOf === null) return { asOf, alerts: [], runs: since };
  const runs = await visibleRuns(
    options.pointers,
    billingPeriodsBetween(addDays(asOf, 1 - ALERT_WINDOW_DAYS), asOf),
  );
  const window = options.engine.forRuns(runs);
  const alerts = await evaluateAlerts(window, asOf, options.config, options.types, options.ruleOwners);
  return { asOf, alerts, runs };
}
