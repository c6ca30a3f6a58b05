import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { billingPeriodSchema, PREFIXES, runIdSchema, runPrefix } from '../common/names.ts';
import type { QueryReader } from '../engine/query-engine.ts';
import { renderReportHtml } from '../report/render-report.ts';
import { buildReportData } from '../report/report-data.ts';
import { readRunAlerts } from './run-alerts.ts';
import type { RunLogger } from './start-run.ts';

export const writeReportInputSchema = z.object({
  runId: runIdSchema,
  billingPeriod: billingPeriodSchema,
  rulesVersion: z.string().min(1),
  /** evaluate-alerts' `asOf`: the day the alerts were evaluated as of; null when none were. */
  alertsAsOf: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'is not a date (YYYY-MM-DD)')
    .nullable(),
  /** publish-run's `published`; `false` writes nothing (the run's numbers are not the published ones). */
  published: z.boolean().optional(),
});

export type WriteReportInput = z.infer<typeof writeReportInputSchema>;

/** Where the report of the billing period's published run is kept, always the latest one. */
export function latestReportKey(billingPeriod: string): string {
  return `${PREFIXES.reports}billing_period=${billingPeriod}/report.html`;
}

/** The report next to the run's own results (it expires with them once a later run replaces it). */
export function runReportKey(runId: string): string {
  return `${runPrefix(runId)}report.html`;
}

export interface WriteRunReportOptions {
  /** The run's own results tables (an AthenaEngine of the run, for its billing period). */
  readonly runResults: QueryReader;
  readonly s3: S3Client;
  readonly resultsBucket: string;
  readonly logger?: RunLogger;
}

export interface WriteRunReportResult {
  readonly runId: string;
  readonly billingPeriod: string;
  /** The S3 keys written in the results bucket; empty when the run was not published. */
  readonly keys: readonly string[];
  readonly bytes: number;
}

/**
 * The HTML report of a published run (lib/report): the run's own numbers for its billing month, with
 * the alerts evaluate-alerts saved for the run (`runs/run=<runId>/alerts.json`), as the local run writes
 * `report.html`. Written twice in the results bucket: next to the run's results, and as the period's
 * latest report.
 */
export async function writeRunReport(
  input: WriteReportInput,
  options: WriteRunReportOptions,
): Promise<WriteRunReportResult> {
  const { runId, billingPeriod, rulesVersion, alertsAsOf, published } = input;
  if (published === false) {
    options.logger?.info('Run was not published; no report written', { runId, billingPeriod });
    return { runId, billingPeriod, keys: [], bytes: 0 };
  }
  const alerts = await readRunAlerts(options.s3, options.resultsBucket, runId);
  const data = await buildReportData(options.runResults, {
    billingPeriod,
    runId,
    rulesVersion,
    alerts,
    alertsAsOf,
  });
  const html = renderReportHtml(data);
  const keys = [runReportKey(runId), latestReportKey(billingPeriod)];
  for (const key of keys) {
    await options.s3.send(
      new PutObjectCommand({
        Bucket: options.resultsBucket,
        Key: key,
        Body: html,
        ContentType: 'text/html; charset=utf-8',
      }),
    );
  }
  const bytes = Buffer.byteLength(html);
  options.logger?.info('Report written', { runId, billingPeriod, keys, bytes, alerts: alerts.length });
  return { runId, billingPeriod, keys, bytes };
}
