import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { BILLING_FORMAT_LIST, type BillingFormat } from '../attribution/billing-formats.ts';
import { PREFIXES } from '../common/names.ts';
import { PipelineAccess } from './pipeline-access.ts';
import type { PipelineFunction } from './pipeline-function.ts';
import { createRunAlarms } from './run-alarms.ts';
import {
  createOnDeliveryFunction,
  createStepFunctions,
  type RunPipelineConfig,
  type RunStepName,
} from './run-functions.ts';
import { createRunStateMachine } from './run-state-machine.ts';

export type { RunPipelineConfig, RunStepName } from './run-functions.ts';

export interface RunPipelineProps {
  /** The bucket AWS Data Exports delivers CUR 2.0 into; its manifests start runs. */
  readonly curBucket: s3.IBucket;
  /** The bucket with `telemetry/`, `customers/` and `rules/`. */
  readonly dataBucket: s3.IBucket;
  /** The bucket runs write their Parquet into (`runs/`). */
  readonly resultsBucket: s3.IBucket;
  /** The bucket of the workgroup's query results (`athena/`). */
  readonly queryResultsBucket: s3.IBucket;
  /** The customer-managed key of the buckets, table and topics; also encrypts logs and the DLQ. */
  readonly encryptionKey: kms.IKey;
  /** The Glue database of the CUR, input and result tables. */
  readonly databaseName: string;
  /** The Athena workgroup every query runs in. */
  readonly workgroupName: string;
  /** The serving table (published-run marker, serving items, alert sent-state). */
  readonly servingTable: dynamodb.ITable;
  /** Topic of cost alerts. */
  readonly alertTopic: sns.ITopic;
  /** Topic of pipeline failures (alarm actions). */
  readonly operationsTopic: sns.ITopic;
  /** The pipeline's part of the configuration. */
  readonly config: RunPipelineConfig;
  /**
   * The billing formats: those with a Glue table are what prepare-run may plan (`BILLING_TABLES`)
   * and what the state machine may read (their tables and the CUR export's folders).
   * @default BILLING_FORMAT_LIST (the shipped registry, the same the Catalog defaults to)
   */
  readonly billingFormats?: readonly BillingFormat[];
  /**
   * What happens to the log groups when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The deployed attribution run (lambdas/README.md): a CUR manifest landing in the CUR bucket invokes
 * on-delivery, which starts one Standard execution per delivery, named after the run id. The state
 * machine prepares the run, runs its statements one at a time (CTAS in Athena, checks in a Lambda),
 * publishes, loads the serving table, evaluates alerts and cleans up; any failure cleans up and fails
 * the execution, which raises an alarm on the operations topic. on-delivery's failed asynchronous
 * invocations land in an encrypted dead-letter queue, also alarmed.
 *
 * Composed of: the resources the grants name (pipeline-access.ts), the functions with their grants
 * (run-functions.ts), the state machine (run-state-machine.ts) and the alarms (run-alarms.ts), all
 * created in this construct's scope so that their logical ids are those of one construct.
 */
export class RunPipeline extends Construct {
  readonly functions: Readonly<Record<RunStepName, PipelineFunction>>;
  readonly stateMachine: sfn.StateMachine;
  readonly deadLetterQueue: sqs.Queue;
  readonly executionsFailedAlarm: cloudwatch.Alarm;
  readonly deadLetterQueueAlarm: cloudwatch.Alarm;
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
    const billingFormats = props.billingFormats ?? BILLING_FORMAT_LIST;

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
      curExportName: config.curExportName,
      billingFormats,
    });
    this.workgroupArn = access.workgroupArn;
    this.glueArns = {
      catalog: access.catalogArn,
      database: access.databaseArn,
      runTables: access.runTablesArn,
    };

    const functionProps = { ...props, billingFormats };
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
      { bucket: curBucket, pattern: `${access.exportPrefix}/*` },
      ...access.curManifestPatterns.map((pattern) => ({ bucket: curBucket, pattern })),
      ...access.curDataPatterns.map((pattern) => ({ bucket: curBucket, pattern })),
      { bucket: dataBucket, pattern: `${PREFIXES.customers}*` },
      { bucket: dataBucket, pattern: `${PREFIXES.rules}*` },
      { bucket: dataBucket, pattern: `${PREFIXES.telemetry}*` },
      { bucket: resultsBucket, pattern: access.runs },
      { bucket: queryResultsBucket, pattern: access.queryResults },
      { bucket: resultsBucket, pattern: `${PREFIXES.reports}*` },
    ];
    this.servingTableArn = props.servingTable.tableArn;
    this.functions = { 'on-delivery': onDelivery, ...stepFunctions };

    const alarms = createRunAlarms(this, {
      stateMachine: this.stateMachine,
      deadLetterQueue: this.deadLetterQueue,
      operationsTopic: props.operationsTopic,
    });
    this.executionsFailedAlarm = alarms.executionsFailed;
    this.deadLetterQueueAlarm = alarms.deadLetterQueue;
  }
}
