import { billingPeriodMonthsBefore } from '../common/dates.ts';
import { type DeliveryRecord, type DeliveryStore, listDeliveries } from './deliveries.ts';
import { readPointer } from './period-pointer.ts';
import type { RunLogger } from './start-run.ts';

/** A delivery whose billing period still shows an older run (or none) too long after it landed. */
export interface OverduePeriod {
  readonly billingPeriod: string;
  readonly deliveredAt: string;
  /** The delivery the visible run computed, or null when the period has no visible run. */
  readonly visibleDeliveredAt: string | null;
  readonly visibleRunId: string | null;
  /** Whole hours since the delivery. */
  readonly hoursSinceDelivery: number;
}

export interface RunWatchResult {
  /** Deliveries compared with their period's pointer. */
  readonly checked: number;
  readonly overdue: readonly OverduePeriod[];
}

export interface WatchRunsOptions extends DeliveryStore {
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** How long a delivery may wait for its visible run. @default 26 (hours) */
  readonly maxHours?: number;
  /**
   * How many months back deliveries are checked, the current one included: CUR restates the previous
   * month for about two weeks, and older periods are never delivered again.
   * @default 3
   */
  readonly months?: number;
  readonly logger?: RunLogger;
}

/**
 * Finds the billing periods whose latest delivery has no successful run `maxHours` after it was
 * delivered: the period pointer (lib/pipeline/period-pointer.ts) names no run, or a run of an earlier
 * delivery. A run of this delivery or a later one (a re-run is dated when it was requested) counts.
 */
export async function watchRuns(options: WatchRunsOptions): Promise<RunWatchResult> {
  const now = (options.now ?? (() => new Date()))();
  const maxMs = (options.maxHours ?? 26) * 3600_000;
  const deliveries = await listDeliveries(options, billingPeriodMonthsBefore(now, (options.months ?? 3) - 1));
  const overdue: OverduePeriod[] = [];
  for (const delivery of deliveries) {
    const late = overdueOf(delivery, now, maxMs, await readPointer(options, delivery.billingPeriod));
    if (late) {
      options.logger?.warn('No successful run of the billing period since its delivery', { ...late });
      overdue.push(late);
    }
  }
  return { checked: deliveries.length, overdue };
}

function overdueOf(
  delivery: DeliveryRecord,
  now: Date,
  maxMs: number,
  pointer: Awaited<ReturnType<typeof readPointer>>,
): OverduePeriod | undefined {
  const visible = pointer?.visible;
  if (visible !== undefined && visible.deliveredAt >= delivery.deliveredAt) return undefined;
  const waitedMs = now.getTime() - Date.parse(delivery.deliveredAt);
  if (waitedMs <= maxMs) return undefined;
  return {
    billingPeriod: delivery.billingPeriod,
    deliveredAt: delivery.deliveredAt,
    visibleDeliveredAt: visible?.deliveredAt ?? null,
    visibleRunId: visible?.runId ?? null,
    hoursSinceDelivery: Math.floor(waitedMs / 3600_000),
  };
}
