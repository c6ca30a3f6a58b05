import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { isAwsError } from '../common/aws-errors.ts';
import type { DeliveryRecord, DeliveryStore } from './deliveries.ts';

/*
 * Late telemetry (docs/aws-pipeline.md, "Getting telemetry in"): telemetry that lands for a day an
 * already-computed run of its billing period counted re-runs the period, at most once an hour.
 *
 * The debounce is one item per period in the serving table, pk `DELIVERY#<period>`, sk `LATE_TELEMETRY`:
 * - `last_rerun_at`: when a late-telemetry re-run of the period was last started;
 * - `pending_since`: set when late telemetry arrived within the hour after that re-run, so that the hourly
 *   sweep starts one more re-run: a re-run never misses telemetry that arrived while it was debounced.
 */

/** How long after a late-telemetry re-run the next one may start. */
export const LATE_RERUN_INTERVAL_MS = 3600_000;

const key = (billingPeriod: string) => marshall({ pk: `DELIVERY#${billingPeriod}`, sk: 'LATE_TELEMETRY' });

/**
 * Whether telemetry for `usageDay` is late for its period's latest delivery: the run of that delivery
 * already counted the day. A delivery dated day D covers the days before D in full; telemetry for D itself
 * or later is read by the next delivery's run, as a CUR refresh comes up to three times a day.
 */
export function isLateFor(usageDay: string, delivery: DeliveryRecord | undefined): boolean {
  return delivery !== undefined && usageDay < delivery.deliveredAt.slice(0, 10);
}

/**
 * Claims the period's late-telemetry re-run: succeeds when no such re-run started in the last hour (and,
 * with `onlyPending`, when late telemetry is waiting), and then clears the waiting mark. A claim that
 * fails marks the telemetry as waiting (unless `onlyPending`: the sweep does not add work).
 * @returns whether the caller may start the re-run
 */
export async function claimLateRerun(
  store: DeliveryStore,
  billingPeriod: string,
  now: Date,
  options: { readonly onlyPending?: boolean } = {},
): Promise<boolean> {
  const pending = options.onlyPending ? 'attribute_exists(pending_since) AND ' : '';
  try {
    await store.dynamodb.send(
      new UpdateItemCommand({
        TableName: store.tableName,
        Key: key(billingPeriod),
        UpdateExpression: 'SET last_rerun_at = :now REMOVE pending_since',
        ConditionExpression: `${pending}(attribute_not_exists(last_rerun_at) OR last_rerun_at <= :before)`,
        ExpressionAttributeValues: marshall({
          ':now': now.toISOString(),
          ':before': new Date(now.getTime() - LATE_RERUN_INTERVAL_MS).toISOString(),
        }),
      }),
    );
    return true;
  } catch (error: unknown) {
    if (!isAwsError(error, 'ConditionalCheckFailedException')) throw error;
  }
  if (!options.onlyPending) {
    await store.dynamodb.send(
      new UpdateItemCommand({
        TableName: store.tableName,
        Key: key(billingPeriod),
        UpdateExpression: 'SET pending_since = if_not_exists(pending_since, :now)',
        ExpressionAttributeValues: marshall({ ':now': now.toISOString() }),
      }),
    );
  }
  return false;
}

/** The period's debounce state as stored: what an operator (or a test) looks at. */
export async function readLateRerun(
  store: DeliveryStore,
  billingPeriod: string,
): Promise<{ readonly lastRerunAt?: string; readonly pendingSince?: string }> {
  const { Item } = await store.dynamodb.send(
    new GetItemCommand({ TableName: store.tableName, Key: key(billingPeriod), ConsistentRead: true }),
  );
  const fields = Item === undefined ? {} : unmarshall(Item);
  return {
    ...(typeof fields.last_rerun_at === 'string' ? { lastRerunAt: fields.last_rerun_at } : {}),
    ...(typeof fields.pending_since === 'string' ? { pendingSince: fields.pending_since } : {}),
  };
}
