/**
 * **on-delivery**: starts one attribution run per CUR delivery (see lambdas/README.md for the whole
 * state machine contract).
 *
 * Trigger: S3 `s3:ObjectCreated:*` notifications of the CUR bucket, filtered to suffix `-Manifest.json`
 * (asynchronous invocation: configure retries and an on-failure destination or DLQ). Records of other
 * keys are ignored; keys arrive URL-encoded (`+` for a space) and are decoded here.
 *
 * Input: an S3 event `{ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name }, object: { key } } }] }`.
 * Output: `{ started, duplicate, incomplete, empty, ignored }` (counts of manifests).
 * Effect: `StartExecution` of STATE_MACHINE_ARN, name = run id (billing period + execution id), input
 * `{ billingPeriod, executionId, format, manifest: { bucket, key }, dataFiles, runId }` (start-run.ts
 * `RunInput`). A repeated event gets `ExecutionAlreadyExists` and counts as a duplicate.
 * Errors: `DeliveryEventError` when any manifest failed (unreadable `ManifestError`, missing
 * `ManifestNotFoundError`, AWS errors); the others were handled, and retrying the event is safe.
 *
 * Re-run: invoked directly with `{ "rerun": { "billingPeriod": "YYYY-MM" } }`, it starts a new run of
 * the period's latest CUR 2.0 delivery (lib/pipeline/on-delivery.ts `handleRerunRequest`) and returns
 * the start result (`status`, `executionName`, `executionArn`).
 *
 * Environment: `STATE_MACHINE_ARN`, `CUR_BUCKET`, `CUR_PREFIX`, `CUR_EXPORT_NAME` (required),
 * `POWERTOOLS_METRICS_NAMESPACE` (default `CostPerCustomer`).
 * Metrics: `RunsStarted`, `DuplicateDeliveries`, `IncompleteDeliveries`, `RerunsStarted`.
 *
 * Permissions:
 * - `s3:GetObject` on the CUR bucket's export prefix (manifests, and HeadObject of data files); and
 *   `s3:ListBucket` on the CUR bucket, condition `s3:prefix` = the export prefix, so a missing data file
 *   reads as 404 rather than 403; `kms:Decrypt` on the data key;
 * - `states:StartExecution` on the state machine.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { S3Event } from 'aws-lambda';
import * as z from 'zod';
import { env, readConfig } from '../lib/pipeline/config.ts';
import {
  DeliveryEventError,
  type DeliverySummary,
  handleDeliveryEvent,
  handleRerunRequest,
  isRerunRequest,
} from '../lib/pipeline/on-delivery.ts';
import type { StartRunResult } from '../lib/pipeline/start-run.ts';
import { observability } from './commons/observability.ts';

const SERVICE = 'on-delivery';
const config = readConfig({
  STATE_MACHINE_ARN: env.arn('states'),
  CUR_BUCKET: env.bucket(),
  CUR_PREFIX: z.string().min(1),
  CUR_EXPORT_NAME: z.string().min(1),
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1).default('CostPerCustomer'),
});

const { logger, metrics, tracer, log, wrap } = observability(SERVICE, config.POWERTOOLS_METRICS_NAMESPACE);
const s3 = tracer.captureAWSv3Client(new S3Client({}));
const sfn = tracer.captureAWSv3Client(new SFNClient({}));

function count(summary: Omit<DeliverySummary, 'results'>): void {
  metrics.addMetric('RunsStarted', MetricUnit.Count, summary.started);
  metrics.addMetric('DuplicateDeliveries', MetricUnit.Count, summary.duplicate);
  metrics.addMetric('IncompleteDeliveries', MetricUnit.Count, summary.incomplete);
}

export const lambdaHandler = async (
  event: S3Event | { rerun: unknown },
): Promise<Omit<DeliverySummary, 'results'> | StartRunResult> => {
  if (isRerunRequest(event)) {
    const result = await handleRerunRequest(event, {
      s3,
      sfn,
      stateMachineArn: config.STATE_MACHINE_ARN,
      curBucket: config.CUR_BUCKET,
      curPrefix: config.CUR_PREFIX,
      exportName: config.CUR_EXPORT_NAME,
      logger: log,
    });
    metrics.addMetric('RerunsStarted', MetricUnit.Count, result.status === 'started' ? 1 : 0);
    return result;
  }
  try {
    const { results: _results, ...summary } = await handleDeliveryEvent(event as S3Event, {
      s3,
      sfn,
      stateMachineArn: config.STATE_MACHINE_ARN,
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
