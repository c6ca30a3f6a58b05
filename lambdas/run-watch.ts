/**
 * **run-watch**: every hour (an EventBridge schedule), publishes `OverduePeriods`, the number of billing
 * periods whose latest CUR delivery has no successful run 26 hours after it was delivered; the alarm
 * `OverduePeriodsAlarm` notifies the operations topic at 1 or more. Environment, metrics and
 * permissions: lambdas/README.md. The work is in lib/pipeline/run-watch.ts.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { env, readConfig } from '../lib/pipeline/config.ts';
import { type RunWatchResult, watchRuns } from '../lib/pipeline/run-watch.ts';
import { AWS_CLIENT_CONFIG } from './commons/aws-clients.ts';
import { observability } from './commons/observability.ts';

const SERVICE = 'run-watch';
const config = readConfig({
  TABLE_NAME: env.table(),
  MAX_HOURS: env.positiveInt(26),
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1).default('CostPerCustomer'),
});

const { metrics, tracer, log, wrap } = observability(SERVICE, config.POWERTOOLS_METRICS_NAMESPACE);
const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient(AWS_CLIENT_CONFIG));

export const lambdaHandler = async (): Promise<RunWatchResult> => {
  const result = await watchRuns({
    dynamodb,
    tableName: config.TABLE_NAME,
    maxHours: config.MAX_HOURS,
    logger: log,
  });
  // Published every hour, 0 included, so the alarm sees the period recover.
  metrics.addMetric('OverduePeriods', MetricUnit.Count, result.overdue.length);
  return result;
};

export const handler = wrap(lambdaHandler);
