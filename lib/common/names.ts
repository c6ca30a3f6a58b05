import * as z from 'zod';

/*
 * The names and patterns the product uses everywhere (local run, deployed functions, constructs), in
 * one place, each with its zod schema. Free of AWS SDK and CDK imports so that every layer can use it.
 */

/** A billing period (a billing month), `YYYY-MM`. */
export const BILLING_PERIOD = /^\d{4}-(?:0[1-9]|1[0-2])$/;
export const billingPeriodSchema = z.string().regex(BILLING_PERIOD, 'is not YYYY-MM');

export function isBillingPeriod(value: string): boolean {
  return BILLING_PERIOD.test(value);
}

/** The last day (YYYY-MM-DD) of a billing period. */
export function lastDayOfPeriod(period: string): string {
  if (!isBillingPeriod(period))
    throw new RangeError(`Not a YYYY-MM billing period: ${JSON.stringify(period)}`);
  const [year, month] = period.split('-').map(Number) as [number, number];
  // Day 0 of the next month is the last day of this one.
  return new Date(Date.UTC(year, month, 0)).toISOString().slice(0, 10);
}

/** The billing periods (YYYY-MM) that the inclusive day range [from, to] touches, in order. */
export function billingPeriodsBetween(from: string, to: string): string[] {
  const periods: string[] = [];
  let year = Number(from.slice(0, 4));
  let month = Number(from.slice(5, 7));
  const last = to.slice(0, 7);
  for (;;) {
    const period = `${year}-${String(month).padStart(2, '0')}`;
    if (period > last) break;
    periods.push(period);
    month++;
    if (month > 12) {
      month = 1;
      year++;
    }
  }
  return periods;
}

/** A run id: what the local run and the deployed run both accept (Step Functions execution names fit). */
export const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;
export const runIdSchema = z.string().regex(RUN_ID, 'is not a run id');

/** A Glue database or table name as Athena accepts it (Glue lower-cases names). */
export const GLUE_NAME = /^[a-z0-9_]{1,255}$/;
export const glueNameSchema = z.string().regex(GLUE_NAME, 'is not a Glue name (a-z, 0-9, _)');

/** An S3 bucket name (the rules of new buckets). */
export const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
export const bucketNameSchema = z
  .string()
  .regex(BUCKET_NAME, 'is not an S3 bucket name')
  .refine((name) => !name.includes('..'), 'is not an S3 bucket name');

/** An Athena workgroup name. */
export const WORKGROUP_NAME = /^[A-Za-z0-9._-]{1,128}$/;

/** An ISO 8601 timestamp, normalised to `toISOString()` so that string order is time order. */
export const isoTimestampSchema = z
  .string()
  .refine((text) => !Number.isNaN(Date.parse(text)) && /^\d{4}-\d{2}-\d{2}T/.test(text), {
    message: 'is not an ISO 8601 timestamp',
  })
  .transform((text) => new Date(text).toISOString());

/**
 * Where things live in the stack's buckets (docs/aws-pipeline.md). Constructs grant on these prefixes
 * and the functions read and write under them, so both import them from here.
 */
export const PREFIXES = {
  /** Data bucket: usage telemetry, `telemetry/usage_day=YYYY-MM-DD/...`. */
  telemetry: 'telemetry/',
  /**
   * Data bucket: the customer dimension the runs read, exactly one CSV object, written by on-input once
   * an upload to `customersIncoming` is valid (its earlier versions are the history).
   */
  customers: 'customers/current/',
  /** Data bucket: where users upload a customers CSV; on-input validates each one on arrival. */
  customersIncoming: 'customers/incoming/',
  /** Data bucket: the optional allocation rules file the runs read, written by on-input like customers. */
  rules: 'rules/current/',
  /** Data bucket: where users upload a rules file; on-input validates each one on arrival. */
  rulesIncoming: 'rules/incoming/',
  /** Results bucket: everything one run writes, `runs/run=<run id>/<table>/`. */
  runs: 'runs/',
  /** Results bucket: each billing period's latest HTML report. */
  reports: 'reports/',
  /** Query-results bucket: Athena's own output. */
  queryResults: 'athena/',
} as const;

/** The optional allocation rules file in the data bucket. */
export const RULES_KEY = `${PREFIXES.rules}rules.json`;

/** The customers file on-input writes when an upload is valid (any one `.csv` there is read). */
export const CUSTOMERS_KEY = `${PREFIXES.customers}customers.csv`;

/** The S3 prefix (no bucket) that holds everything one run writes. */
export function runPrefix(runId: string): string {
  return `${PREFIXES.runs}run=${runId}/`;
}
