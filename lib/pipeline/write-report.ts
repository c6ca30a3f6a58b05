import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import type { UnitCostTarget } from '../alerts/types/unit_cost_target.ts';
import { COST_BASES } from '../attribution/rules.ts';
import { billingPeriodSchema, PREFIXES, runIdSchema, runPrefix } from '../common/names.ts';
import type { QueryReader } from '../engine/query-engine.ts';
import { renderReportHtml } from '../report/render-report.ts';
import { buildReportData } from '../report/report-data.ts';
import { type PointerStore, readPointer } from './period-pointer.ts';
import { readRunAlerts } from './run-alerts.ts';
import type { RunLogger } from './start-run.ts';

export const writeReportInputSchema = z.object({
  runId: runIdSchema,
  billingPeriod: billingPeriodSchema,
  rulesVersion: z.string().min(1),
  /** The run's cost basis (prepare-run's), named in the report's header. */
  costBasis: z.enum(COST_BASES),
  /** evaluate-alerts' `asOf`: the day the alerts were evaluated as of; null when none were. */
  alertsAsOf: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'is not a date (YYYY-MM-DD)')
    .nullable(),
});

export type WriteReportInput = z.infer<typeof writeReportInputSchema>;

/** Where the report of the billing period's visible run is kept (written only by that run). */
export function latestReportKey(billingPeriod: string): string {
  return `${PREFIXES.reports}billing_period=${billingPeriod}/report.html`;
}

/** The object metadata key (`x-amz-meta-run-id`) naming the run a report is of. */
export const REPORT_RUN_METADATA = 'run-id';

/** The report next to the run's own results (it expires with them once a later run replaces it). */
export function runReportKey(runId: string): string {
  return `${runPrefix(runId)}report.html`;
}

export interface WriteRunReportOptions {
  /** The run's own results tables (an AthenaEngine of the run, for its billing period). */
  readonly runResults: QueryReader;
  /** The period pointers: the period's report under `reports/` is written only by the visible run. */
  readonly pointers: PointerStore;
  /** Renders the report. @default {@link renderRunReport} */
  readonly render?: (input: WriteReportInput, options: WriteRunReportOptions) => Promise<string>;
  readonly s3: S3Client;
  readonly resultsBucket: string;
  /** The alert configuration's unit-cost targets, which the report measures the month against. @default none */
  readonly unitCostTargets?: readonly UnitCostTarget[];
  readonly logger?: RunLogger;
}

export interface WriteRunReportResult {
  readonly runId: string;
  readonly billingPeriod: string;
  /** The S3 keys written in the results bucket: the run's report, then the period's when it is visible. */
  readonly keys: readonly string[];
  /** Whether the pointer named this run, so the period's report under `reports/` is this run's. */
  readonly visible: boolean;
  readonly bytes: number;
}

/**
 * The HTML report of a run (lib/report): the run's own numbers for its billing month, with the alerts
 * evaluate-alerts saved for the run (`runs/run=<runId>/alerts.json`), as the local run writes
 * `report.html`. Written next to the run's results, and, only when the period's pointer names this run,
 * as the period's report under `reports/` (a run that is not visible never replaces what readers see).
 */
export async function writeRunReport(
  input: WriteReportInput,
  options: WriteRunReportOptions,
): Promise<WriteRunReportResult> {
  const { runId, billingPeriod } = input;
  const html = await (options.render ?? renderRunReport)(input, options);
  const put = (key: string) =>
    options.s3.send(
      new PutObjectCommand({
        Bucket: options.resultsBucket,
        Key: key,
        Body: html,
        ContentType: 'text/html; charset=utf-8',
        // Which run the report is of, so cleanup can tell a period's report that lags the pointer.
        Metadata: { [REPORT_RUN_METADATA]: runId },
      }),
    );
  const keys = [runReportKey(runId)];
  await put(runReportKey(runId));
  // Read after the run's own report is written: the lease keeps any other run from flipping meanwhile.
  const visible = (await readPointer(options.pointers, billingPeriod))?.visible?.runId === runId;
  if (visible) {
    await put(latestReportKey(billingPeriod));
    keys.push(latestReportKey(billingPeriod));
  }
  const bytes = Buffer.byteLength(html);
  options.logger?.info('Report written', { runId, billingPeriod, keys, visible, bytes });
  return { runId, billingPeriod, keys, visible, bytes };
}

/** The report's HTML from the run's own tables and its saved alerts. */
export async function renderRunReport(
  input: WriteReportInput,
  options: WriteRunReportOptions,
): Promise<string> {
  const { runId, billingPeriod, rulesVersion, costBasis, alertsAsOf } = input;
  const alerts = await readRunAlerts(options.s3, options.resultsBucket, runId);
  const data = await buildReportData(options.runResults, {
    billingPeriods: [billingPeriod],
    runId,
    rulesVersion,
    costBasis,
    alerts,
    alertsAsOf,
    unitCostTargets: options.unitCostTargets ?? [],
  });
  return renderReportHtml(data);
}
