import * as z from 'zod';

/*
 * The CloudWatch telemetry sources of the configuration (`cpc:telemetryCloudWatch`), read by
 * lib/pipeline/cloudwatch-telemetry.ts: which metric, which dimension holds the tenant, which statistic
 * of the day, and the telemetry metric it becomes.
 */

/** The statistics a day's value can be: a day of requests is their Sum, of a gauge its Average or Maximum. */
export const CLOUDWATCH_STATISTICS = ['Sum', 'Average', 'Minimum', 'Maximum', 'SampleCount'] as const;

/** One configured source (`cpc:telemetryCloudWatch`). */
export const cloudWatchSourceSchema = z
  .object({
    /** The folder of its objects, `telemetry/usage_day=<day>/<source>/`: letters, digits, `.`, `_`, `-`. */
    source: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-"'),
    namespace: z.string().min(1).max(255),
    metricName: z.string().min(1).max(255),
    /** The dimension whose value is the tenant id (`TenantId`). */
    tenantDimension: z.string().min(1).max(255),
    statistic: z.enum(CLOUDWATCH_STATISTICS).default('Sum'),
    /** The telemetry metric the rules name (`requests`). */
    metric: z.string().min(1),
  })
  .strict();
export type CloudWatchSource = z.infer<typeof cloudWatchSourceSchema>;

/** The configured sources, each name once (it is the folder of their objects). */
export const cloudWatchSourcesSchema = z
  .array(cloudWatchSourceSchema)
  .refine(
    (sources) => new Set(sources.map((s) => s.source)).size === sources.length,
    'source names must be unique',
  );

/** A source as it is written in the configuration (the statistic may be left out). */
export type CloudWatchSourceInput = z.input<typeof cloudWatchSourceSchema>;
