import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import {
  type AttributeValue,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  type DynamoDBClient,
  QueryCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { AthenaRunLayout } from '../engine/athena-engine.ts';
import type { QueryEngine } from '../engine/query-engine.ts';
import { sqlString } from '../sql/sql-template.ts';
import {
  billingPeriodSchema,
  deliveredAtSchema,
  parseInput,
  RUNS_PREFIX,
  runIdSchema,
  runPrefix,
  sleep,
} from './run-contract.ts';
import {
  buildServingItems,
  type CustomerDayRow,
  customerPk,
  daySk,
  keyId,
  monthGsiPk,
  monthSk,
  parseServingLine,
  type ServingItem,
  type ServingRun,
  sameValues,
} from './serving-items.ts';
import type { RunLogger } from './start-run.ts';
import { readPublishedRun } from './superseded-runs.ts';

export const loadServingInputSchema = z.object({
  runId: runIdSchema,
  billingPeriod: billingPeriodSchema,
  deliveredAt: deliveredAtSchema,
});

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

export interface LoadServingOptions {
  /** Runs the UNLOAD: an AthenaEngine with a bounded `maxWaitMs` when deployed. */
  readonly engine: Pick<QueryEngine, 'query'>;
  readonly s3: S3Client;
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
  readonly database: string;
  readonly resultsBucket: string;
  /** The index listing a period's month-to-date summaries. @default 'gsi1' */
  readonly periodIndexName?: string;
  /**
   * Names the UNLOAD's folder under `runs/run=<id>/serving/`: UNLOAD needs an empty folder, so every
   * attempt (a Lambda retry included) writes its own. @default a random UUID
   */
  readonly unloadToken?: string;
  /** Re-read the published-run marker every this many write batches, and stop if it moved. @default 20 */
  readonly guardEveryBatches?: number;
  readonly retry?: RetryPolicy;
  readonly logger?: RunLogger;
}

export type LoadServingResult =
  | {
      readonly loaded: true;
      readonly runId: string;
      readonly billingPeriod: string;
      readonly unloadLocation: string;
      readonly rows: number;
      readonly customers: number;
      /** Items put because they are new or their values changed. */
      readonly written: number;
      /** Items deleted: days and customers an earlier load had and this run does not. */
      readonly deleted: number;
      readonly unchanged: number;
      /** Items left alone because a later delivery wrote them. */
      readonly skippedNewer: number;
    }
  | {
      readonly loaded: false;
      readonly reason: 'run is not the published one';
      readonly runId: string;
      readonly billingPeriod: string;
      readonly publishedRunId: string | null;
      /** Writes done before the marker moved (0 when it had moved before the load began). */
      readonly written: number;
    };

/** The UNLOAD of the run's customer_daily_cost for one period, as JSON lines. */
export function servingUnloadSql(layout: AthenaRunLayout, billingPeriod: string, location: string): string {
  return (
    'UNLOAD (\n' +
    '  SELECT customer_id, CAST(usage_date AS varchar) AS usage_date, customer_name, tier, plan_status, mrr,\n' +
    '    direct_cost, shared_cost, total_cost, rules_version\n' +
    `  FROM ${layout.tableRef('customer_daily_cost')}\n` +
    `  WHERE billing_period = ${sqlString(billingPeriod).sql}\n` +
    `) TO ${sqlString(location).sql}\n` +
    "WITH (format = 'JSON')"
  );
}

/**
 * Loads a published run's per-customer results into the serving table:
 * 1. stops at once unless this run is the one published for the period (publish-run's marker);
 * 2. UNLOADs the run's `customer_daily_cost` for the period as JSON to
 *    `s3://<results>/runs/run=<id>/serving/<token>/` (Athena reads the Parquet; the Lambda needs no
 *    Parquet reader) and streams those files back, gunzipping them (JSON UNLOAD writes gzip by default);
 * 3. builds daily and month-to-date items ({@link buildServingItems});
 * 4. reads what is stored (BatchGetItem, consistent) and writes only what changed: puts for new or changed
 *    items, deletes for days and customers the earlier load had and this run does not; items whose stored
 *    `delivered_at` is later than this run's are left alone. BatchWriteItem in chunks of 25; unprocessed
 *    items are retried with bounded exponential backoff, then {@link UnprocessedItemsError}.
 */
export async function loadServingTable(
  input: unknown,
  options: LoadServingOptions,
): Promise<LoadServingResult> {
  const run = parseInput(loadServingInputSchema, input, 'load-serving-table input');
  const { runId, billingPeriod } = run;
  const published = await readPublishedRun(options.dynamodb, options.tableName, billingPeriod);
  if (published?.runId !== runId) {
    options.logger?.info('Run is not the published one; serving table left as it is', {
      runId,
      billingPeriod,
      publishedRunId: published?.runId,
    });
    return notPublished(run, published?.runId ?? null, 0);
  }

  const layout = new AthenaRunLayout({
    database: options.database,
    resultsBucket: options.resultsBucket,
    runPrefix: RUNS_PREFIX.replace(/\/$/, ''),
    runId,
    billingPeriod,
  });
  const prefix = `${runPrefix(runId)}serving/${options.unloadToken ?? randomUUID()}/`;
  const unloadLocation = `s3://${options.resultsBucket}/${prefix}`;
  await options.engine.query(servingUnloadSql(layout, billingPeriod, unloadLocation));
  const rows = await readServingRows(options.s3, options.resultsBucket, prefix);
  const items = buildServingItems(rows, run);

  const writer = new ServingWriter(options, run);
  const outcome = await writer.plan(items.daily, items.summaries, items.daysByCustomer);
  const stopped = await writer.write(outcome.requests);
  if (stopped !== undefined) return notPublished(run, stopped, writer.written);

  const result: LoadServingResult = {
    loaded: true,
    runId,
    billingPeriod,
    unloadLocation,
    rows: rows.length,
    customers: items.summaries.length,
    written: outcome.puts,
    deleted: outcome.deletes,
    unchanged: outcome.unchanged,
    skippedNewer: outcome.skippedNewer,
  };
  options.logger?.info('Serving table loaded', { ...result });
  return result;
}

function notPublished(run: ServingRun, publishedRunId: string | null, written: number): LoadServingResult {
  return {
    loaded: false,
    reason: 'run is not the published one',
    runId: run.runId,
    billingPeriod: run.billingPeriod,
    publishedRunId,
    written,
  };
}

/** Every row of the UNLOAD output under `prefix`, file by file, line by line. */
export async function readServingRows(
  s3: S3Client,
  bucket: string,
  prefix: string,
): Promise<CustomerDayRow[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) {
      if (object.Key !== undefined && !object.Key.endsWith('/')) keys.push(object.Key);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);

  const rows: CustomerDayRow[] = [];
  for (const key of keys.sort()) {
    const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (Body === undefined) continue;
    let number = 0;
    for await (const line of ndjsonLines(Body)) {
      number++;
      if (line.trim() === '') continue;
      rows.push(parseServingLine(line, `s3://${bucket}/${key} line ${number}`));
    }
  }
  return rows;
}

