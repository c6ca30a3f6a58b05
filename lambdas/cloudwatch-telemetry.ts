/**
 * **cloudwatch-telemetry**: every day (an EventBridge schedule), reads the CloudWatch metrics configured
 * in `cpc:telemetryCloudWatch` for the last `LOOKBACK_DAYS` UTC days and writes each source's day as
 * `telemetry/usage_day=<day>/<source>/cloudwatch.json`, replacing what it wrote before. Invoked with
 * `{"days":["YYYY-MM-DD", ...]}` it reads those days instead (a backfill within CloudWatch's two weeks
 * of listed metrics). Environment, metrics and permissions: lambdas/README.md. The work is in
 * lib/pipeline/cloudwatch-telemetry.ts.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { cloudWatchSourcesSchema } from '../lib/inputs/cloudwatch-sources.ts';
import {
  type CloudWatchTelemetryObject,
  daysBefore,
  readCloudWatchTelemetry,
} from '../lib/pipeline/cloudwatch-telemetry.ts';
import { env, readConfig } from '../lib/pipeline/config.ts';
import { parseInput } from '../lib/pipeline/run-contract.ts';
import { AWS_CLIENT_CONFIG } from './commons/aws-clients.ts';
import { observability } from './commons/observability.ts';

const SERVICE = 'cloudwatch-telemetry';
const config = readConfig({
  DATA_BUCKET: env.bucket(),
  TELEMETRY_CLOUDWATCH: env.json().pipe(cloudWatchSourcesSchema),
  LOOKBACK_DAYS: env.positiveInt(2),
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1).default('CostPerCustomer'),
});

const eventSchema = z.object({
  days: z
    .array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'is not a day (YYYY-MM-DD)'))
    .min(1)
    .max(14)
    .optional(),
});

const { metrics, tracer, log, wrap } = observability(SERVICE, config.POWERTOOLS_METRICS_NAMESPACE);
const cloudwatch = tracer.captureAWSv3Client(new CloudWatchClient(AWS_CLIENT_CONFIG));
const s3 = tracer.captureAWSv3Client(new S3Client(AWS_CLIENT_CONFIG));

export const lambdaHandler = async (event: unknown): Promise<CloudWatchTelemetryObject[]> => {
  // The schedule's event carries EventBridge's fields and no `days`.
  const { days } = parseInput(eventSchema, event ?? {}, 'cloudwatch-telemetry input');
  const written = await readCloudWatchTelemetry({
    cloudwatch,
    s3,
    dataBucket: config.DATA_BUCKET,
    sources: config.TELEMETRY_CLOUDWATCH,
    days: days ?? daysBefore(new Date(), config.LOOKBACK_DAYS),
    logger: log,
  });
  metrics.addMetric(
    'TelemetryObjectsWritten',
    MetricUnit.Count,
    written.filter((object) => object.written).length,
  );
  return written;
};

export const handler = wrap(lambdaHandler);
