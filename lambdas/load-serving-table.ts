/**
 * **load-serving-table**: writes a published run's per-customer results into the DynamoDB serving table,
 * only what changed (see lambdas/README.md).
 *
 * Input: `{ runId, billingPeriod, deliveredAt }` (after publish-run returned `published: true`).
 * Output: `{ loaded: true, runId, billingPeriod, unloadLocation, rows, customers, written, deleted, unchanged, skippedNewer }`,
 * or `{ loaded: false, reason: 'run is not the published one', runId, billingPeriod, publishedRunId, written }`
 * when another run holds the period (checked first, and again every 20 write batches).
 * Steps: Athena `UNLOAD (SELECT ... FROM <run's customer_daily_cost> WHERE billing_period = ...) TO
 * 's3://RESULTS_BUCKET/runs/run=<runId>/serving/<uuid>/' WITH (format = 'JSON')` through AthenaEngine
 * (waits at most ATHENA_MAX_WAIT_SECONDS; a one-month aggregate takes seconds). Why UNLOAD rather than
 * reading the run's Parquet in the Lambda: no Parquet reader in the bundle (the ones for Node add
 * megabytes or native code), Athena already has the table and its KMS access, and JSON lines stream
 * with node:zlib. JSON UNLOAD is gzip-compressed by default; files are gunzipped when they start with
 * the gzip magic bytes. Then items: pk `CUSTOMER#<id>` sk `DAY#<date>`, and pk `CUSTOMER#<id>`
 * sk `MONTH#<period>` with gsi1pk `MONTH#<period>`, gsi1sk = month-to-date total (number); each with
 * `run_id`, `delivered_at`. Only changed items are written (BatchGetItem, compare, BatchWriteItem by
 * 25, unprocessed items retried with exponential backoff up to 8 attempts, then
 * `UnprocessedItemsError`); days and customers an earlier load wrote and this run lacks are deleted;
 * items whose stored `delivered_at` is later are left alone.
 * Errors: `UnprocessedItemsError`, `AthenaQueryError`, `AthenaQueryTimeoutError` (retry), and
 * `ServingDataError` (a bad line: do not retry).
 *
 * Environment: `TABLE_NAME`, `DATABASE`, `WORKGROUP`, `RESULTS_BUCKET`; `ATHENA_MAX_WAIT_SECONDS`
 * (default 300; function timeout 900 s, memory 1024 MB for ~300,000 customer-days);
 * `POWERTOOLS_METRICS_NAMESPACE`.
 * Metrics: `ServingItemsWritten`, `ServingItemsDeleted`, `ServingItemsUnchanged`.
 *
 * Permissions:
 * - `athena:StartQueryExecution`, `athena:GetQueryExecution`, `athena:GetQueryResults`,
 *   `athena:StopQueryExecution` on the workgroup; `glue:GetDatabase`, `glue:GetTable` on the database
 *   and `table/<db>/run_*`;
 * - results bucket: `s3:GetObject` on `runs/*`, `s3:PutObject` + `s3:AbortMultipartUpload` on
 *   `runs/*` (Athena writes the UNLOAD with the caller's credentials), `s3:ListBucket` with `s3:prefix`
 *   `runs/*`; query-results bucket as run-check; `kms:Decrypt`, `kms:GenerateDataKey`;
 * - `dynamodb:GetItem`, `dynamodb:BatchGetItem`, `dynamodb:BatchWriteItem` on the serving table,
 *   `dynamodb:Query` on its index `gsi1`.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { AthenaClient } from '@aws-sdk/client-athena';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { env, readConfig } from '../lib/pipeline/config.ts';
import {
  type LoadServingResult,
  loadServingInputSchema,
  loadServingTable,
} from '../lib/pipeline/load-serving-table.ts';
import { parseInput } from '../lib/pipeline/run-contract.ts';
import { athenaEngine } from './commons/athena-engine.ts';
import { observability } from './commons/observability.ts';

const SERVICE = 'load-serving-table';
const config = readConfig({
  TABLE_NAME: env.table(),
  DATABASE: env.database(),
  WORKGROUP: env.workgroup(),
  RESULTS_BUCKET: env.bucket(),
  ATHENA_MAX_WAIT_SECONDS: env.positiveInt(300),
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1).default('CostPerCustomer'),
});

const { metrics, tracer, log, wrap } = observability(SERVICE, config.POWERTOOLS_METRICS_NAMESPACE);
const athena = tracer.captureAWSv3Client(new AthenaClient({}));
const s3 = tracer.captureAWSv3Client(new S3Client({}));
const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient({}));

export const lambdaHandler = async (event: unknown): Promise<LoadServingResult> => {
  const { runId, billingPeriod } = parseInput(loadServingInputSchema, event, 'load-serving-table input');
  const engine = athenaEngine(athena, config, { database: config.DATABASE, runId, billingPeriod });
  const result = await loadServingTable(event, {
    engine,
    s3,
    dynamodb,
    tableName: config.TABLE_NAME,
    database: config.DATABASE,
    resultsBucket: config.RESULTS_BUCKET,
    logger: log,
  });
  metrics.addMetric('ServingItemsWritten', MetricUnit.Count, result.written);
  if (result.loaded) {
    metrics.addMetric('ServingItemsDeleted', MetricUnit.Count, result.deleted);
    metrics.addMetric('ServingItemsUnchanged', MetricUnit.Count, result.unchanged);
  }
  return result;
};

export const handler = wrap(lambdaHandler);
