/**
 * **cleanup**: removes a run's tables from the Glue catalog, on success and from the failure path, and
 * marks the files of a run that is not published for expiry (see lambdas/README.md).
 *
 * Input: `{ runId, billingPeriod }`.
 * Output: `{ runId, dropped: [glue table], missing: [glue table], published, superseded: { runId, tagged, truncated } | null }`.
 * Deletes the run's tables (`run_<run id>_<stage>`, the names `planAthenaCleanup` drops) with Glue
 * `DeleteTable` rather than Athena `DROP TABLE`: same result for these external tables (metadata only;
 * the Parquet the published partitions point at stays), without a query to start, poll and pay for
 * (Athena DDL is free, but each statement still takes a query slot and seconds of polling). Tables
 * already gone count as `missing`, so it is safe to retry. Then, unless the run is the published one for
 * its period (pk `PUBLISHED#<period>`), tags its `runs/run=<runId>/` objects
 * `cost-per-customer:run-state=superseded` so the lifecycle rule expires them.
 * Errors: Glue, DynamoDB, S3 errors: retry.
 *
 * Environment: `DATABASE`, `RESULTS_BUCKET`, `TABLE_NAME`; `MAX_TAGGED_OBJECTS` (default 2000);
 * `POWERTOOLS_METRICS_NAMESPACE`.
 * Metrics: `RunTablesDropped`, `SupersededObjectsTagged`.
 *
 * Permissions:
 * - `glue:DeleteTable` (and `glue:GetTable`) on the catalog, the database and `table/<db>/run_*`;
 * - `dynamodb:GetItem` on the serving table;
 * - `s3:ListBucket` (prefix `runs/*`) and `s3:PutObjectTagging` on `runs/*` of the results bucket.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GlueClient } from '@aws-sdk/client-glue';
import { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { type CleanupResult, cleanupRun } from '../lib/pipeline/cleanup.ts';
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
  const result = await cleanupRun(event, {
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
  return result;
};

export const handler = wrap(lambdaHandler);
