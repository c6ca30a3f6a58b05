/**
 * **on-input**: an S3 notification of the data bucket (`customers/incoming/`, `rules/incoming/`,
 * `telemetry/`) validates an upload and makes it current, or starts a late-telemetry re-run; the hourly
 * schedule (`{"sweep":"late-telemetry"}`) starts the late-telemetry re-runs that waited for their hour.
 * Re-runs are asynchronous invocations of on-delivery, the serialised run path. Environment, metrics and
 * permissions: lambdas/README.md. The work is in lib/pipeline/on-input.ts.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { S3Event } from 'aws-lambda';
import * as z from 'zod';
import { lineText } from '../lib/alerts/safe-text.ts';
import { COST_BASES } from '../lib/attribution/rules.ts';
import { env, readConfig } from '../lib/pipeline/config.ts';
import {
  handleInputEvent,
  type InputSummary,
  type OnInputOptions,
  type Rejection,
  type RerunRequest,
  sweepLateTelemetry,
} from '../lib/pipeline/on-input.ts';
import { AWS_CLIENT_CONFIG } from './commons/aws-clients.ts';
import { observability } from './commons/observability.ts';

const SERVICE = 'on-input';
const config = readConfig({
  DATA_BUCKET: env.bucket(),
  CUR_PREFIX: z.string().min(1),
  TENANT_TAG_KEY: z.string().min(1).max(128),
  COST_BASIS: z.enum(COST_BASES),
  TABLE_NAME: env.table(),
  ON_DELIVERY_FUNCTION: env.arn('lambda'),
  OPERATIONS_TOPIC_ARN: env.arn('sns'),
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1).default('CostPerCustomer'),
});

const { metrics, tracer, log, wrap } = observability(SERVICE, config.POWERTOOLS_METRICS_NAMESPACE);
const s3 = tracer.captureAWSv3Client(new S3Client(AWS_CLIENT_CONFIG));
const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient(AWS_CLIENT_CONFIG));
const lambda = tracer.captureAWSv3Client(new LambdaClient(AWS_CLIENT_CONFIG));
const sns = tracer.captureAWSv3Client(new SNSClient(AWS_CLIENT_CONFIG));

/** Asks on-delivery for the re-run, asynchronously: its retries and dead-letter queue take over. */
async function requestRerun(rerun: RerunRequest): Promise<void> {
  await lambda.send(
    new InvokeCommand({
      FunctionName: config.ON_DELIVERY_FUNCTION,
      InvocationType: 'Event',
      Payload: JSON.stringify({ rerun }),
    }),
  );
}

/** The operations topic's message for a rejected upload: plain text, the data values on their own lines. */
export function rejectionMessage(rejection: Rejection): string {
  return [
    'An upload to the cost-per-customer data bucket was rejected; the runs go on reading the current file.',
    '',
    `Upload: ${lineText(rejection.file, 1024)}`,
    `Error: ${lineText(rejection.error, 4000)}`,
    `Current file: ${lineText(rejection.current, 1024)}`,
    '',
    'Fix the file and upload it again under the same folder; it is checked again on arrival.',
  ].join('\n');
}

async function reject(rejection: Rejection): Promise<void> {
  await sns.send(
    new PublishCommand({
      TopicArn: config.OPERATIONS_TOPIC_ARN,
      Subject: 'Cost per customer: upload rejected',
      Message: rejectionMessage(rejection),
    }),
  );
}

const options: OnInputOptions = {
  s3,
  dataBucket: config.DATA_BUCKET,
  tenantTagKey: config.TENANT_TAG_KEY,
  costBasis: config.COST_BASIS,
  curPrefix: config.CUR_PREFIX,
  deliveries: { dynamodb, tableName: config.TABLE_NAME },
  requestRerun,
  reject,
  logger: log,
};

const sweepSchema = z.object({ sweep: z.literal('late-telemetry') });

export const lambdaHandler = async (
  event: Partial<S3Event> | { sweep: string },
): Promise<InputSummary | { reruns: readonly RerunRequest[] }> => {
  if ('sweep' in event) {
    sweepSchema.parse(event);
    const reruns = await sweepLateTelemetry(options);
    metrics.addMetric('LateTelemetryReruns', MetricUnit.Count, reruns.length);
    return { reruns };
  }
  const summary = await handleInputEvent(event as Partial<S3Event>, options);
  metrics.addMetric('UploadsAccepted', MetricUnit.Count, summary.accepted.length);
  metrics.addMetric('RejectedUploads', MetricUnit.Count, summary.rejected.length);
  metrics.addMetric(
    'LateTelemetryReruns',
    MetricUnit.Count,
    summary.lateTelemetry.filter((late) => late.rerun).length,
  );
  return summary;
};

export const handler = wrap(lambdaHandler);
