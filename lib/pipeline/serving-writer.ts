import { BatchWriteItemCommand, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { sleep } from '../common/concurrency.ts';
import type { ServingItem } from './serving-items.ts';

/*
 * The DynamoDB side of load-serving-table: puts a stream of items in BatchWriteItem batches of 25, a
 * bounded number of batches in flight, so memory holds at most `maxBatchesInFlight + 1` batches
 * whatever the size of the month. It never reads: every key carries the run's version, so there is
 * nothing of another run to compare against or to overwrite.
 */

/** DynamoDB left requests unprocessed after every retry (sustained throttling): the load fails, to be retried. */
export class UnprocessedItemsError extends Error {
  override readonly name = 'UnprocessedItemsError';
  readonly unprocessed: number;

  constructor(unprocessed: number, attempts: number) {
    super(`DynamoDB BatchWriteItem left ${unprocessed} request(s) unprocessed after ${attempts} attempts`);
    this.unprocessed = unprocessed;
  }
}

export interface RetryPolicy {
  /** Calls per batch, the first included. @default 10 */
  readonly maxAttempts?: number;
  /** Ceiling of the first pause, doubled for each further one. @default 50 */
  readonly baseDelayMs?: number;
  /** Largest ceiling. @default 5000 */
  readonly maxDelayMs?: number;
  /** How to wait (injected by tests). @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** A number in [0, 1) (injected by tests). @default Math.random */
  readonly random?: () => number;
}

export interface ServingWriterOptions {
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
  /** BatchWriteItem calls in flight at once. @default 8 */
  readonly maxBatchesInFlight?: number;
  readonly retry?: RetryPolicy;
}

/** Items per BatchWriteItem: DynamoDB's limit. */
export const BATCH_WRITE_SIZE = 25;

/**
 * Writes serving items as they come. BatchWriteItem answers throttled requests as unprocessed items in
 * a successful response, which the SDK does not retry (it retries failed calls only), so they are
 * retried here with exponential backoff and full jitter (a pause drawn uniformly below a ceiling that
 * doubles), then {@link UnprocessedItemsError}.
 */
export class ServingWriter {
  /** Items DynamoDB has accepted. */
  written = 0;
  private batch: WriteRequest[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;
  private readonly maxInFlight: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(private readonly options: ServingWriterOptions) {
    this.maxInFlight = Math.max(1, Math.floor(options.maxBatchesInFlight ?? 8));
    this.maxAttempts = Math.max(1, options.retry?.maxAttempts ?? 10);
    this.baseDelayMs = options.retry?.baseDelayMs ?? 50;
    this.maxDelayMs = options.retry?.maxDelayMs ?? 5000;
    this.sleep = options.retry?.sleep ?? sleep;
    this.random = options.retry?.random ?? Math.random;
  }

  /** Queues a put; waits while the batches in flight are at their bound. @throws the first batch's failure */
  async put(item: ServingItem): Promise<void> {
    this.throwIfFailed();
    this.batch.push({ PutRequest: { Item: item } });
    if (this.batch.length >= BATCH_WRITE_SIZE) await this.dispatch();
  }

  /** Sends what is queued and waits for every batch. @throws the first batch's failure */
  async close(): Promise<void> {
    if (this.batch.length > 0) await this.dispatch();
    await Promise.all(this.inFlight);
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private async dispatch(): Promise<void> {
    while (this.inFlight.size >= this.maxInFlight) await Promise.race(this.inFlight);
    this.throwIfFailed();
    const chunk = this.batch;
    this.batch = [];
    const sending: Promise<void> = this.send(chunk)
      .then(() => {
        this.written += chunk.length;
      })
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => this.inFlight.delete(sending));
    this.inFlight.add(sending);
  }

  private async send(chunk: WriteRequest[]): Promise<void> {
    const table = this.options.tableName;
    let pending = chunk;
    for (let attempt = 1; ; attempt++) {
      const { UnprocessedItems } = await this.options.dynamodb.send(
        new BatchWriteItemCommand({ RequestItems: { [table]: pending } }),
      );
      pending = UnprocessedItems?.[table] ?? [];
      if (pending.length === 0) return;
      if (attempt >= this.maxAttempts) throw new UnprocessedItemsError(pending.length, attempt);
      const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
      await this.sleep(Math.floor(this.random() * ceiling));
    }
  }
}
