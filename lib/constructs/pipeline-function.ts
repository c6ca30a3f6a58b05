import { fileURLToPath } from 'node:url';
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { AWS_CLIENT_ENVIRONMENT } from '../../lambdas/commons/aws-clients.ts';
import { type PipelineHandlerName, pipelineBundling } from './bundling.ts';

/** The handlers under `lambdas/`, one per pipeline step (lambdas/README.md). */
export type PipelineFunctionName = PipelineHandlerName;

/** The Powertools metrics namespace every pipeline function writes to. */
export const PIPELINE_METRICS_NAMESPACE = 'CostPerCustomer';

export interface PipelineFunctionProps {
  /** Which handler under `lambdas/` this function runs; also its Powertools service name. */
  readonly handlerName: PipelineFunctionName;
  /** The function's configuration (lambdas/README.md, "Functions"); Powertools variables are added. */
  readonly environment: Readonly<Record<string, string>>;
  /** Maximum run time of one invocation. */
  readonly timeout: Duration;
  /** Memory in MB. */
  readonly memorySize: number;
  /** Key the function's log group is encrypted with. */
  readonly encryptionKey: kms.IKey;
  /**
   * How long the function's logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the log group when the stack is deleted.
   * @default RemovalPolicy.RETAIN (the CloudFormation default for log groups)
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Concurrent executions reserved for (and capping) this function.
   * @default - unreserved
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Retries of an asynchronous invocation that failed.
   * @default 2 (the Lambda default)
   */
  readonly retryAttempts?: number;
  /**
   * Where a failed asynchronous invocation goes once its retries are spent.
   * @default - nowhere
   */
  readonly onFailure?: lambda.IDestination;
}

/**
 * A pipeline Lambda with the defaults every one of them shares: Node.js 22 on arm64, bundled locally
 * by esbuild as minified ESM with `pipelineBundling()` (without its banner and hook every function
 * fails after deploy), X-Ray tracing, Powertools service and namespace, the SDK retry settings of
 * lambdas/commons/aws-clients.ts, and its own log group with a
 * retention, encrypted with the CMK. The role gets write access to that log group only, instead of the
 * AWSLambdaBasicExecutionRole managed policy, which allows writing to every log group of the account.
 */
export class PipelineFunction extends nodejs.NodejsFunction {
  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}LogGroup`, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      encryptionKey: props.encryptionKey,
      ...(props.removalPolicy ? { removalPolicy: props.removalPolicy } : {}),
    });
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Cost per customer pipeline function ${props.handlerName}`,
    });
    logGroup.grantWrite(role);
    const bundling = pipelineBundling(props.handlerName);
    super(scope, id, {
      entry: fileURLToPath(new URL(`../../lambdas/${props.handlerName}.ts`, import.meta.url)),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      role,
      environment: {
        ...props.environment,
        POWERTOOLS_SERVICE_NAME: props.handlerName,
        POWERTOOLS_METRICS_NAMESPACE: PIPELINE_METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        // The SDK's retries (lambdas/commons/aws-clients.ts), for every client of the function.
        ...AWS_CLIENT_ENVIRONMENT,
      },
      ...(props.reservedConcurrentExecutions !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions }
        : {}),
      ...(props.retryAttempts !== undefined ? { retryAttempts: props.retryAttempts } : {}),
      ...(props.onFailure ? { onFailure: props.onFailure } : {}),
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: false,
        banner: bundling.banner,
        define: bundling.define,
        commandHooks: bundling.commandHooks,
      },
    });
  }
}

/** Default timeouts of the handlers, kept here so the state machine and the functions agree. */
export const PIPELINE_TIMEOUTS: Readonly<Record<PipelineFunctionName, Duration>> = {
  'on-delivery': Duration.seconds(60),
  'prepare-run': Duration.seconds(60),
  'run-check': Duration.seconds(300),
  'claim-period': Duration.seconds(30),
  'publish-run': Duration.seconds(120),
  'load-serving-table': Duration.seconds(900),
  'evaluate-alerts': Duration.seconds(300),
  cleanup: Duration.seconds(120),
  'write-report': Duration.seconds(300),
  'run-watch': Duration.seconds(60),
  // Reads and checks a customers or rules upload (a 100,000-customer CSV is a few MB).
  'on-input': Duration.seconds(120),
  // Pages through every subscription (100 a request) and reads the customers file.
  'stripe-mrr': Duration.seconds(300),
  // Paged ListMetrics and GetMetricData of every configured source, for two days.
  'cloudwatch-telemetry': Duration.seconds(300),
  // Eight CREATE VIEW statements of a second or two each, with room for Athena queueing.
  'create-finance-views': Duration.seconds(600),
};
