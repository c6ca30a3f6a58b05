import { createHash } from 'node:crypto';
import {
  type CloudWatchClient,
  GetMetricDataCommand,
  ListMetricsCommand,
  type Metric,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isNotFound } from '../common/aws-errors.ts';
import { PREFIXES } from '../common/names.ts';
import type { CloudWatchSource } from '../inputs/cloudwatch-sources.ts';
import type { RunLogger } from './start-run.ts';

/*
 * The CloudWatch telemetry reader (docs/aws-pipeline.md, "Getting telemetry in"): for each configured
 * source, a CloudWatch metric that carries the tenant in one dimension, the day's statistic per tenant,
 * written as the source's one object of the day, so a day read again replaces what it read before.
 */

/** GetMetricData takes at most 500 queries a request. */
export const METRICS_PER_REQUEST = 500;

const DAY_SECONDS = 86_400;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The object a source's day is written to: one per (source, day), replaced when the day is read again. */
export function cloudWatchObjectKey(source: string, day: string): string {
  return `${PREFIXES.telemetry}usage_day=${day}/${source}/cloudwatch.json`;
}

/** The `count` UTC days before `today` (YYYY-MM-DD), oldest first: yesterday is the last. */
export function daysBefore(today: Date, count: number): string[] {
  const midnight = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  return Array.from({ length: count }, (_, i) =>
    new Date(midnight - (count - i) * DAY_SECONDS * 1000).toISOString().slice(0, 10),
  );
}

/**
 * The source's metrics with the tenant dimension and no other (a metric that is also split by another
 * dimension, an endpoint, would count the tenant once per endpoint for a Sum and mean nothing for an
 * Average), tenant by tenant, through every page of ListMetrics. ListMetrics lists the metrics with data
 * in the last two weeks, which is as far back as this reader looks.
 */
async function tenantMetrics(cloudwatch: CloudWatchClient, source: CloudWatchSource): Promise<Metric[]> {
  const metrics: Metric[] = [];
  let nextToken: string | undefined;
  do {
    const page = await cloudwatch.send(
      new ListMetricsCommand({
        Namespace: source.namespace,
        MetricName: source.metricName,
        Dimensions: [{ Name: source.tenantDimension }],
        ...(nextToken ? { NextToken: nextToken } : {}),
      }),
    );
    for (const metric of page.Metrics ?? []) {
      const dimensions = metric.Dimensions ?? [];
      if (dimensions.length === 1 && dimensions[0]?.Name === source.tenantDimension && dimensions[0].Value) {
        metrics.push(metric);
      }
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return metrics;
}

/** The day's statistic of each metric (by index), through every page, in requests of at most 500. */
async function dayValues(
  cloudwatch: CloudWatchClient,
  source: CloudWatchSource,
  metrics: readonly Metric[],
  day: string,
): Promise<Map<number, number>> {
  const start = new Date(`${day}T00:00:00.000Z`);
  const end = new Date(start.getTime() + DAY_SECONDS * 1000);
  const values = new Map<number, number>();
  for (let first = 0; first < metrics.length; first += METRICS_PER_REQUEST) {
    const queries: MetricDataQuery[] = metrics.slice(first, first + METRICS_PER_REQUEST).map((metric, i) => ({
      Id: `m${first + i}`,
      MetricStat: { Metric: metric, Period: DAY_SECONDS, Stat: source.statistic },
      ReturnData: true,
    }));
    let nextToken: string | undefined;
    do {
      const page = await cloudwatch.send(
        new GetMetricDataCommand({
          MetricDataQueries: queries,
          StartTime: start,
          EndTime: end,
          ScanBy: 'TimestampAscending',
          ...(nextToken ? { NextToken: nextToken } : {}),
        }),
      );
      for (const result of page.MetricDataResults ?? []) {
        const index = Number(result.Id?.slice(1));
        // One datapoint a day (the period is the day); a page may carry a metric's values in parts.
        for (const value of result.Values ?? []) values.set(index, (values.get(index) ?? 0) + value);
      }
      nextToken = page.NextToken;
    } while (nextToken);
  }
  return values;
}

export interface ReadCloudWatchTelemetryOptions {
  readonly cloudwatch: CloudWatchClient;
  readonly s3: S3Client;
  /** The data bucket, whose `telemetry/` the runs read. */
  readonly dataBucket: string;
  readonly sources: readonly CloudWatchSource[];
  /** The UTC days to read (YYYY-MM-DD). */
  readonly days: readonly string[];
  readonly logger?: RunLogger;
}

export interface CloudWatchTelemetryObject {
  readonly source: string;
  readonly day: string;
  readonly key: string;
  /** Tenants with a value that day. */
  readonly tenants: number;
  /**
   * Whether the object was written: a day read again with the same values is left as it is, so that it
   * does not count as late telemetry and re-run its billing period (lib/pipeline/late-telemetry.ts).
   */
  readonly written: boolean;
}

/** The metadata field holding the SHA-256 of the object's body (SSE-KMS ETags are no content hash). */
const CONTENT_HASH = 'content-sha256';

async function storedHash(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    return (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).Metadata?.[CONTENT_HASH];
  } catch (error: unknown) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * Reads each source's day from CloudWatch and writes it as `telemetry/usage_day=<day>/<source>/cloudwatch.json`,
 * one NDJSON row `{usage_date, tenant_id, metric, quantity}` per tenant with a value, tenants in order.
 * The object is written also when no tenant has a value, so a day read again that has lost its data
 * (a metric deleted) no longer counts what it once held: replace semantics per (source, day).
 */
export async function readCloudWatchTelemetry(
  options: ReadCloudWatchTelemetryOptions,
): Promise<CloudWatchTelemetryObject[]> {
  for (const day of options.days) {
    if (!DAY.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`))) {
      throw new RangeError(`Not a day (YYYY-MM-DD): ${JSON.stringify(day)}`);
    }
  }
  const written: CloudWatchTelemetryObject[] = [];
  for (const source of options.sources) {
    const metrics = await tenantMetrics(options.cloudwatch, source);
    for (const day of options.days) {
      const values = await dayValues(options.cloudwatch, source, metrics, day);
      const rows = [...values]
        .map(([index, quantity]) => ({ tenant: metrics[index]?.Dimensions?.[0]?.Value ?? '', quantity }))
        .filter((row) => row.tenant !== '')
        .sort((a, b) => (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0));
      const body = rows
        .map((row) =>
          JSON.stringify({
            usage_date: day,
            tenant_id: row.tenant,
            metric: source.metric,
            quantity: row.quantity,
          }),
        )
        .join('\n');
      const key = cloudWatchObjectKey(source.source, day);
      const text = rows.length === 0 ? '' : `${body}\n`;
      const hash = createHash('sha256').update(text).digest('hex');
      const changed = (await storedHash(options.s3, options.dataBucket, key)) !== hash;
      if (changed) {
        await options.s3.send(
          new PutObjectCommand({
            Bucket: options.dataBucket,
            Key: key,
            Body: text,
            ContentType: 'application/x-ndjson',
            Metadata: { [CONTENT_HASH]: hash },
          }),
        );
      }
      written.push({ source: source.source, day, key, tenants: rows.length, written: changed });
      options.logger?.info(changed ? 'CloudWatch telemetry written' : 'CloudWatch telemetry unchanged', {
        source: source.source,
        day,
        key,
        tenants: rows.length,
      });
    }
  }
  return written;
}
