/**
 * The configuration every AWS SDK client of the pipeline's functions is created with.
 *
 * `standard` retry mode, not `adaptive`: standard retries throttling and 5xx errors with exponential
 * backoff and full jitter and a retry quota that stops retrying during an outage; adaptive adds a
 * client-side rate limiter shared by every request of the client, so throttling on one resource (a hot
 * DynamoDB partition, one S3 prefix) would also delay unrelated requests of the same function, and AWS
 * documents it as experimental and meant for single-resource clients. Eight attempts instead of the
 * default three ride out a burst of throttling inside one invocation (load-serving-table's batch
 * writes, publish-run's tagging); what still fails reaches the state machine, whose retrier
 * (lib/constructs/retryable-errors.ts) tries the whole step again with backoff.
 */
export const AWS_CLIENT_CONFIG = { maxAttempts: 8, retryMode: 'standard' } as const;
