import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  type DynamoDBClient,
  paginateQuery,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { sleep } from '../common/concurrency.ts';
import {
  customerPk,
  daySk,
  keyId,
  monthGsiPk,
  monthSk,
  type ServingItem,
  type ServingRun,
  sameValues,
} from './serving-items.ts';
import type { RunLogger } from './start-run.ts';
import { readPublishedRun } from './superseded-runs.ts';

/*
 * The DynamoDB side of load-serving-table: reads what is stored, decides what changed and writes only
 * that, stopping when another run gets published meanwhile.
 */

/** DynamoDB left requests unprocessed after every retry (sustained throttling): the load fails, to be retried. */
export class UnprocessedItemsError extends Error {
  override readonly name = 'UnprocessedItemsError';
  readonly unprocessed: number;

  constructor(operation: string, unprocessed: number, attempts: number) {
    super(`DynamoDB ${operation} left ${unprocessed} request(s) unprocessed after ${attempts} attempts`);
    this.unprocessed = unprocessed;
  }
}

export interface RetryPolicy {
  /** Calls per batch, the first included. @default 8 */
  readonly maxAttempts?: number;
  /** Pause before the first retry, doubled before each further one. @default 100 */
  readonly baseDelayMs?: number;
  /** Longest pause. @default 5000 */
  readonly maxDelayMs?: number;
  /** How to wait (injected by tests). @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** What the serving writer needs to reach the table. */
export interface ServingWriterOptions {
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
  /** The index listing a period's month-to-date summaries. @default 'gsi1' */
  readonly periodIndexName?: string;
  /** Re-read the published-run marker every this many write batches, and stop if it moved. @default 20 */
  readonly guardEveryBatches?: number;
  readonly retry?: RetryPolicy;
  readonly logger?: RunLogger;
}

/** The writes a load needs, and what it leaves alone. */
export interface WritePlan {
  readonly requests: WriteRequest[];
  readonly puts: number;
  readonly deletes: number;
  readonly unchanged: number;
  readonly skippedNewer: number;
}

const BATCH_GET_SIZE = 100;
const BATCH_WRITE_SIZE = 25;

/**
 * Reads, compares and writes serving items for one run. BatchGetItem and BatchWriteItem answer
 * throttled requests as unprocessed items in a successful response, which the SDK's retry strategy
 * does not retry (it retries failed calls only), so the unprocessed ones are retried here, with
 * bounded exponential backoff.
 */
export class ServingWriter {
  written = 0;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly options: ServingWriterOptions,
    private readonly run: ServingRun,
  ) {
    this.maxAttempts = Math.max(1, options.retry?.maxAttempts ?? 8);
    this.baseDelayMs = options.retry?.baseDelayMs ?? 100;
    this.maxDelayMs = options.retry?.maxDelayMs ?? 5000;
    this.sleep = options.retry?.sleep ?? sleep;
  }

  private delay(attempt: number): number {
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
  }

  /** Decides what to put and delete, from what is stored now. */
  async plan(
    daily: readonly ServingItem[],
    summaries: readonly ServingItem[],
    daysByCustomer: ReadonlyMap<string, readonly string[]>,
  ): Promise<WritePlan> {
    const stored = await this.batchGet([...summaries, ...daily]);
    const requests: WriteRequest[] = [];
    let unchanged = 0;
    let skippedNewer = 0;
    let deletes = 0;
    const newer = (item: ServingItem | undefined) =>
      item?.delivered_at?.S !== undefined && item.delivered_at.S > this.run.deliveredAt;

    for (const item of [...summaries, ...daily]) {
      const current = stored.get(keyId(item));
      if (newer(current)) skippedNewer++;
      else if (current !== undefined && sameValues(item, current)) unchanged++;
      else requests.push({ PutRequest: { Item: item } });
    }

    const deleteKey = (pk: string, sk: string) => {
      requests.push({ DeleteRequest: { Key: marshall({ pk, sk }) } });
      deletes++;
    };
    // Days an earlier load wrote for a customer this run still has, but not on those days.
    for (const summary of summaries) {
      const customerId = summary.customer_id?.S as string;
      const current = stored.get(keyId(summary));
      if (current === undefined || newer(current)) continue;
      const now = new Set(daysByCustomer.get(customerId) ?? []);
      for (const day of storedDays(current)) {
        if (!now.has(day)) deleteKey(customerPk(customerId), daySk(day));
      }
    }
    // Customers an earlier load wrote for this period and this run does not have at all.
    for (const previous of await this.periodSummaries()) {
      const customerId = previous.customer_id?.S;
      if (customerId === undefined || daysByCustomer.has(customerId) || newer(previous)) continue;
      for (const day of storedDays(previous)) deleteKey(customerPk(customerId), daySk(day));
      deleteKey(customerPk(customerId), monthSk(this.run.billingPeriod));
    }
    return { requests, puts: requests.length - deletes, deletes, unchanged, skippedNewer };
  }

