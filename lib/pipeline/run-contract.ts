import * as z from 'zod';

/**
 * Names shared by the run's Lambdas and the constructs that deploy them. They repeat values from
 * lib/constructs/storage.ts on purpose: that module imports aws-cdk-lib, which must not end up in a
 * Lambda bundle. test/unit/pipeline-contract.test.ts checks that the two agree.
 */

/** Prefix of every run's results in the results bucket: `runs/run=<run id>/<table>/`. */
export const RUNS_PREFIX = 'runs/';

/** Where each billing period's latest HTML report is kept in the results bucket. */
export const REPORTS_PREFIX = 'reports/';

/** The object tag the results bucket's lifecycle rule expires (see `SUPERSEDED_RUN_TAG` in storage.ts). */
export const SUPERSEDED_RUN_TAG = { key: 'cost-per-customer:run-state', value: 'superseded' } as const;

/** Where the customer dimension lives in the data bucket: exactly one CSV object. */
export const CUSTOMERS_PREFIX = 'customers/';

/** The optional allocation rules file in the data bucket. */
export const RULES_KEY = 'rules/rules.json';

/** Key of the item that records which run is published for a billing period. */
export function publishedRunKey(billingPeriod: string): { pk: string; sk: string } {
  return { pk: `PUBLISHED#${billingPeriod}`, sk: 'RUN' };
}

/** The S3 prefix (no bucket) that holds everything one run writes. */
export function runPrefix(runId: string): string {
  return `${RUNS_PREFIX}run=${runId}/`;
}

/** The execution input or a state's input is not what the contract (lambdas/README.md) says. */
export class PipelineInputError extends Error {
  override readonly name = 'PipelineInputError';
}

export const billingPeriodSchema = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'is not YYYY-MM');
/** Run ids as start-run.ts makes them; the same characters the Athena layout accepts. */
export const runIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/, 'is not a run id');
/** An ISO 8601 timestamp, normalised to `toISOString()` so that string order is time order. */
export const deliveredAtSchema = z
  .string()
  .refine((text) => !Number.isNaN(Date.parse(text)) && /^\d{4}-\d{2}-\d{2}T/.test(text), {
    message: 'is not an ISO 8601 timestamp',
  })
  .transform((text) => new Date(text).toISOString());

/**
 * Validates a state's input against its schema.
 * @throws PipelineInputError naming each field that is wrong
 */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown, what: string): z.infer<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(input)'}: ${issue.message}`)
    .join('; ');
  throw new PipelineInputError(`${what}: ${problems}`);
}

/** The name of an error-like value (SDK errors are matched by name as well as by class). */
export function errorName(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('name' in error)) return undefined;
  return typeof error.name === 'string' ? error.name : undefined;
}

/** The default pause, for cores that take an injectable `sleep`. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Maps with at most `limit` calls in flight; stops taking new items after the first failure. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (error: unknown) {
        failed = true;
        throw error;
      }
    }
  };
  const workers = Math.max(1, Math.min(Math.floor(limit) || 1, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}
