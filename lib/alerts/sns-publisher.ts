import { PublishBatchCommand, type PublishBatchRequestEntry, type SNSClient } from '@aws-sdk/client-sns';
import { messageBytes, type RenderedMessage, SNS_MAX_MESSAGE_BYTES } from './alert-message.ts';

/** PublishBatch takes at most 10 entries per call. */
export const SNS_BATCH_ENTRIES = 10;
/** ...whose messages and attributes together are at most 256 KiB, as one message may be. */
export const SNS_MAX_BATCH_BYTES = SNS_MAX_MESSAGE_BYTES;

/** What publishing a run's messages came to. */
export interface PublishResult {
  /** Ids of the messages SNS accepted. */
  readonly published: readonly string[];
  /** The error code of each message that still failed after its retries, by id. */
  readonly failed: ReadonlyMap<string, string>;
  /** PublishBatch calls made, retries included. */
  readonly calls: number;
}

/** Publishes rendered messages (lib/alerts/alert-message.ts `renderMessage`). */
export type Publisher = (messages: readonly RenderedMessage[]) => Promise<PublishResult>;

export interface BatchPublisherOptions {
  /** Attempts per entry, the first included. @default 3 */
  readonly maxAttempts?: number;
  /** The pause before the first retry, doubled before each further one. @default 200 */
  readonly backoffMs?: number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Groups messages, in order, into batches of at most {@link SNS_BATCH_ENTRIES} entries and
 * {@link SNS_MAX_BATCH_BYTES} bytes. A message alone over the limit was already refused by its rendering.
 */
export function batchesOf(messages: readonly RenderedMessage[]): RenderedMessage[][] {
  const batches: RenderedMessage[][] = [];
  let current: RenderedMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = messageBytes(message);
    if (current.length > 0 && (current.length === SNS_BATCH_ENTRIES || bytes + size > SNS_MAX_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

function entryOf(message: RenderedMessage): PublishBatchRequestEntry {
  return {
    Id: message.id,
    Message: message.message,
    MessageStructure: 'json',
    Subject: message.subject,
    MessageAttributes: message.attributes,
  };
}

/**
 * A publisher to an SNS topic with PublishBatch. The SDK retries throttling of a whole call itself;
 * here an entry SNS lists in `Failed` is sent again, alone with the other failed entries of its batch,
 * after a short growing pause, up to `maxAttempts` in all, unless SNS says the fault is the sender's (a
 * retry cannot help). A call that throws counts as a failure of all its entries, with the error's name
 * as code. Never throws: what failed for good is in the result, for the caller to leave unrecorded.
 */
export function snsBatchPublisher(
  client: SNSClient,
  topicArn: string,
  options: BatchPublisherOptions = {},
): Publisher {
  const maxAttempts = options.maxAttempts ?? 3;
  const backoffMs = options.backoffMs ?? 200;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  return async (messages) => {
    const published: string[] = [];
    const failed = new Map<string, string>();
    let calls = 0;
    for (const batch of batchesOf(messages)) {
      let pending = batch;
      for (let attempt = 1; pending.length > 0; attempt++) {
        if (attempt > 1) await sleep(backoffMs * 2 ** (attempt - 2));
        calls++;
        const retry: RenderedMessage[] = [];
        try {
          const response = await client.send(
            new PublishBatchCommand({ TopicArn: topicArn, PublishBatchRequestEntries: pending.map(entryOf) }),
          );
          const failures = new Map((response.Failed ?? []).map((f) => [f.Id ?? '', f]));
          for (const message of pending) {
            const failure = failures.get(message.id);
            if (failure === undefined) {
              published.push(message.id);
              failed.delete(message.id);
            } else {
              failed.set(message.id, failure.Code ?? 'unknown');
              if (failure.SenderFault !== true) retry.push(message);
            }
          }
        } catch (error) {
          const code = error instanceof Error ? error.name : 'unknown';
          for (const message of pending) failed.set(message.id, code);
          retry.push(...pending);
        }
        pending = attempt < maxAttempts ? retry : [];
      }
    }
    return { published, failed, calls };
  };
}
