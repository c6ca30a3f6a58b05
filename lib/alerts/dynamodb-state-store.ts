import {
  type AttributeValue,
  BatchGetItemCommand,
  type DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { Severity } from './alert.ts';
import type { SentRecord, SentState, SentStateStore, StateWrite } from './alert-state.ts';

export interface DynamoDbStateStoreOptions {
  readonly tableName: string;
  /** @default 'pk' */
  readonly partitionKey?: string;
  /** @default 'sk' */
  readonly sortKey?: string;
  /** @default 'expires_at' (epoch seconds, the table's TTL attribute) */
  readonly ttlAttribute?: string;
}

/** BatchGetItem reads at most 100 keys per call. */
const BATCH_SIZE = 100;
const MAX_ATTEMPTS = 5;

/**
 * Sent state in the serving table: one item per state key at pk `ALERT#<key>`, sk `SENT`: an alert's
 * `ALERT#<type>|<subject>`, a digest's `ALERT#digest|<severity>|<team>`. Each has a TTL a day past the
 * days its record matters ({@link StateWrite.keepDays}), so old records disappear by themselves.
 */
export class DynamoDbStateStore implements SentStateStore {
  private readonly pk: string;
  private readonly sk: string;
  private readonly ttl: string;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly options: DynamoDbStateStoreOptions,
  ) {
    this.pk = options.partitionKey ?? 'pk';
    this.sk = options.sortKey ?? 'sk';
    this.ttl = options.ttlAttribute ?? 'expires_at';
  }

  private itemKey(key: string): Record<string, AttributeValue> {
    return marshall({ [this.pk]: `ALERT#${key}`, [this.sk]: 'SENT' });
  }

  async load(keys: readonly string[]): Promise<SentState> {
    const state: Record<string, SentRecord> = {};
    const unique = [...new Set(keys)];
    for (let start = 0; start < unique.length; start += BATCH_SIZE) {
      let pending = unique.slice(start, start + BATCH_SIZE).map((key) => this.itemKey(key));
      // Unprocessed keys (throttling) are asked for again, with a growing pause, a bounded number of times.
      for (let attempt = 1; pending.length > 0; attempt++) {
        if (attempt > MAX_ATTEMPTS)
          throw new Error(`DynamoDB left ${pending.length} alert state keys unread`);
        const result = await this.client.send(
          new BatchGetItemCommand({
            RequestItems: { [this.options.tableName]: { Keys: pending, ConsistentRead: true } },
          }),
        );
        for (const raw of result.Responses?.[this.options.tableName] ?? []) {
          const item = unmarshall(raw) as Record<string, unknown>;
          const key =
            typeof item[this.pk] === 'string' ? (item[this.pk] as string).replace(/^ALERT#/, '') : '';
          const {
            severity,
            sent_at: sentAt,
            currency,
            as_of: asOf,
            team,
          } = item as {
            severity?: Severity;
            sent_at?: string;
            currency?: string;
            as_of?: string;
            team?: string;
          };
          if (key && severity && sentAt)
            state[key] = {
              severity,
              sentAt,
              ...(currency === undefined ? {} : { currency }),
              ...(asOf === undefined ? {} : { asOf }),
              ...(team === undefined ? {} : { team }),
            };
        }
        pending = (result.UnprocessedKeys?.[this.options.tableName]?.Keys ?? []) as typeof pending;
        if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      }
    }
    return state;
  }

  /** One PutItem per record (the role may write `ALERT#*` items, one at a time). */
  async record(writes: readonly StateWrite[]): Promise<void> {
    for (const { key, record, keepDays } of writes) {
      const sentAt = Date.parse(record.sentAt);
      const expiresAt = Math.ceil(sentAt / 1000) + (keepDays + 1) * 24 * 60 * 60;
      await this.client.send(
        new PutItemCommand({
          TableName: this.options.tableName,
          Item: marshall(
            {
              [this.pk]: `ALERT#${key}`,
              [this.sk]: 'SENT',
              severity: record.severity,
              sent_at: record.sentAt,
              as_of: record.asOf,
              team: record.team,
              currency: record.currency,
              [this.ttl]: expiresAt,
            },
            { removeUndefinedValues: true },
          ),
        }),
      );
    }
  }
}