/**
 * The lines of an S3 object body, gunzipped when it starts with the gzip magic bytes (the file name is
 * not relied on). Streams: memory holds one chunk and one line at a time.
 */
export async function* ndjsonLines(body: unknown): AsyncGenerator<string> {
  const source = await toReadable(body);
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const first = await iterator.next();
  if (first.done) return;
  const head = Buffer.from(first.value);
  const replay = async function* (): AsyncGenerator<Buffer> {
    yield head;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield Buffer.from(next.value);
    }
  };
  let stream: Readable = Readable.from(replay());
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const compressed = stream;
    const gunzip = createGunzip();
    compressed.on('error', (error) => gunzip.destroy(error));
    stream = compressed.pipe(gunzip);
  }
  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of stream) {
    pending += decoder.write(chunk as Buffer);
    let start = 0;
    for (let newline = pending.indexOf('\n'); newline !== -1; newline = pending.indexOf('\n', start)) {
      yield pending.slice(start, newline).replace(/\r$/, '');
      start = newline + 1;
    }
    pending = pending.slice(start);
  }
  pending += decoder.end();
  if (pending !== '') yield pending;
}

async function toReadable(body: unknown): Promise<Readable> {
  if (body instanceof Readable) return body;
  if (typeof body === 'object' && body !== null && 'transformToByteArray' in body) {
    const bytes = await (body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
    return Readable.from([Buffer.from(bytes)]);
  }
  if (typeof body === 'string' || body instanceof Uint8Array) return Readable.from([Buffer.from(body)]);
  throw new TypeError('S3 object body is neither a stream nor bytes');
}

interface WritePlan {
  readonly requests: WriteRequest[];
  readonly puts: number;
  readonly deletes: number;
  readonly unchanged: number;
  readonly skippedNewer: number;
}

const BATCH_GET_SIZE = 100;
const BATCH_WRITE_SIZE = 25;

/** Reads, compares and writes serving items for one run, with bounded retries. */
class ServingWriter {
  written = 0;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly options: LoadServingOptions,
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
      requests.push({ DeleteRequest: { Key: { pk: { S: pk }, sk: { S: sk } } } });
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
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.options.dynamodb.send(
        new QueryCommand({
          TableName: this.options.tableName,
          IndexName: this.options.periodIndexName ?? 'gsi1',
          KeyConditionExpression: 'gsi1pk = :period',
          ExpressionAttributeValues: { ':period': { S: monthGsiPk(this.run.billingPeriod) } },
          ProjectionExpression: 'pk, sk, customer_id, usage_dates, delivered_at',
          ExclusiveStartKey: startKey,
        }),
      );
      summaries.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return summaries;
  }
}

function storedDays(summary: ServingItem): string[] {
  return (summary.usage_dates?.L ?? []).flatMap((value) => (value.S !== undefined ? [value.S] : []));
}
