/**
 * **run-check**: runs one of a run's checks (`invalid_line_items`, `conservation_check`) in Athena and
 * fails the execution when it does not hold, before anything is published (see lambdas/README.md).
 *
 * Input (one Map item, kind `check`): `{ runId, billingPeriod, statement: { name, kind: 'check', sql } }`.
 * The SQL must be the statement prepare-run planned for this run (it is rebuilt and compared; any other
 * text is refused with `UnexpectedCheckSqlError`, so the function never runs SQL from its input).
 * Output: `{ runId, name, passed: true }`.
 * Errors (name = Step Functions error; do not retry them, fail the execution):
 * - `InvalidLineItemsError`: `invalid_groups` > 0 (unparseable dates or non-finite costs);
 * - `ConservationError`: the conservation check returned days that break it;
 * - `AthenaQueryError` (`retryable` ones are restarted inside first), `AthenaQueryTimeoutError`
 *   (the query is stopped after ATHENA_MAX_WAIT_SECONDS): retry these in the state machine.
 *
 * Environment: `DATABASE`, `WORKGROUP`, `RESULTS_BUCKET`; `ATHENA_MAX_WAIT_SECONDS` (default 240; keep
 * the function timeout above it, e.g. 300 s); `POWERTOOLS_METRICS_NAMESPACE`.
 * Metrics: `ChecksPassed`, `ChecksFailed`.
 *
 * Permissions:
 * - `athena:StartQueryExecution`, `athena:GetQueryExecution`, `athena:GetQueryResults`,
 *   `athena:StopQueryExecution` on the workgroup;
 * - `glue:GetDatabase` on the catalog and database, `glue:GetTable` on `table/<db>/run_*`;
 * - `s3:GetObject` + `s3:ListBucket` (prefix `runs/*`) on the results bucket; on the query-results
 *   bucket `s3:GetObject`, `s3:PutObject`, `s3:GetBucketLocation`, `s3:ListBucket`,
 *   `s3:AbortMultipartUpload` under `athena/`; `kms:Decrypt`, `kms:GenerateDataKey` on the data key.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { AthenaClient } from '@aws-sdk/client-athena';
import * as z from 'zod';
import { ConservationError, InvalidLineItemsError } from '../lib/attribution/stages.ts';
import { env, readConfig } from '../lib/pipeline/config.ts';
import { type RunCheckResult, runCheck, runCheckInputSchema } from '../lib/pipeline/run-check.ts';
import { parseInput } from '../lib/pipeline/run-contract.ts';
import { athenaEngine } from './commons/athena-engine.ts';
import { observability } from './commons/observability.ts';

const SERVICE = 'run-check';
const config = readConfig({
  DATABASE: env.database(),
  WORKGROUP: env.workgroup(),
  RESULTS_BUCKET: env.bucket(),
  ATHENA_MAX_WAIT_SECONDS: env.positiveInt(240),
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1).default('CostPerCustomer'),
});

const { metrics, tracer, log, wrap } = observability(SERVICE, config.POWERTOOLS_METRICS_NAMESPACE);
const athena = tracer.captureAWSv3Client(new AthenaClient({}));

export const lambdaHandler = async (event: unknown): Promise<RunCheckResult> => {
  const { runId, billingPeriod } = parseInput(runCheckInputSchema, event, 'run-check input');
  const engine = athenaEngine(athena, config, { database: config.DATABASE, runId, billingPeriod });
  try {
    const result = await runCheck(event, {
      engine,
      database: config.DATABASE,
      resultsBucket: config.RESULTS_BUCKET,
      logger: log,
    });
    metrics.addMetric('ChecksPassed', MetricUnit.Count, 1);
    return result;
  } catch (error: unknown) {
    if (error instanceof InvalidLineItemsError || error instanceof ConservationError) {
      metrics.addMetric('ChecksFailed', MetricUnit.Count, 1);
    }
    throw error;
  }
};

export const handler = wrap(lambdaHandler);
