/**
 * **publish-run**: makes a checked run the visible one of its billing period: registers its partitions,
 * flips the period pointer (while the run holds the period's lease), writes the pointer's Athena image,
 * and expires the run it replaced. Input, output, errors, environment, metrics and permissions: lambdas/README.md.
 * The work is in lib/pipeline/publish-run.ts.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GlueClient } from '@aws-sdk/client-glue';
import { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { env, readConfig } from '../lib/pipeline/config.ts';
import { type PublishRunResult, parsePublishRunInput, publishRun } from '../lib/pipeline/publish-run.ts';
import { observability } from './commons/observability.ts';

const SERVICE = 'publish-run';
const config = readConfig({
  TABLE_NAME: env.table(),
  DATABASE: env.database(),
  RESULTS_BUCKET: env.bucket(),
  MAX_TAGGED_OBJECTS: env.positiveInt(2000),
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1).default('CostPerCustomer'),
});

const { metrics, tracer, log, wrap } = observability(SERVICE, config.POWERTOOLS_METRICS_NAMESPACE);
const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient({}));
const glue = tracer.captureAWSv3Client(new GlueClient({}));
const s3 = tracer.captureAWSv3Client(new S3Client({}));

export const lambdaHandler = async (event: unknown): Promise<PublishRunResult> => {
  const result = await publishRun(parsePublishRunInput(event), {
    dynamodb,
    glue,
    s3,
    tableName: config.TABLE_NAME,
    database: config.DATABASE,
    resultsBucket: config.RESULTS_BUCKET,
    maxTaggedObjects: config.MAX_TAGGED_OBJECTS,
    logger: log,
  });
  metrics.addMetric('RunsPublished', MetricUnit.Count, 1);
  metrics.addMetric('SupersededObjectsTagged', MetricUnit.Count, result.expired?.superseded.tagged ?? 0);
  return result;
};

export const handler = wrap(lambdaHandler);