  /**
   * Writes the requests in batches of 25. Every `guardEveryBatches` batches the published-run marker is
   * read again; when another run has been published meanwhile, the writing stops and its run id is
   * returned (that run's own load writes the period).
   */
  async write(requests: readonly WriteRequest[]): Promise<string | null | undefined> {
    const guardEvery = Math.max(1, this.options.guardEveryBatches ?? 20);
    for (let start = 0, batch = 0; start < requests.length; start += BATCH_WRITE_SIZE, batch++) {
      if (batch > 0 && batch % guardEvery === 0) {
        const published = await readPublishedRun(
          this.options.dynamodb,
          this.options.tableName,
          this.run.billingPeriod,
        );
        if (published?.runId !== this.run.runId) {
          this.options.logger?.warn('Another run was published during the load; stopping', {
            runId: this.run.runId,
            publishedRunId: published?.runId,
            written: this.written,
          });
          return published?.runId ?? null;
        }
      }
      const chunk = requests.slice(start, start + BATCH_WRITE_SIZE);
      await this.batchWrite(chunk);
      this.written += chunk.length;
    }
    return undefined;
  }

  private async batchWrite(chunk: WriteRequest[]): Promise<void> {
    const table = this.options.tableName;
    let pending = chunk;
    for (let attempt = 1; ; attempt++) {
      const { UnprocessedItems } = await this.options.dynamodb.send(
        new BatchWriteItemCommand({ RequestItems: { [table]: pending } }),
      );
      pending = UnprocessedItems?.[table] ?? [];
      if (pending.length === 0) return;
      if (attempt >= this.maxAttempts)
        throw new UnprocessedItemsError('BatchWriteItem', pending.length, attempt);
      await this.sleep(this.delay(attempt));
    }
  }

  private async batchGet(items: readonly ServingItem[]): Promise<Map<string, ServingItem>> {
    const table = this.options.tableName;
    const found = new Map<string, ServingItem>();
    for (let start = 0; start < items.length; start += BATCH_GET_SIZE) {
      let keys = items.slice(start, start + BATCH_GET_SIZE).map((item) => ({
        pk: item.pk as { S: string },
        sk: item.sk as { S: string },
      }));
      for (let attempt = 1; keys.length > 0; attempt++) {
        const response = await this.options.dynamodb.send(
          new BatchGetItemCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of response.Responses?.[table] ?? []) found.set(keyId(item), item);
        keys = (response.UnprocessedKeys?.[table]?.Keys ?? []) as typeof keys;
        if (keys.length === 0) break;
        if (attempt >= this.maxAttempts)
          throw new UnprocessedItemsError('BatchGetItem', keys.length, attempt);
        await this.sleep(this.delay(attempt));
      }
    }
    return found;
  }

  /** Every month-to-date summary stored for the period (the index is eventually consistent). */
  private async periodSummaries(): Promise<ServingItem[]> {
    const summaries: ServingItem[] = [];
    const pages = paginateQuery(
      { client: this.options.dynamodb },
      {
        TableName: this.options.tableName,
        IndexName: this.options.periodIndexName ?? 'gsi1',
        KeyConditionExpression: 'gsi1pk = :period',
        ExpressionAttributeValues: marshall({ ':period': monthGsiPk(this.run.billingPeriod) }),
        ProjectionExpression: 'pk, sk, customer_id, usage_dates, delivered_at',
      },
    );
    for await (const page of pages) summaries.push(...(page.Items ?? []));
    return summaries;
  }
}

function storedDays(summary: ServingItem): string[] {
  if (summary.usage_dates === undefined) return [];
  const { usage_dates: days } = unmarshall({ usage_dates: summary.usage_dates });
  return Array.isArray(days) ? days.filter((day): day is string => typeof day === 'string') : [];
}
