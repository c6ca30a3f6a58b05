/**
 * **evaluate-alerts**: evaluates the alert rules (docs/alerts.md) on the published results and
 * publishes what should go out to SNS (see lambdas/README.md).
 *
 * Input: `{ runId, billingPeriod, published? }` (`published: false` from publish-run skips evaluation).
 * Output: `{ runId, billingPeriod, asOf, evaluated, sent, suppressed, sentAlerts: ['type|subject|severity', ...] }`.
 * Reads the PUBLISHED Glue results tables (`"<db>"."customer_daily_cost"`, ...; not the run's tables:
 * the 30-day window reaches into earlier months), restricted to the billing periods of the window, and
 * the customers input table. D = latest usage day of `daily_summary` minus one. Each alert is published
 * with message attributes `severity`, `alert_type`, `team` (+ `customer_id`, `tier`), then recorded as
 * sent in the serving table (pk `ALERT#<type>|<subject>`, sk `SENT`, TTL `expires_at`). Every evaluated
 * alert, with `notify` (sent by this evaluation), is then written to `runs/run=<runId>/alerts.json`.
 * Errors: `AthenaQueryError`, `AthenaQueryTimeoutError`, SNS and DynamoDB errors: retry. Alerts already
 * sent are recorded, so a retry does not send them twice (within the renotify period).
 *
 * Environment: `DATABASE`, `WORKGROUP`, `RESULTS_BUCKET`, `TABLE_NAME`, `ALERT_TOPIC_ARN`,
 * `ALERT_CONFIG` (JSON of lib/alerts/alert-config.ts; `{}` for the defaults); `ATHENA_MAX_WAIT_SECONDS`
 * (default 120 per query; five small queries); `POWERTOOLS_METRICS_NAMESPACE`.
 * Metrics: `AlertsSent`, `AlertsSuppressed`.
 *
 * Permissions:
 * - `athena:StartQueryExecution`, `athena:GetQueryExecution`, `athena:GetQueryResults`,
 *   `athena:StopQueryExecution` on the workgroup; `glue:GetDatabase`, `glue:GetTable`,
 *   `glue:GetPartitions` on the database, the four result tables and `customers`;
 * - `s3:GetObject` + `s3:ListBucket` on the results bucket (`runs/*`) and the data bucket
 *   (`customers/*`); `s3:PutObject` on `runs/*`; query-results bucket as run-check; `kms:Decrypt`, `kms:GenerateDataKey`;
 * - `dynamodb:BatchGetItem`, `dynamodb:PutItem` on the serving table;
 * - `sns:Publish` on the alert topic (+ `kms:GenerateDataKey`, `kms:Decrypt` on its key).
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { AthenaClient } from '@aws-sdk/client-athena';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import * as z from 'zod';
import { DynamoDbStateStore } from '../lib/alerts/dynamodb-state-store.ts';
import { snsPublisher } from '../lib/alerts/sns-publisher.ts';
import { env, readConfig } from '../lib/pipeline/config.ts';
import {
  type EvaluateRunAlertsResult,
  evaluateAlertsInputSchema,
  evaluateRunAlerts,
} from '../lib/pipeline/evaluate-alerts.ts';
import { PublishedResultsReader } from '../lib/pipeline/published-results.ts';
import { writeRunAlerts } from '../lib/pipeline/run-alerts.ts';
import { parseInput } from '../lib/pipeline/run-contract.ts';
import { athenaEngine } from './commons/athena-engine.ts';
import { observability } from './commons/observability.ts';

const SERVICE = 'evaluate-alerts';
const config = readConfig({
  DATABASE: env.database(),
  WORKGROUP: env.workgroup(),
  RESULTS_BUCKET: env.bucket(),
  TABLE_NAME: env.table(),
  ALERT_TOPIC_ARN: env.arn('sns'),
  ALERT_CONFIG: env.alertConfig(),
  ATHENA_MAX_WAIT_SECONDS: env.positiveInt(120),
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1).default('CostPerCustomer'),
});
const alertConfig = config.ALERT_CONFIG;

const { metrics, tracer, log, wrap } = observability(SERVICE, config.POWERTOOLS_METRICS_NAMESPACE);
const athena = tracer.captureAWSv3Client(new AthenaClient({}));
const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient({}));
const sns = tracer.captureAWSv3Client(new SNSClient({}));
const s3 = tracer.captureAWSv3Client(new S3Client({}));
const store = new DynamoDbStateStore(dynamodb, {
  tableName: config.TABLE_NAME,
  renotifyDays: alertConfig.renotifyDays,
});
const publish = snsPublisher(sns, config.ALERT_TOPIC_ARN);

export const lambdaHandler = async (event: unknown): Promise<EvaluateRunAlertsResult> => {
  const { runId } = parseInput(evaluateAlertsInputSchema, event, 'evaluate-alerts input');
  const inputs = athenaEngine(athena, config, { database: config.DATABASE, runId });
  const result = await evaluateRunAlerts(event, {
    engine: new PublishedResultsReader({ inputs, database: config.DATABASE }),
    config: alertConfig,
    store,
    publish,
    saveAlerts: (alerts) => writeRunAlerts(s3, config.RESULTS_BUCKET, runId, alerts),
    logger: log,
  });
  metrics.addMetric('AlertsSent', MetricUnit.Count, result.sent);
  metrics.addMetric('AlertsSuppressed', MetricUnit.Count, result.suppressed);
  return result;
};

export const handler = wrap(lambdaHandler);
