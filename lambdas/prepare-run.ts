/**
 * **prepare-run**: the state machine's first state. Checks what a run depends on before Athena spends
 * anything, and plans the run's statements. Input, output, errors, environment (`BILLING_TABLES`: the
 * Glue table of each deployed billing format, JSON; `BILLING_EXPORTS`: the export folder each reads), metrics and permissions: lambdas/README.md.
 * The work is in lib/pipeline/prepare-run.ts.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { BILLING_FORMAT_NAMES, BILLING_FORMATS } from '../lib/attribution/billing-formats.ts';
import { COST_BASES } from '../lib/attribution/rules.ts';
import { InputError } from '../lib/inputs/input-error.ts';
import { env, readConfig } from '../lib/pipeline/config.ts';
import {
  billingTablesOf,
  type PreparedRun,
  parsePrepareRunInput,
  prepareRun,
} from '../lib/pipeline/prepare-run.ts';
import { observability } from './commons/observability.ts';

const SERVICE = 'prepare-run';
const config = readConfig({
  DATA_BUCKET: env.bucket(),
  RESULTS_BUCKET: env.bucket(),
  DATABASE: env.database(),
  TENANT_TAG_KEY: z.string().min(1).max(128),
  COST_BASIS: z.enum(COST_BASES),
  BILLING_TABLES: env.billingTables(BILLING_FORMAT_NAMES, billingTablesOf([BILLING_FORMATS.cur2])),
  BILLING_EXPORTS: env.billingExports(BILLING_FORMAT_NAMES),
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1).default('CostPerCustomer'),
});

const { logger, metrics, tracer, log, wrap } = observability(SERVICE, config.POWERTOOLS_METRICS_NAMESPACE);
const s3 = tracer.captureAWSv3Client(new S3Client({}));

export const lambdaHandler = async (event: unknown): Promise<PreparedRun> => {
  try {
    const prepared = await prepareRun(parsePrepareRunInput(event), {
      s3,
      dataBucket: config.DATA_BUCKET,
      resultsBucket: config.RESULTS_BUCKET,
      database: config.DATABASE,
      tenantTagKey: config.TENANT_TAG_KEY,
      costBasis: config.COST_BASIS,
      billingTables: config.BILLING_TABLES,
      billingExports: config.BILLING_EXPORTS,
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
