import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteTableCommand, EntityNotFoundException, type GlueClient } from '@aws-sdk/client-glue';
import type { S3Client } from '@aws-sdk/client-s3';
import type * as z from 'zod';
import { STORED_STEPS } from '../attribution/stages.ts';
import { isAwsError } from '../common/aws-errors.ts';
import type { AthenaRunLayout } from '../engine/athena-run-layout.ts';
import { parseInput, runRefSchema } from './run-contract.ts';
import { runLayout } from './run-layout.ts';
import type { RunLogger } from './start-run.ts';
import { readPublishedRun, type TagRunResult, tagRunSuperseded } from './superseded-runs.ts';

/** cleanup's state input (lambdas/README.md). */
export const cleanupInputSchema = runRefSchema;
export type CleanupInput = z.infer<typeof cleanupInputSchema>;

/** Parses cleanup's state input. @throws PipelineInputError naming each wrong field */
export function parseCleanupInput(event: unknown): CleanupInput {
  return parseInput(cleanupInputSchema, event, 'cleanup input');
}

export interface CleanupOptions {
  readonly glue: GlueClient;
  readonly dynamodb: DynamoDBClient;
  readonly s3: S3Client;
  readonly database: string;
  readonly resultsBucket: string;
  /** The serving table, which holds the published-run marker. */
  readonly tableName: string;
  /** Bound on the run's objects tagged in this call. @default 2000 */
  readonly maxTaggedObjects?: number;
  readonly logger?: RunLogger;
}

export interface CleanupResult {
  readonly runId: string;
  /** Glue tables deleted now. */
  readonly dropped: readonly string[];
  /** Glue tables that did not exist (never created, or dropped by an earlier attempt). */
  readonly missing: readonly string[];
  /** Whether this run is the published one for its period (then its files stay). */
  readonly published: boolean;
  /** The run's own files tagged superseded, when it is not published. */
  readonly superseded: TagRunResult | null;
}

/** The Glue names of every table a run creates, last stage first (the order `planAthenaCleanup` drops). */
export function runTableNames(layout: AthenaRunLayout): string[] {
  return [...STORED_STEPS].reverse().map((step) => layout.runTableName(step.name));
}

/**
 * Cleans up after a run, whatever its outcome (the state machine calls it on success and from its
 * failure path):
 * - deletes the run's tables from the Glue catalog with Glue DeleteTable (the same effect as Athena's
 *   `DROP TABLE` on these external tables, without starting a query, waiting for it or paying its 10 MB
 *   minimum; Parquet files are not touched: the published partitions point at them);
 * - when this run is not the published one for its period (it failed, or a newer delivery was
 *   published), tags its own files superseded so the lifecycle rule expires them.
 * Idempotent: tables already gone are reported as missing.
 */
export async function cleanupRun(input: CleanupInput, options: CleanupOptions): Promise<CleanupResult> {
  const { runId, billingPeriod } = input;
  const layout = runLayout(input, options);
  const dropped: string[] = [];
  const missing: string[] = [];
  for (const name of runTableNames(layout)) {
    try {
      await options.glue.send(new DeleteTableCommand({ DatabaseName: options.database, Name: name }));
      dropped.push(name);
    } catch (error: unknown) {
      if (!(error instanceof EntityNotFoundException || isAwsError(error, 'EntityNotFoundException'))) {
        throw error;
      }
      missing.push(name);
    }
  }

  const publishedRun = await readPublishedRun(options.dynamodb, options.tableName, billingPeriod);
  const published = publishedRun?.runId === runId;
  const superseded = published
    ? null
    : await tagRunSuperseded({
        s3: options.s3,
        bucket: options.resultsBucket,
        runId,
        maxObjects: options.maxTaggedObjects,
      });
  options.logger?.info('Run cleaned up', { runId, billingPeriod, dropped, missing, published, superseded });
  return { runId, dropped, missing, published, superseded };
}
