/**
 * **load-serving-table**: stages a run's serving items in DynamoDB under the run's version (only the
 * customer-days that changed, plus every month summary), invisible until publish-run flips the period
 * pointer. Input, output, errors, environment, metrics and permissions: lambdas/README.md ("What each
 * step writes", "Choices": why UNLOAD to JSON). The work is in lib/pipeline/load-serving-table.ts.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { AthenaClient } from '@aws-sdk/client-athena';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { env, readConfig } from '../lib/pipeline/config.ts';
import {
  DEFAULT_SERVING_RETENTION_DAYS,
  type LoadServingResult,
  loadServingTable,
  parseLoadServingInput,
} from '../lib/pipeline/load-serving-table.ts';
import { athenaEngine } from './commons/athena-engine.ts';
import { observability } from './commons/observability.ts';

const SERVICE = 'load-serving-table';
const config = readConfig({
  TABLE_NAME: env.table(),
  DATABASE: env.database(),
  WORKGROUP: env.workgroup(),
  RESULTS_BUCKET: env.bucket(),
  ATHENA_MAX_WAIT_SECONDS: env.positiveInt(300),
  SERVING_RETENTION_DAYS: env.positiveInt(DEFAULT_SERVING_RETENTION_DAYS),
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1).default('CostPerCustomer'),
});

const { metrics, tracer, log, wrap } = observability(SERVICE, config.POWERTOOLS_METRICS_NAMESPACE);
const athena = tracer.captureAWSv3Client(new AthenaClient({}));
const s3 = tracer.captureAWSv3Client(new S3Client({}));
const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient({}));

export const lambdaHandler = async (event: unknown): Promise<LoadServingResult> => {
  const input = parseLoadServingInput(event);
  const { runId, billingPeriod } = input;
  const engine = athenaEngine(athena, config, { database: config.DATABASE, runId, billingPeriod });
  const result = await loadServingTable(input, {
    engine,
    s3,
    dynamodb,
    tableName: config.TABLE_NAME,
    database: config.DATABASE,
    resultsBucket: config.RESULTS_BUCKET,
    retentionDays: config.SERVING_RETENTION_DAYS,
    logger: log,
  });
  metrics.addMetric('ServingItemsWritten', MetricUnit.Count, result.written);
  metrics.addMetric('ServingItemsDeleted', MetricUnit.Count, result.daysDeleted);
  metrics.addMetric('ServingItemsUnchanged', MetricUnit.Count, result.daysUnchanged);
  return result;
};

export const handler = wrap(lambdaHandler);
