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

/**
 * The same settings as the environment variables every SDK v3 client reads when its constructor is not
 * given them: the constructs set them on every pipeline function, so a client created as `new XClient({})`
 * retries the same way.
 */
export const AWS_CLIENT_ENVIRONMENT: Readonly<Record<string, string>> = {
  AWS_MAX_ATTEMPTS: String(AWS_CLIENT_CONFIG.maxAttempts),
  AWS_RETRY_MODE: AWS_CLIENT_CONFIG.retryMode,
};
