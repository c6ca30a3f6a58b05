import { Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { PREFIXES } from '../common/names.ts';
import { billingExportsOf } from '../config/billing-exports.ts';
import { PipelineAccess } from './pipeline-access.ts';
import type { PipelineFunction } from './pipeline-function.ts';
import { createRunAlarms, type RunAlarms } from './run-alarms.ts';
import {
  createOnDeliveryFunction,
  createOnInputFunction,
  createRunWatchFunction,
  createStepFunctions,
  type RunFunctionsProps,
  type RunStepName,
} from './run-functions.ts';
import { createRunStateMachine } from './run-state-machine.ts';

export type { RunPipelineConfig, RunStepName } from './run-functions.ts';

/**
 * What the pipeline reads, writes and is configured with: what its functions need
 * ({@link RunFunctionsProps}, documented there) and the topic its alarms notify.
 */
export interface RunPipelineProps extends RunFunctionsProps {
  /** Topic of pipeline failures (alarm actions). */
  readonly operationsTopic: sns.ITopic;
}

/**
 * The deployed attribution run (lambdas/README.md): a CUR manifest landing in the CUR bucket invokes
 * on-delivery, which starts one Standard execution per delivery, named after the run id. The state
 * machine prepares the run, runs its statements one at a time (CTAS in Athena, checks in a Lambda),
 * claims the billing period, loads the serving table, publishes, evaluates alerts, writes the report
 * and cleans up; any failure cleans up and fails the execution. Alarms on the operations topic: failed,
 * timed-out and aborted executions, on-delivery's dead letters, incomplete deliveries, and periods
 * without a visible run 26 hours after their delivery (run-watch, hourly).
 *
 * Composed of: the resources the grants name (pipeline-access.ts), the functions with their grants
 * (run-functions.ts), the state machine (run-state-machine.ts) and the alarms (run-alarms.ts), all
 * created in this construct's scope so that their logical ids are those of one construct.
 */
export class RunPipeline extends Construct {
  readonly functions: Readonly<Record<RunStepName, PipelineFunction>>;
  readonly stateMachine: sfn.StateMachine;
  readonly deadLetterQueue: sqs.Queue;
  /** Every alarm of the run, each notifying the operations topic. */
  readonly alarms: RunAlarms;
  /** The hourly schedule of run-watch. */
  readonly runWatchSchedule: events.Rule;
  /** The hourly sweep of on-input, which starts the debounced late-telemetry re-runs. */
  readonly lateTelemetrySchedule: events.Rule;
  /** The resource ARNs the Glue statements name, for tests and acknowledgements. */
  readonly glueArns: { readonly catalog: string; readonly database: string; readonly runTables: string };
  readonly workgroupArn: string;
  /** ARN of the serving table, whose index ARNs the DynamoDB grants name. */
  readonly servingTableArn: string;
  /** The S3 prefixes granted (object key patterns ending in `*`), per bucket, for acknowledgements. */
  readonly grantedPrefixes: ReadonlyArray<{ readonly bucket: s3.IBucket; readonly pattern: string }>;

  constructor(scope: Construct, id: string, props: RunPipelineProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { config, encryptionKey, curBucket, dataBucket, resultsBucket, queryResultsBucket } = props;
    const billingExports = props.billingExports ?? billingExportsOf(config);

    // CloudWatch Logs encrypts the log groups with the CMK, which its key policy must allow, scoped to
    // this account's log groups.
    encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchLogsOfThisAccount',
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*`,
          },
        },
      }),
    );

    const access = new PipelineAccess(this, {
      databaseName: props.databaseName,
      workgroupName: props.workgroupName,
      curPrefix: config.curPrefix,
      billingExports,
    });
    this.workgroupArn = access.workgroupArn;
    this.glueArns = {
      catalog: access.catalogArn,
      database: access.databaseArn,
      runTables: access.runTablesArn,
    };

    const functionProps = { ...props, billingExports };
    const stepFunctions = createStepFunctions(this, functionProps, access);
    this.stateMachine = createRunStateMachine(this, props, access, stepFunctions);

    this.deadLetterQueue = new sqs.Queue(this, 'OnDeliveryDeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: encryptionKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const onDelivery = createOnDeliveryFunction(
      this,
      functionProps,
      access,
      this.stateMachine,
      this.deadLetterQueue,
    );

    this.grantedPrefixes = [
      ...access.curManifestPatterns.map((pattern) => ({ bucket: curBucket, pattern })),
      ...access.curDataPatterns.map((pattern) => ({ bucket: curBucket, pattern })),
      { bucket: dataBucket, pattern: `${PREFIXES.customers}*` },
      { bucket: dataBucket, pattern: `${PREFIXES.rules}*` },
      { bucket: dataBucket, pattern: `${PREFIXES.customersIncoming}*` },
      { bucket: dataBucket, pattern: `${PREFIXES.rulesIncoming}*` },
      { bucket: dataBucket, pattern: `${PREFIXES.telemetry}*` },
      { bucket: resultsBucket, pattern: access.runs },
      { bucket: queryResultsBucket, pattern: access.queryResults },
      { bucket: resultsBucket, pattern: `${PREFIXES.reports}*` },
      { bucket: resultsBucket, pattern: access.published },
    ];
    this.servingTableArn = props.servingTable.tableArn;
    const runWatch = createRunWatchFunction(this, functionProps);
    // Hourly, so an overdue period is seen within the hour; a missed invocation is covered by the next
    // one (the check is stateless), hence retries but no dead-letter queue.
    this.runWatchSchedule = new events.Rule(this, 'RunWatchSchedule', {
      description: 'Cost per customer: checks every hour that each delivery got a visible run within 26 h',
      schedule: events.Schedule.rate(Duration.hours(1)),
      targets: [new targets.LambdaFunction(runWatch, { retryAttempts: 2, maxEventAge: Duration.hours(1) })],
    });
    const onInput = createOnInputFunction(
      this,
      functionProps,
      onDelivery,
      props.operationsTopic,
      this.deadLetterQueue,
    );
    // Hourly: the late-telemetry re-runs that were debounced start within the hour after the last one.
    this.lateTelemetrySchedule = new events.Rule(this, 'LateTelemetrySchedule', {
      description: 'Cost per customer: starts the late-telemetry re-runs that waited for their hour',
      schedule: events.Schedule.rate(Duration.hours(1)),
      targets: [
        new targets.LambdaFunction(onInput, {
          event: events.RuleTargetInput.fromObject({ sweep: 'late-telemetry' }),
          retryAttempts: 2,
          maxEventAge: Duration.hours(1),
        }),
      ],
    });
    this.functions = {
      'on-delivery': onDelivery,
      ...stepFunctions,
      'run-watch': runWatch,
      'on-input': onInput,
    };

    this.alarms = createRunAlarms(this, {
      stateMachine: this.stateMachine,
      deadLetterQueue: this.deadLetterQueue,
      operationsTopic: props.operationsTopic,
    });
  }
}
