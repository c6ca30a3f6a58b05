import * as z from 'zod';
import { type ClaimOptions, claimPeriod, type PointerStore } from './period-pointer.ts';
import { deliveredAtSchema, parseInput, runRefSchema } from './run-contract.ts';
import type { RunLogger } from './start-run.ts';

/** claim-period's state input (lambdas/README.md). */
export const claimPeriodInputSchema = runRefSchema.extend({
  executionId: z.string().min(1),
  deliveredAt: deliveredAtSchema,
});
export type ClaimPeriodInput = z.infer<typeof claimPeriodInputSchema>;

/** Parses claim-period's state input. @throws PipelineInputError naming each wrong field */
export function parseClaimPeriodInput(event: unknown): ClaimPeriodInput {
  return parseInput(claimPeriodInputSchema, event, 'claim-period input');
}

export type ClaimPeriodResult =
  | {
      readonly claimed: true;
      readonly runId: string;
      readonly billingPeriod: string;
      /** The run readers see now (the serving load writes only what differs from it). */
      readonly visibleRunId: string | null;
      readonly visibleVersion: string | null;
    }
  | {
      readonly claimed: false;
      readonly reason: 'newer run already published';
      readonly runId: string;
      readonly billingPeriod: string;
      readonly publishedRunId: string;
    };

export interface ClaimPeriodOptions extends PointerStore, ClaimOptions {
  readonly logger?: RunLogger;
}

/**
 * Serialises the runs of a billing period: takes the period's lease (lib/pipeline/period-pointer.ts) so
 * that this run alone stages, publishes, alerts and reports until it releases it (cleanup), or returns
 * `claimed: false` when a newer delivery is already visible.
 * @throws LeaseBusyError while another run of the period holds the lease (the state machine retries)
 */
export async function claimRunPeriod(
  run: ClaimPeriodInput,
  options: ClaimPeriodOptions,
): Promise<ClaimPeriodResult> {
  const { runId, billingPeriod } = run;
  const claim = await claimPeriod(options, run, options);
  if (!claim.claimed) {
    options.logger?.info('A newer delivery is already visible; this run is not published', {
      runId,
      billingPeriod,
      publishedRunId: claim.publishedRunId,
    });
    return {
      claimed: false,
      reason: claim.reason,
      runId,
      billingPeriod,
      publishedRunId: claim.publishedRunId,
    };
  }
  const visible = claim.pointer.visible;
  options.logger?.info('Billing period claimed', { runId, billingPeriod, visibleRunId: visible?.runId });
  return {
    claimed: true,
    runId,
    billingPeriod,
    visibleRunId: visible?.runId ?? null,
    visibleVersion: visible?.version ?? null,
  };
}
