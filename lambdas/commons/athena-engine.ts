import type { AthenaClient } from '@aws-sdk/client-athena';
import { AthenaEngine } from '../../lib/engine/athena-engine.ts';

/** The validated configuration of a handler that queries Athena (its part the engine needs). */
export interface AthenaSettings {
  readonly WORKGROUP: string;
  readonly RESULTS_BUCKET: string;
  readonly ATHENA_MAX_WAIT_SECONDS: number;
}

/** What the engine is for: the Glue database, the run, and (to read one month only) its billing period. */
export interface AthenaScope {
  readonly database: string;
  readonly runId: string;
  readonly billingPeriod?: string;
}

/**
 * The AthenaEngine of a handler: in the pipeline's workgroup, naming the results bucket, waiting at most
 * `ATHENA_MAX_WAIT_SECONDS` for a query (so the function's timeout is never the first to stop it).
 */
export function athenaEngine(
  client: AthenaClient,
  settings: AthenaSettings,
  scope: AthenaScope,
): AthenaEngine {
  return new AthenaEngine({
    client,
    workgroup: settings.WORKGROUP,
    database: scope.database,
    resultsBucket: settings.RESULTS_BUCKET,
    runId: scope.runId,
    ...(scope.billingPeriod === undefined ? {} : { billingPeriod: scope.billingPeriod }),
    maxWaitMs: settings.ATHENA_MAX_WAIT_SECONDS * 1000,
  });
}
