/**
 * **prepare-run**: the state machine's first state. Checks what a run depends on before Athena spends
 * anything, and plans the run's statements (see lambdas/README.md).
 *
 * Input: the execution input, `{ billingPeriod, executionId, format, manifest: { bucket, key }, dataFiles, runId }`.
 * Output: the input plus
 * `{ deliveredAt, rulesVersion, rulesSource, customers: { file, tenants }, statements: [{ name, kind: 'ctas' | 'check', sql }], cleanup: [{ name, kind: 'drop', sql }] }`,
 * at most 200 KiB (checked; the Step Functions limit is 256 KiB). `deliveredAt` is the LastModified of
 * the manifest object, read together with its content: publish-run and load-serving-table order
 * deliveries by it.
 * Errors (name = Step Functions error):
 * - `InputError`: the customers CSV (exactly one `.csv` under `customers/`, columns in the Glue table's
 *   order) or `rules/rules.json` is bad; the message names file, column and row. Fail the execution:
 *   what is published stays.
 * - `DeliverySupersededError`: the manifest now belongs to a later delivery, whose own run does the work;
 *   catch it and end the execution successfully (no alarm).
 * - `UnsupportedBillingFormatError`, `PreparedRunTooLargeError`, `PipelineInputError`, `ManifestError`.
 *
 * Environment: `DATA_BUCKET`, `RESULTS_BUCKET`, `DATABASE`, `TENANT_TAG_KEY`, `COST_BASIS`
 * (`amortized` | `net_amortized` | `unblended`); optional `CUR2_BILLING_TABLE` (default `cur2`),
 * `LEGACY_BILLING_TABLE`, `FOCUS_BILLING_TABLE` (runs of a format without a table fail);
 * `POWERTOOLS_METRICS_NAMESPACE`. No workgroup: nothing runs in Athena here.
 * Metrics: `RunsPrepared`, `InputsRejected`.
 *
 * Permissions:
 * - `s3:GetObject` on the CUR bucket's manifest keys (`<prefix>/<export>/metadata/*`), `kms:Decrypt`;
 * - `s3:ListBucket` on the data bucket with condition `s3:prefix` = `customers/`; `s3:GetObject` on
 *   `customers/*` and `rules/rules.json` (and `s3:ListBucket` on `rules/` so a missing rules file reads
 *   as NoSuchKey, not AccessDenied); `kms:Decrypt`.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { COST_BASES } from '../lib/attribution/rules.ts';
import { InputError } from '../lib/inputs/input-error.ts';
import { env, readConfig } from '../lib/pipeline/config.ts';
import { type PreparedRun, prepareRun } from '../lib/pipeline/prepare-run.ts';
import { observability } from './commons/observability.ts';

const SERVICE = 'prepare-run';
const glueTable = () => z.string().regex(/^[a-z0-9_]{1,255}$/, 'is not a Glue table name');
const config = readConfig({
  DATA_BUCKET: env.bucket(),
  RESULTS_BUCKET: env.bucket(),
  DATABASE: env.database(),
  TENANT_TAG_KEY: z.string().min(1).max(128),
  COST_BASIS: z.enum(COST_BASES),
  CUR2_BILLING_TABLE: glueTable().default('cur2'),
  LEGACY_BILLING_TABLE: glueTable().optional(),
  FOCUS_BILLING_TABLE: glueTable().optional(),
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1).default('CostPerCustomer'),
});

const { logger, metrics, tracer, log, wrap } = observability(SERVICE, config.POWERTOOLS_METRICS_NAMESPACE);
const s3 = tracer.captureAWSv3Client(new S3Client({}));

export const lambdaHandler = async (event: unknown): Promise<PreparedRun> => {
  try {
    const prepared = await prepareRun(event, {
      s3,
      dataBucket: config.DATA_BUCKET,
      resultsBucket: config.RESULTS_BUCKET,
      database: config.DATABASE,
      tenantTagKey: config.TENANT_TAG_KEY,
      costBasis: config.COST_BASIS,
      billingTables: {
        cur2: config.CUR2_BILLING_TABLE,
        legacy: config.LEGACY_BILLING_TABLE,
        focus: config.FOCUS_BILLING_TABLE,
      },
      logger: log,
    });
    metrics.addMetric('RunsPrepared', MetricUnit.Count, 1);
    return prepared;
  } catch (error: unknown) {
    if (error instanceof InputError) {
      metrics.addMetric('InputsRejected', MetricUnit.Count, 1);
      logger.error('Run input refused', { location: error.location, error });
    }
    throw error;
  }
};

// The response is ~24 KB of SQL: too much for trace metadata (an X-Ray segment holds 64 KB in all).
export const handler = wrap(lambdaHandler, { captureResponse: false });
