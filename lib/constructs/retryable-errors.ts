import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';

/**
 * The error names under which a retryable AWS failure reaches Step Functions from a pipeline Lambda.
 * A Lambda error reaches the state machine under its `name` (the SDK v3 exception's name, since the
 * handlers let SDK errors through unchanged), so these are the throttling and 5xx names of the
 * services the functions call, after the SDK's own retries (lambdas/commons/aws-clients.ts) gave up.
 * Names shared by several services (`ThrottlingException`: KMS, Glue, Athena, SNS) appear once.
 */
export const RETRYABLE_AWS_ERRORS: readonly string[] = [
  // The invocation itself (LambdaInvoke).
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  // Throttling, whatever the service: KMS, Glue, Athena, SNS, DynamoDB's control plane.
  'ThrottlingException',
  'TooManyRequestsException',
  'ThrottledException',
  // S3.
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  // DynamoDB.
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'InternalServerError',
  // KMS (directly, or through S3, DynamoDB and SNS with a customer-managed key).
  'KMSInternalException',
  'KMSThrottlingException',
  'KeyUnavailableException',
  'DependencyTimeoutException',
  // SNS.
  'InternalErrorException',
  // Glue.
  'InternalServiceException',
  'OperationTimeoutException',
  // Athena (and Lambda's own 5xx).
  'InternalServerException',
  'ServiceUnavailableException',
  'ServiceException',
  // The SDK's client-side timeout, and a connection the SDK could not reuse.
  'TimeoutError',
  'TimeoutException',
];

/** The same failures as they reach a service-integration task (`Athena.<name>`, the CTAS `.sync` task). */
export const RETRYABLE_ATHENA_TASK_ERRORS: readonly string[] = [
  'Athena.TooManyRequestsException',
  'Athena.ThrottlingException',
  'Athena.InternalServerException',
];

/**
 * The retrier every task of the state machine gets first: exponential backoff (rate 2) from 2 s with
 * FULL jitter, so that the tasks of several executions throttled at once do not retry in step, capped at
 * one minute between attempts; six attempts (about two minutes at most) on top of the SDK's own eight.
 */
export const AWS_RETRY: Omit<sfn.RetryProps, 'errors'> = {
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxAttempts: 6,
  maxDelay: Duration.seconds(60),
  jitterStrategy: sfn.JitterType.FULL,
};
