/**
 * **publish-run**: makes a checked run the published results of its billing period, unless a later
 * delivery already is (see lambdas/README.md).
 *
 * Input: `{ runId, billingPeriod, executionId, deliveredAt }`; `deliveredAt` is prepare-run's output
 * (the manifest's LastModified, ISO 8601), which orders the deliveries of a period.
 * Output: `{ published: true, runId, billingPeriod, deliveredAt, previousRunId, partitions: [{ table, action, location }], superseded }`
 * or `{ published: false, reason: 'newer run already published', runId, billingPeriod, publishedRunId }`
 * (not an error: route it with a Choice state past load-serving-table and evaluate-alerts to cleanup).
 * Steps: (a) conditional PutItem of pk `PUBLISHED#<period>` sk `RUN` (absent, older, or this same run);
 * (b) each result table's partition `billing_period=<period>` -> `s3://RESULTS_BUCKET/runs/run=<runId>/<table>/`
 * (GetTable for the StorageDescriptor; GetPartition then UpdatePartition, or CreatePartition);
 * (c) the replaced run's objects get the tag `cost-per-customer:run-state=superseded` (at most
 * MAX_TAGGED_OBJECTS per call), which the results bucket's lifecycle rule `ExpireSupersededRuns` expires.
 * Idempotent: retry it on any error (a retried call re-claims the period for the same run and redoes
 * (b) and (c)).
 *
 * Environment: `TABLE_NAME`, `DATABASE`, `RESULTS_BUCKET`; `MAX_TAGGED_OBJECTS` (default 2000);
 * `POWERTOOLS_METRICS_NAMESPACE`.
 * Metrics: `RunsPublished`, `PublishesSkipped`, `SupersededObjectsTagged`.
 *
 * Permissions:
 * - `dynamodb:PutItem` on the serving table (condition `dynamodb:LeadingKeys` = `PUBLISHED#*` if wanted);
 * - `glue:GetTable`, `glue:GetPartition`, `glue:CreatePartition`, `glue:UpdatePartition` on the catalog,
 *   the database and the four result tables (`customer_daily_cost`, `customer_daily_service_cost`,
 *   `unattributed_cost`, `daily_summary`);
 * - `s3:ListBucket` on the results bucket with `s3:prefix` `runs/*`, `s3:PutObjectTagging` on
 *   `runs/*` (no version id is given, so the current version is tagged);
 * - `kms:Decrypt`, `kms:GenerateDataKey` on the key the serving table is encrypted with.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GlueClient } from '@aws-sdk/client-glue';
import { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { env, readConfig } from '../lib/pipeline/config.ts';
import { type PublishRunResult, publishRun } from '../lib/pipeline/publish-run.ts';
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
  const result = await publishRun(event, {
    dynamodb,
    glue,
    s3,
    tableName: config.TABLE_NAME,
    database: config.DATABASE,
    resultsBucket: config.RESULTS_BUCKET,
    maxTaggedObjects: config.MAX_TAGGED_OBJECTS,
    logger: log,
  });
  if (result.published) {
    metrics.addMetric('RunsPublished', MetricUnit.Count, 1);
    metrics.addMetric('SupersededObjectsTagged', MetricUnit.Count, result.superseded?.tagged ?? 0);
  } else {
    metrics.addMetric('PublishesSkipped', MetricUnit.Count, 1);
  }
  return result;
};

export const handler = wrap(lambdaHandler);
