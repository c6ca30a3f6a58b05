/**
 * **on-delivery**: starts one attribution run per CUR delivery (S3 notification of `*-Manifest.json`),
 * or a re-run of a billing period when invoked with
 * `{ "rerun": { "billingPeriod": "YYYY-MM", "requestId": "<idempotency key>" } }`.
 * Trigger, input, output, errors, environment, metrics and permissions: lambdas/README.md. The work
 * is in lib/pipeline/on-delivery.ts and lib/pipeline/start-run.ts.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { Context, S3Event } from 'aws-lambda';
import * as z from 'zod';
import { MANIFEST_KINDS } from '../lib/attribution/billing-formats.ts';
import { env, readConfig } from '../lib/pipeline/config.ts';
import {
  DeliveryEventError,
  type DeliverySummary,
  handleDeliveryEvent,
  handleRerunRequest,
  parseOnDeliveryEvent,
} from '../lib/pipeline/on-delivery.ts';
import type { StartRunResult } from '../lib/pipeline/start-run.ts';
import { AWS_CLIENT_CONFIG } from './commons/aws-clients.ts';
import { observability } from './commons/observability.ts';

const SERVICE = 'on-delivery';
const config = readConfig({
  STATE_MACHINE_ARN: env.arn('states'),
  CUR_BUCKET: env.bucket(),
  CUR_PREFIX: z.string().min(1),
  CUR_EXPORT_NAME: z.string().min(1),
  // The further exports by name, and the manifest kind of each (re-runs of them).
  FURTHER_EXPORTS: z
    .string()
    .default('{}')
    .pipe(env.json().pipe(z.record(z.string(), z.enum(MANIFEST_KINDS)))),
  // The CUR 2.0 export's source accounts (`cpc:sourceAccountIds`), for re-runs.
  SOURCE_ACCOUNTS: z
    .string()
    .default('[]')
    .pipe(env.json().pipe(z.array(z.string().regex(/^\d{12}$/, 'is not a 12-digit account id')))),
  TABLE_NAME: env.table(),
  DELIVERY_ATTEMPTS: env.positiveInt(3),
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1).default('CostPerCustomer'),
});

const { logger, metrics, tracer, log, wrap } = observability(SERVICE, config.POWERTOOLS_METRICS_NAMESPACE);
const s3 = tracer.captureAWSv3Client(new S3Client(AWS_CLIENT_CONFIG));
const sfn = tracer.captureAWSv3Client(new SFNClient(AWS_CLIENT_CONFIG));
const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient(AWS_CLIENT_CONFIG));

function count(summary: Omit<DeliverySummary, 'results'>): void {
  metrics.addMetric('RunsStarted', MetricUnit.Count, summary.started);
  metrics.addMetric('DuplicateDeliveries', MetricUnit.Count, summary.duplicate);
  metrics.addMetric('IncompleteDeliveries', MetricUnit.Count, summary.incomplete);
}

export const lambdaHandler = async (
  event: S3Event | { rerun: unknown },
  context: Pick<Context, 'awsRequestId'>,
): Promise<Omit<DeliverySummary, 'results'> | StartRunResult> => {
  const parsed = parseOnDeliveryEvent(event);
  if (parsed.kind === 'rerun') {
    const result = await handleRerunRequest(parsed.request, {
      s3,
      sfn,
      stateMachineArn: config.STATE_MACHINE_ARN,
      curBucket: config.CUR_BUCKET,
      curPrefix: config.CUR_PREFIX,
      exportName: config.CUR_EXPORT_NAME,
      furtherExports: config.FURTHER_EXPORTS,
      sourceAccounts: config.SOURCE_ACCOUNTS,
      invocationId: context.awsRequestId,
      logger: log,
    });
    metrics.addMetric('RerunsStarted', MetricUnit.Count, result.status === 'started' ? 1 : 0);
    return result;
  }
  try {
    const { results: _results, ...summary } = await handleDeliveryEvent(parsed.event, {
      s3,
      sfn,
      stateMachineArn: config.STATE_MACHINE_ARN,
      deliveries: { dynamodb, tableName: config.TABLE_NAME },
      attempts: config.DELIVERY_ATTEMPTS,
      logger: log,
    });
    count(summary);
    return summary;
  } catch (error: unknown) {
    if (error instanceof DeliveryEventError) {
      count(error.summary);
      for (const failure of error.errors) logger.error('Manifest not handled', failure as Error);
    }
    throw error;
  }
};

export const handler = wrap(lambdaHandler);
