import { GetItemCommand, paginateQuery, QueryCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { type PeriodPointer, type PointerStore, readPointer } from './period-pointer.ts';
import { customerPk, monthGsiPk, monthSk, type ServingItem } from './serving-items.ts';

/*
 * How an application reads the serving table: always through the period pointer (docs/aws-pipeline.md
 * "Visibility"). Items are versioned by run and a run writes only the days it changed, so a
 * customer-day is the item of the greatest version that has been made visible (in the pointer's
 * history) and is not later than the visible one; a failed or not yet published run's items have a
 * version outside the history and are never seen.
 */

export interface ServingStore extends PointerStore {
  /** The index listing a version's month summaries by cost. @default 'gsi1' */
  readonly periodIndexName?: string;
  /** Strongly consistent reads of the table (the index is always eventually consistent). @default false */
  readonly consistentRead?: boolean;
}

/** The dimension fields and money of a serving item; money as numbers (rounded to 8 decimals when written). */
export interface ServedCost {
  readonly customerId: string;
  readonly customerName: string | null;
  readonly tier: string | null;
  readonly planStatus: string | null;
  readonly mrr: number | null;
  readonly rulesVersion: string | null;
  readonly directCost: number;
  readonly sharedCost: number;
  readonly totalCost: number;
  /** The run that wrote these values (an earlier visible run when this one left the day unchanged). */
  readonly runId: string;
  readonly version: string;
}

export interface ServedDay extends ServedCost {
  readonly usageDate: string;
}

export interface ServedMonth extends ServedCost {
  readonly billingPeriod: string;
  readonly daysWithCost: number;
  readonly firstUsageDate: string;
  readonly lastUsageDate: string;
}

/** What a reader resolved: the visible run of the period, or none when nothing is published. */
export type Visible<T> = { readonly visibleRunId: string | null } & T;

/** The versions a reader may see for a period: the history up to the visible version. */
function visibleVersions(
  pointer: PeriodPointer | undefined,
): { latest: string; accepted: Set<string> } | null {
  const latest = pointer?.visible?.version;
  if (latest === undefined) return null;
  // The visible version itself is always accepted, even on a pointer written before it had a history.
  const accepted = new Set(pointer?.history.filter((version) => version <= latest));
  accepted.add(latest);
  return { latest, accepted };
}

/**
 * A customer's days of a billing period as the visible run has them, in date order.
 * @param pointer the pointer already read, to resolve several reads against one version
 */
export async function readCustomerDays(
  store: ServingStore,
  billingPeriod: string,
  customerId: string,
  pointer?: PeriodPointer,
): Promise<Visible<{ days: ServedDay[] }>> {
  const current = pointer ?? (await readPointer(store, billingPeriod));
  const versions = visibleVersions(current);
  if (versions === null) return { visibleRunId: null, days: [] };
  // sk DAY#<date>#<version>: the period's days, each date's versions oldest first.
  const chosen = new Map<string, ServingItem>();
  const pages = paginateQuery(
    { client: store.dynamodb },
    {
      TableName: store.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :days)',
      ExpressionAttributeValues: marshall({
        ':pk': customerPk(customerId),
        ':days': `DAY#${billingPeriod}-`,
      }),
      ConsistentRead: store.consistentRead ?? false,
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      const version = item.version?.S;
      const date = item.usage_date?.S;
      if (version === undefined || date === undefined || !versions.accepted.has(version)) continue;
      const before = chosen.get(date)?.version?.S;
      if (before === undefined || before < version) chosen.set(date, item);
    }
  }
  const days = [...chosen.entries()]
    .filter(([, item]) => item.deleted?.BOOL !== true)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, item]) => servedDay(item));
  return { visibleRunId: current?.visible?.runId ?? null, days };
}

/** A customer's month-to-date summary in the visible run, or `month: undefined` when it has none. */
export async function readCustomerMonth(
  store: ServingStore,
  billingPeriod: string,
  customerId: string,
  pointer?: PeriodPointer,
): Promise<Visible<{ month: ServedMonth | undefined }>> {
  const current = pointer ?? (await readPointer(store, billingPeriod));
  const version = current?.visible?.version;
  if (version === undefined) return { visibleRunId: null, month: undefined };
  const { Item } = await store.dynamodb.send(
    new GetItemCommand({
      TableName: store.tableName,
      Key: marshall({ pk: customerPk(customerId), sk: monthSk(billingPeriod, version) }),
      ConsistentRead: store.consistentRead ?? false,
    }),
  );
  return { visibleRunId: current?.visible?.runId ?? null, month: Item && servedMonth(Item) };
}

/**
 * The period's customers by month-to-date cost (highest first unless `ascending`), from the visible
 * version's listing on the index: every run writes all its month items, so the listing is complete.
 */
export async function listCustomersByCost(
  store: ServingStore,
  billingPeriod: string,
  options: { readonly limit?: number; readonly ascending?: boolean; readonly pointer?: PeriodPointer } = {},
): Promise<Visible<{ customers: ServedMonth[] }>> {
  const current = options.pointer ?? (await readPointer(store, billingPeriod));
  const version = current?.visible?.version;
  if (version === undefined) return { visibleRunId: null, customers: [] };
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const customers: ServedMonth[] = [];
  let start: ServingItem | undefined;
  do {
    const page = await store.dynamodb.send(
      new QueryCommand({
        TableName: store.tableName,
        IndexName: store.periodIndexName ?? 'gsi1',
        KeyConditionExpression: 'gsi1pk = :listing',
        ExpressionAttributeValues: marshall({ ':listing': monthGsiPk(billingPeriod, version) }),
        ScanIndexForward: options.ascending ?? false,
        Limit: Number.isFinite(limit) ? Math.min(1000, limit - customers.length) : undefined,
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) customers.push(servedMonth(item));
    start = page.LastEvaluatedKey;
  } while (start !== undefined && customers.length < limit);
  return { visibleRunId: current?.visible?.runId ?? null, customers };
}

function servedCost(fields: Record<string, unknown>): ServedCost {
  const text = (name: string) => (typeof fields[name] === 'string' ? (fields[name] as string) : null);
  const number = (name: string) => (typeof fields[name] === 'number' ? (fields[name] as number) : null);
  return {
    customerId: text('customer_id') ?? '',
    customerName: text('customer_name'),
    tier: text('tier'),
    planStatus: text('plan_status'),
    mrr: number('mrr'),
    rulesVersion: text('rules_version'),
    directCost: number('direct_cost') ?? 0,
    sharedCost: number('shared_cost') ?? 0,
    totalCost: number('total_cost') ?? 0,
    runId: text('run_id') ?? '',
    version: text('version') ?? '',
  };
}

function servedDay(item: ServingItem): ServedDay {
  const fields = unmarshall(item);
  return { ...servedCost(fields), usageDate: String(fields.usage_date) };
}

function servedMonth(item: ServingItem): ServedMonth {
  const fields = unmarshall(item);
  return {
    ...servedCost(fields),
    billingPeriod: String(fields.billing_period),
    daysWithCost: Number(fields.days_with_cost),
    firstUsageDate: String(fields.first_usage_date),
    lastUsageDate: String(fields.last_usage_date),
  };
}
