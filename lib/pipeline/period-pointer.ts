import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { isAwsError } from '../common/aws-errors.ts';
import { publishedRunKey } from './run-contract.ts';

/*
 * The period pointer: one DynamoDB item per billing period (pk `PUBLISHED#<period>`, sk `RUN`) that
 * decides which run every reader sees (docs/aws-pipeline.md "Visibility"). It also carries the lease
 * that serialises the runs of the period: only the lease holder stages, publishes, alerts and reports.
 * Every change is one conditional UpdateItem, so two runs can never both win.
 */

/** Where the pointer items live: the serving table. */
export interface PointerStore {
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
}

/** A run as the pointer orders it. */
export interface PointerRun {
  readonly runId: string;
  readonly billingPeriod: string;
  readonly executionId: string;
  /** When the run's delivery was written (ISO 8601, string order = time order). */
  readonly deliveredAt: string;
}

/** The pointer as stored. */
export interface PeriodPointer {
  readonly billingPeriod: string;
  /** The visible run; `undefined` while no run of the period has been published (a lease alone). */
  readonly visible?: {
    readonly runId: string;
    readonly executionId: string;
    readonly deliveredAt: string;
    readonly publishedAt: string;
    /** {@link servingVersion} of the visible run. */
    readonly version: string;
    /** The run the visible one replaced, if any. */
    readonly previousRunId: string | null;
  };
  /** Every serving version ever made visible for the period, oldest first. */
  readonly history: readonly string[];
  readonly lease?: { readonly holder: string; readonly expiresAt: number };
}

/** Another run of the period holds the lease: the state machine retries the claim every minute. */
export class LeaseBusyError extends Error {
  override readonly name = 'LeaseBusyError';
}

/** The run no longer holds the lease (it expired and another run took it), so it must not publish. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
}

/**
 * The serving version of a run: its delivery time then its id, so that string order is delivery order
 * (a re-run's `deliveredAt` is the time it was requested, so it sorts after the delivery it repeats).
 */
export function servingVersion(deliveredAt: string, runId: string): string {
  return `${deliveredAt}#${runId}`;
}

/** Reads the pointer (strongly consistent), or `undefined` when the period never had a run claim it. */
export async function readPointer(
  store: PointerStore,
  billingPeriod: string,
): Promise<PeriodPointer | undefined> {
  const { Item } = await store.dynamodb.send(
    new GetItemCommand({
      TableName: store.tableName,
      Key: marshall(publishedRunKey(billingPeriod)),
      ConsistentRead: true,
    }),
  );
  return Item === undefined ? undefined : pointerFromItem(billingPeriod, Item);
}

export type ClaimResult =
  | { readonly claimed: true; readonly pointer: PeriodPointer }
  | {
      readonly claimed: false;
      readonly reason: 'newer run already published';
      readonly publishedRunId: string;
    };

export interface ClaimOptions {
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** How long the lease lasts without being released. @default 7200 (two hours) */
  readonly leaseSeconds?: number;
}

// The visible run is older than the claimant, or is the claimant itself (a retried step).
const NOT_NEWER = '(attribute_not_exists(delivered_at) OR delivered_at < :delivered OR run_id = :run)';
const LEASE_FREE = '(attribute_not_exists(lease_holder) OR lease_holder = :run OR lease_expires_at < :now)';

/**
 * Takes the period's lease for a run, in one conditional write that succeeds only when no newer delivery
 * is visible and no other run holds an unexpired lease. Claiming again while holding it renews it.
 * @returns `claimed: false` when a newer delivery is already visible (the run has nothing to publish)
 * @throws LeaseBusyError when another run holds the lease (retry later)
 */
export async function claimPeriod(
  store: PointerStore,
  run: PointerRun,
  options: ClaimOptions = {},
): Promise<ClaimResult> {
  const now = (options.now ?? (() => new Date()))();
  const nowSeconds = Math.floor(now.getTime() / 1000);
  try {
    const { Attributes } = await store.dynamodb.send(
      new UpdateItemCommand({
        TableName: store.tableName,
        Key: marshall(publishedRunKey(run.billingPeriod)),
        UpdateExpression: 'SET lease_holder = :run, lease_expires_at = :expires, billing_period = :period',
        ConditionExpression: `${NOT_NEWER} AND ${LEASE_FREE}`,
        ExpressionAttributeValues: marshall({
          ':run': run.runId,
          ':delivered': run.deliveredAt,
          ':now': nowSeconds,
          ':expires': nowSeconds + (options.leaseSeconds ?? 7200),
          ':period': run.billingPeriod,
        }),
        ReturnValues: 'ALL_NEW',
      }),
    );
    return { claimed: true, pointer: pointerFromItem(run.billingPeriod, Attributes ?? {}) };
  } catch (error: unknown) {
    if (!isAwsError(error, 'ConditionalCheckFailedException')) throw error;
    const current = await readPointer(store, run.billingPeriod);
    const visible = current?.visible;
    if (visible !== undefined && visible.runId !== run.runId && visible.deliveredAt >= run.deliveredAt) {
      return { claimed: false, reason: 'newer run already published', publishedRunId: visible.runId };
    }
    throw new LeaseBusyError(
      `billing period ${run.billingPeriod} is being published by run ${current?.lease?.holder ?? '(unknown)'}; ` +
        `run ${run.runId} waits for its lease`,
    );
  }
}

