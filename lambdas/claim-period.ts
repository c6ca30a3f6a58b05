/**
 * **claim-period**: takes the billing period's lease for a checked run, so that runs of one period never
 * publish, load or alert at the same time. Input, output, errors, environment, metrics and permissions:
 * lambdas/README.md. The work is in lib/pipeline/claim-period.ts.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import {
  type ClaimPeriodResult,
  claimRunPeriod,
  parseClaimPeriodInput,
} from '../lib/pipeline/claim-period.ts';
import { env, readConfig } from '../lib/pipeline/config.ts';
import { observability } from './commons/observability.ts';

const SERVICE = 'claim-period';
const config = readConfig({
  TABLE_NAME: env.table(),
  LEASE_SECONDS: env.positiveInt(7200),
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1).default('CostPerCustomer'),
});

const { metrics, tracer, log, wrap } = observability(SERVICE, config.POWERTOOLS_METRICS_NAMESPACE);
const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient({}));

export const lambdaHandler = async (event: unknown): Promise<ClaimPeriodResult> => {
  const result = await claimRunPeriod(parseClaimPeriodInput(event), {
    dynamodb,
    tableName: config.TABLE_NAME,
    leaseSeconds: config.LEASE_SECONDS,
    logger: log,
  });
  metrics.addMetric(result.claimed ? 'PeriodsClaimed' : 'ClaimsSkipped', MetricUnit.Count, 1);
  return result;
};

export const handler = wrap(lambdaHandler);
