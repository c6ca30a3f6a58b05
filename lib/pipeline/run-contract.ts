import * as z from 'zod';
import { billingPeriodSchema, isoTimestampSchema, runIdSchema } from '../common/names.ts';

/*
 * The run's contract shared by the pipeline's cores (lambdas/README.md): the state-input schemas and
 * their error, and the few names only the pipeline uses. Names every layer shares (billing period, run
 * id, bucket prefixes) live in lib/common/names.ts, and are imported from there.
 */

/**
 * The object tag that marks a run's result files as no longer published. publish-run tags the
 * previous run's files (and cleanup a failed run's own) after switching the partitions; the results
 * bucket's lifecycle rule (lib/constructs/storage.ts) then expires them. Untagged files are never
 * expired: the published run of a closed billing period stays readable for as long as the bucket exists.
 */
export const SUPERSEDED_RUN_TAG = { key: 'cost-per-customer:run-state', value: 'superseded' } as const;

/** Key of the item that records which run is published for a billing period. */
export function publishedRunKey(billingPeriod: string): { pk: string; sk: string } {
  return { pk: `PUBLISHED#${billingPeriod}`, sk: 'RUN' };
}

/**
 * Results bucket prefix of the pointer's Athena image: one object per billing period,
 * `published/<period>.json`, read by the `published_runs` Glue table that the published views join.
 */
export const PUBLISHED_PREFIX = 'published/';

/** The key of a billing period's Athena image of its pointer (see {@link PUBLISHED_PREFIX}). */
export function publishedImageKey(billingPeriod: string): string {
  return `${PUBLISHED_PREFIX}${billingPeriod}.json`;
}

/** When a delivery was written (ISO 8601, normalised so that string order is time order). */
export const deliveredAtSchema = isoTimestampSchema;

/** The execution input or a state's input is not what the contract (lambdas/README.md) says. */
export class PipelineInputError extends Error {
  override readonly name = 'PipelineInputError';
}

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

/** The `runId` and `billingPeriod` every state after prepare-run receives. */
export const runRefSchema = z.object({ runId: runIdSchema, billingPeriod: billingPeriodSchema });
