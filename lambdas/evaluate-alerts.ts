/**
 * **evaluate-alerts**: when the period's pointer names the run, evaluates the alert types of
 * lib/alerts/alert-types.ts on the visible results, publishes the delivery plan's messages (P1 alone, P2
 * and weekly digests, the per-run cap) to SNS in batches and saves the run's alerts (core:
 * lib/pipeline/evaluate-alerts.ts). Input `{ runId, billingPeriod }`, parsed once here; output
 * `{ runId, billingPeriod, asOf, evaluated, sent, suppressed, messages, failedMessages, publishCalls,
 * sentAlerts, skipped? }`. Environment, permissions,
 * errors and retries: lambdas/README.md.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { AthenaClient } from '@aws-sdk/client-athena';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import * as z from 'zod';
import { ALERT_TYPES } from '../lib/alerts/alert-types.ts';
import { DynamoDbStateStore } from '../lib/alerts/dynamodb-state-store.ts';
import { ruleOwnersOf } from '../lib/alerts/evaluate-alerts.ts';
import { snsBatchPublisher } from '../lib/alerts/sns-publisher.ts';
import { COST_BASES } from '../lib/attribution/rules.ts';
import { env, readConfig } from '../lib/pipeline/config.ts';
import {
  type EvaluateRunAlertsResult,
  evaluateAlertsInputSchema,
  evaluateRunAlerts,
  periodReportUri,
} from '../lib/pipeline/evaluate-alerts.ts';
import { loadRules } from '../lib/pipeline/prepare-run.ts';
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
  // The rules file, for the owners its rules name (alert routing); read as prepare-run reads it.
  DATA_BUCKET: env.bucket(),
  TENANT_TAG_KEY: z.string().min(1).max(128),
  COST_BASIS: z.enum(COST_BASES),
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
const store = new DynamoDbStateStore(dynamodb, { tableName: config.TABLE_NAME });
const publish = snsBatchPublisher(sns, config.ALERT_TOPIC_ARN);

export const lambdaHandler = async (event: unknown): Promise<EvaluateRunAlertsResult> => {
  const input = parseInput(evaluateAlertsInputSchema, event, 'evaluate-alerts input');
  const { runId } = input;
  const inputs = athenaEngine(athena, config, { database: config.DATABASE, runId });
  // Read at each run: an owner changed in the rules file routes the next alerts.
  const { rules } = await loadRules({
    s3,
    dataBucket: config.DATA_BUCKET,
    tenantTagKey: config.TENANT_TAG_KEY,
    costBasis: config.COST_BASIS,
  });
  const result = await evaluateRunAlerts(input, {
    engine: new PublishedResultsReader({ inputs, database: config.DATABASE, runs: new Map() }),
    pointers: { dynamodb, tableName: config.TABLE_NAME },
    config: alertConfig,
    types: ALERT_TYPES,
    ruleOwners: ruleOwnersOf(rules.rules),
    store,
    publish,
    reportLocation: (billingPeriod) => periodReportUri(config.RESULTS_BUCKET, billingPeriod),
    saveAlerts: (alerts) => writeRunAlerts(s3, config.RESULTS_BUCKET, runId, alerts),
    logger: log,
  });
  metrics.addMetric('AlertsSent', MetricUnit.Count, result.sent);
  metrics.addMetric('AlertsSuppressed', MetricUnit.Count, result.suppressed);
  metrics.addMetric('AlertMessages', MetricUnit.Count, result.messages);
  metrics.addMetric('AlertMessagesFailed', MetricUnit.Count, result.failedMessages);
  metrics.addMetric('AlertPublishCalls', MetricUnit.Count, result.publishCalls);
  return result;
};

export const handler = wrap(lambdaHandler);
