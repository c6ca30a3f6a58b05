/**
 * **cleanup**: drops a run's Glue tables, retires a run that is not visible (its files tagged for expiry,
 * its `_runs` partitions deleted), finishes a publish that failed after its flip, and releases the
 * period's lease.
 * Input, output, environment, metrics and permissions: lambdas/README.md ("Data flow", "Functions",
 * "Choices"). The work is in lib/pipeline/cleanup.ts.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GlueClient } from '@aws-sdk/client-glue';
import { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { type CleanupResult, cleanupRun, parseCleanupInput } from '../lib/pipeline/cleanup.ts';
import { env, readConfig } from '../lib/pipeline/config.ts';
import { observability } from './commons/observability.ts';

const SERVICE = 'cleanup';
const config = readConfig({
  DATABASE: env.database(),
  RESULTS_BUCKET: env.bucket(),
  TABLE_NAME: env.table(),
  MAX_TAGGED_OBJECTS: env.positiveInt(2000),
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1).default('CostPerCustomer'),
});

const { metrics, tracer, log, wrap } = observability(SERVICE, config.POWERTOOLS_METRICS_NAMESPACE);
const glue = tracer.captureAWSv3Client(new GlueClient({}));
const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient({}));
const s3 = tracer.captureAWSv3Client(new S3Client({}));

export const lambdaHandler = async (event: unknown): Promise<CleanupResult> => {
  const result = await cleanupRun(parseCleanupInput(event), {
    glue,
    dynamodb,
    s3,
    database: config.DATABASE,
    resultsBucket: config.RESULTS_BUCKET,
    tableName: config.TABLE_NAME,
    maxTaggedObjects: config.MAX_TAGGED_OBJECTS,
    logger: log,
  });
  metrics.addMetric('RunTablesDropped', MetricUnit.Count, result.dropped.length);
  metrics.addMetric('SupersededObjectsTagged', MetricUnit.Count, result.superseded?.tagged ?? 0);
  if (result.completedPublish) metrics.addMetric('PublishesCompleted', MetricUnit.Count, 1);
  return result;
};

export const handler = wrap(lambdaHandler);
