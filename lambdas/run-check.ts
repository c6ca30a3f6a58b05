/**
 * **run-check**: runs one of a run's checks by name and fails the execution when it does not hold,
 * before anything is published. Input, output, errors, environment, metrics and permissions:
 * lambdas/README.md. The work is in lib/pipeline/run-check.ts.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { AthenaClient } from '@aws-sdk/client-athena';
import * as z from 'zod';
import {
  ConservationError,
  InvalidLineItemsError,
  InvalidTelemetryError,
} from '../lib/attribution/stages.ts';
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
  const input = parseInput(runCheckInputSchema, event, 'run-check input');
  const { runId, billingPeriod } = input;
  const reader = athenaEngine(athena, config, { database: config.DATABASE, runId, billingPeriod });
  try {
    const result = await runCheck(input, { reader, logger: log });
    metrics.addMetric('ChecksPassed', MetricUnit.Count, 1);
    return result;
  } catch (error: unknown) {
    if (
      error instanceof InvalidTelemetryError ||
      error instanceof InvalidLineItemsError ||
      error instanceof ConservationError
    ) {
      metrics.addMetric('ChecksFailed', MetricUnit.Count, 1);
    }
    throw error;
  }
};

export const handler = wrap(lambdaHandler);