export interface FlipResult {
  readonly pointer: PeriodPointer;
  /** The run this flip replaced (stored, so a retried flip returns it too). */
  readonly previousRunId: string | null;
}

/**
 * Makes a run the visible one of its period: ONE conditional write, accepted only while the run holds the
 * lease and no newer delivery is visible, or when the pointer already names the run (a retry, which
 * changes nothing). Adds the run's serving version to the history readers accept.
 * @throws LeaseLostError when the run neither holds the lease nor is already visible
 */
export async function flipPointer(
  store: PointerStore,
  run: PointerRun,
  options: { readonly now?: () => Date } = {},
): Promise<FlipResult> {
  const now = (options.now ?? (() => new Date()))();
  const current = await readPointer(store, run.billingPeriod);
  if (current?.visible?.runId === run.runId) {
    return { pointer: current, previousRunId: current.visible.previousRunId };
  }
  const previousRunId = current?.visible?.runId ?? null;
  const version = servingVersion(run.deliveredAt, run.runId);
  try {
    const { Attributes } = await store.dynamodb.send(
      new UpdateItemCommand({
        TableName: store.tableName,
        Key: marshall(publishedRunKey(run.billingPeriod)),
        UpdateExpression:
          'SET run_id = :run, execution_id = :execution, delivered_at = :delivered, published_at = :published,' +
          ' version = :version, previous_run_id = :previous, history = list_append(if_not_exists(history, :empty), :versions)',
        // The visible run must still be the one read above, so the stored previous run id is true.
        ConditionExpression:
          'lease_holder = :run AND (attribute_not_exists(delivered_at) OR delivered_at < :delivered)' +
          (previousRunId === null ? ' AND attribute_not_exists(run_id)' : ' AND run_id = :previous'),
        ExpressionAttributeValues: marshall(
          {
            ':run': run.runId,
            ':execution': run.executionId,
            ':delivered': run.deliveredAt,
            ':published': now.toISOString(),
            ':version': version,
            ':previous': previousRunId,
            ':empty': [],
            ':versions': [version],
          },
          { removeUndefinedValues: true },
        ),
        ReturnValues: 'ALL_NEW',
      }),
    );
    return { pointer: pointerFromItem(run.billingPeriod, Attributes ?? {}), previousRunId };
  } catch (error: unknown) {
    if (!isAwsError(error, 'ConditionalCheckFailedException')) throw error;
    const after = await readPointer(store, run.billingPeriod);
    // A retry whose first attempt's write landed but whose answer was lost.
    if (after?.visible?.runId === run.runId)
      return { pointer: after, previousRunId: after.visible.previousRunId };
    throw new LeaseLostError(
      `run ${run.runId} no longer holds the lease of billing period ${run.billingPeriod} ` +
        `(held by ${after?.lease?.holder ?? 'nobody'}; visible run ${after?.visible?.runId ?? 'none'}), so it is not published`,
    );
  }
}

/** Gives the lease back, when the run holds it; otherwise changes nothing. @returns whether it was held */
export async function releaseLease(
  store: PointerStore,
  billingPeriod: string,
  runId: string,
): Promise<boolean> {
  try {
    await store.dynamodb.send(
      new UpdateItemCommand({
        TableName: store.tableName,
        Key: marshall(publishedRunKey(billingPeriod)),
        UpdateExpression: 'REMOVE lease_holder, lease_expires_at',
        ConditionExpression: 'lease_holder = :run',
        ExpressionAttributeValues: marshall({ ':run': runId }),
      }),
    );
    return true;
  } catch (error: unknown) {
    if (isAwsError(error, 'ConditionalCheckFailedException')) return false;
    throw error;
  }
}

function pointerFromItem(billingPeriod: string, item: Record<string, AttributeValue>): PeriodPointer {
  const fields = unmarshall(item);
  const text = (name: string): string | undefined =>
    typeof fields[name] === 'string' ? (fields[name] as string) : undefined;
  const runId = text('run_id');
  const deliveredAt = text('delivered_at');
  const history = Array.isArray(fields.history)
    ? (fields.history as unknown[]).filter((version): version is string => typeof version === 'string')
    : [];
  const holder = text('lease_holder');
  const expiresAt = typeof fields.lease_expires_at === 'number' ? fields.lease_expires_at : undefined;
  return {
    billingPeriod,
    visible:
      runId !== undefined && deliveredAt !== undefined
        ? {
            runId,
            deliveredAt,
            executionId: text('execution_id') ?? '',
            publishedAt: text('published_at') ?? '',
            version: text('version') ?? servingVersion(deliveredAt, runId),
            previousRunId: text('previous_run_id') ?? null,
          }
        : undefined,
    history,
    lease: holder !== undefined && expiresAt !== undefined ? { holder, expiresAt } : undefined,
  };
}
