/**
 * **write-report**: writes the HTML report of a published run (lib/pipeline/write-report.ts) to the
 * results bucket, at `runs/run=<runId>/report.html` and `reports/billing_period=<period>/report.html`.
 *
 * Input: `{ runId, billingPeriod, rulesVersion, alertsAsOf, published }` (published false: nothing is
 * written; `alertsAsOf` is evaluate-alerts' `asOf`).
 * Output: `{ runId, billingPeriod, keys, bytes }`.
 * Effect: four Athena queries on the run's tables (daily summary, customers, tier margin, free tier),
 * GetObject of the run's `alerts.json` (written by evaluate-alerts), two PutObject.
 * Errors: `AthenaQueryError`, `AthenaQueryTimeoutError` (retried by the state machine).
 *
 * Environment: `DATABASE`, `WORKGROUP`, `RESULTS_BUCKET`; `ATHENA_MAX_WAIT_SECONDS` (120);
 * `POWERTOOLS_METRICS_NAMESPACE` (default `CostPerCustomer`).
 * Metrics: `ReportsWritten`, `ReportBytes`.
 *
 * Permissions: results bucket `GetObject` on `runs/*`, `PutObject` on `runs/*` and `reports/*`; query
 * results as run-check; Athena on the workgroup; Glue `GetDatabase`, `GetTable` on the run tables;
 * `kms:Decrypt`, `kms:GenerateDataKey`.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { AthenaClient } from '@aws-sdk/client-athena';
import { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { env, readConfig } from '../lib/pipeline/config.ts';
import { parseInput } from '../lib/pipeline/run-contract.ts';
import {
  type WriteRunReportResult,
  writeReportInputSchema,
  writeRunReport,
} from '../lib/pipeline/write-report.ts';
import { athenaEngine } from './commons/athena-engine.ts';
import { observability } from './commons/observability.ts';

const SERVICE = 'write-report';
const config = readConfig({
  DATABASE: env.database(),
  WORKGROUP: env.workgroup(),
  RESULTS_BUCKET: env.bucket(),
  ATHENA_MAX_WAIT_SECONDS: env.positiveInt(120),
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1).default('CostPerCustomer'),
});

const { metrics, tracer, log, wrap } = observability(SERVICE, config.POWERTOOLS_METRICS_NAMESPACE);
const athena = tracer.captureAWSv3Client(new AthenaClient({}));
const s3 = tracer.captureAWSv3Client(new S3Client({}));

export const lambdaHandler = async (event: unknown): Promise<WriteRunReportResult> => {
  const { runId, billingPeriod } = parseInput(writeReportInputSchema, event, 'write-report input');
  const runResults = athenaEngine(athena, config, { database: config.DATABASE, runId, billingPeriod });
  const result = await writeRunReport(event, {
    runResults,
    s3,
    resultsBucket: config.RESULTS_BUCKET,
    logger: log,
  });
  metrics.addMetric('ReportsWritten', MetricUnit.Count, result.keys.length > 0 ? 1 : 0);
  metrics.addMetric('ReportBytes', MetricUnit.Bytes, result.bytes);
  return result;
};

export const handler = wrap(lambdaHandler);
