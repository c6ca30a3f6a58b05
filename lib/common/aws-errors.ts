/*
 * Matching AWS SDK errors. SDK v3 errors are classes, but a bundled Lambda, a mock or a retried call can
 * hand over an error of the same name from another copy of the class, so errors are matched by name.
 */

/** The name of an error-like value. */
export function errorName(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('name' in error)) return undefined;
  return typeof error.name === 'string' ? error.name : undefined;
}

/** Whether the error carries one of these names (`NoSuchKey`, `ConditionalCheckFailedException`, ...). */
export function isAwsError(error: unknown, ...names: readonly string[]): boolean {
  const name = errorName(error);
  return name !== undefined && names.includes(name);
}

function httpStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('$metadata' in error)) return undefined;
  const metadata = error.$metadata;
  if (typeof metadata !== 'object' || metadata === null || !('httpStatusCode' in metadata)) return undefined;
  return typeof metadata.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
}

/**
 * Whether S3 said the object does not exist. HeadObject responses have no body, so some SDK paths
 * surface a 404 only as its status code.
 */
export function isNotFound(error: unknown): boolean {
  return isAwsError(error, 'NotFound', 'NoSuchKey') || httpStatus(error) === 404;
}

/** Whether an error from Athena's StartQueryExecution means "too many requests or queries right now". */
export function isThrottling(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (isAwsError(error, 'ThrottlingException', 'TooManyRequestsException')) return true;
  if (error.name !== 'InvalidRequestException') return false;
  const message = `${error.message} ${(error as { Message?: unknown }).Message ?? ''}`;
  return /exceed/i.test(message) && /rate|concurren|limit/i.test(message);
}
