import {
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { isAwsError } from '../common/aws-errors.ts';
import { isBillingPeriod } from '../common/names.ts';

/*
 * What on-delivery records of each CUR delivery, in the serving table, for run-watch:
 * - pk `DELIVERY#<period>`, sk `LATEST`: the period's latest delivery (`delivered_at`: the manifest's
 *   LastModified, as prepare-run takes it; `received_at`: when on-delivery saw it), listed by run-watch
 *   through the index `gsi1` (gsi1pk `DELIVERIES`, gsi1sk the period as the number YYYYMM: the index's
 *   sort key is a number), so no Scan is needed;
 * - pk `DELIVERY#<period>`, sk `INCOMPLETE#<execution id>`: how many times on-delivery found data files
 *   of that delivery missing, so that only the last attempt (after Lambda's retries) reports it.
 */

/** Where the delivery items live: the serving table. */
export interface DeliveryStore {
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
}

/** The partition of the index `gsi1` that lists the deliveries. */
export const DELIVERIES_INDEX_KEY = 'DELIVERIES';
/** How long the incomplete-attempt counters are kept (DynamoDB TTL). */
const INCOMPLETE_COUNTER_SECONDS = 7 * 24 * 3600;

/** A period's latest delivery, as recorded. */
export interface DeliveryRecord {
  readonly billingPeriod: string;
  readonly executionId: string;
  readonly runId: string;
  /** When the delivery was written (ISO 8601): the manifest object's LastModified. */
  readonly deliveredAt: string;
  /** When on-delivery saw it (ISO 8601). */
  readonly receivedAt: string;
  /** The delivery's manifest (CUR bucket key): which export a re-run of the period reads. */
  readonly manifestKey?: string;
}

/** `2026-10` -> 202610, the index sort key of a period (string order of periods = number order). */
export function periodNumber(billingPeriod: string): number {
  if (!isBillingPeriod(billingPeriod))
    throw new RangeError(`billing period "${billingPeriod}" is not YYYY-MM`);
  return Number(billingPeriod.replace('-', ''));
}

/**
 * Records a delivery as its period's latest, unless a later delivery is already recorded (an old S3
 * event repeated hours later must not hide a newer delivery from run-watch).
 * @returns whether the record was written
 */
export async function recordDelivery(store: DeliveryStore, delivery: DeliveryRecord): Promise<boolean> {
  try {
    await store.dynamodb.send(
      new UpdateItemCommand({
        TableName: store.tableName,
        Key: marshall({ pk: `DELIVERY#${delivery.billingPeriod}`, sk: 'LATEST' }),
        UpdateExpression:
          'SET billing_period = :period, execution_id = :execution, run_id = :run, delivered_at = :delivered,' +
          ' received_at = :received, manifest_key = :manifest, gsi1pk = :index, gsi1sk = :periodNumber',
        ConditionExpression: 'attribute_not_exists(delivered_at) OR delivered_at <= :delivered',
        ExpressionAttributeValues: marshall({
          ':period': delivery.billingPeriod,
          ':execution': delivery.executionId,
          ':run': delivery.runId,
          ':delivered': delivery.deliveredAt,
          ':received': delivery.receivedAt,
          ':manifest': delivery.manifestKey ?? null,
          ':index': DELIVERIES_INDEX_KEY,
          ':periodNumber': periodNumber(delivery.billingPeriod),
        }),
      }),
    );
    return true;
  } catch (error: unknown) {
    if (isAwsError(error, 'ConditionalCheckFailedException')) return false;
    throw error;
  }
}

/**
 * Counts one more attempt that found the delivery's data files missing.
 * @returns the number of such attempts so far, this one included
 */
export async function countIncompleteAttempt(
  store: DeliveryStore,
  delivery: { readonly billingPeriod: string; readonly executionId: string },
  now: Date,
): Promise<number> {
  const { Attributes } = await store.dynamodb.send(
    new UpdateItemCommand({
      TableName: store.tableName,
      Key: marshall({ pk: `DELIVERY#${delivery.billingPeriod}`, sk: `INCOMPLETE#${delivery.executionId}` }),
      UpdateExpression: 'ADD attempts :one SET expires_at = :expires',
      ExpressionAttributeValues: marshall({
        ':one': 1,
        ':expires': Math.floor(now.getTime() / 1000) + INCOMPLETE_COUNTER_SECONDS,
      }),
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  const attempts = Attributes?.attempts?.N;
  return attempts === undefined ? 1 : Number(attempts);
}

/** The recorded deliveries of the periods from `fromPeriod` on, oldest period first. */
export async function listDeliveries(store: DeliveryStore, fromPeriod: string): Promise<DeliveryRecord[]> {
  const deliveries: DeliveryRecord[] = [];
  let startKey: QueryCommand['input']['ExclusiveStartKey'];
  do {
    const page = await store.dynamodb.send(
      new QueryCommand({
        TableName: store.tableName,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :index AND gsi1sk >= :from',
        ExpressionAttributeValues: marshall({
          ':index': DELIVERIES_INDEX_KEY,
          ':from': periodNumber(fromPeriod),
        }),
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    for (const item of page.Items ?? []) deliveries.push(deliveryOf(unmarshall(item)));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return deliveries;
}

function deliveryOf(fields: Record<string, unknown>): DeliveryRecord {
  return {
    billingPeriod: String(fields.billing_period),
    executionId: String(fields.execution_id),
    runId: String(fields.run_id),
    deliveredAt: String(fields.delivered_at),
    receivedAt: String(fields.received_at),
    ...(typeof fields.manifest_key === 'string' ? { manifestKey: fields.manifest_key } : {}),
  };
}

/** A period's latest recorded delivery, or undefined when none was recorded. */
export async function readLatestDelivery(
  store: DeliveryStore,
  billingPeriod: string,
): Promise<DeliveryRecord | undefined> {
  const { Item } = await store.dynamodb.send(
    new GetItemCommand({
      TableName: store.tableName,
      Key: marshall({ pk: `DELIVERY#${billingPeriod}`, sk: 'LATEST' }),
      ConsistentRead: true,
    }),
  );
  return Item === undefined ? undefined : deliveryOf(unmarshall(Item));
}
