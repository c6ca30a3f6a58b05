import type { RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { AlertConfig } from '../alerts/alert-config.ts';
import { BILLING_FORMAT_LIST, type BillingFormat, billingTablesOf } from '../attribution/billing-formats.ts';
import type { CostBasis } from '../attribution/rules.ts';
import { PREFIXES } from '../common/names.ts';
import type { PipelineAccess } from './pipeline-access.ts';
import {
  PIPELINE_TIMEOUTS,
  PipelineFunction,
  type PipelineFunctionName,
  type PipelineFunctionProps,
} from './pipeline-function.ts';

/** The part of the product configuration the pipeline reads. */
export interface RunPipelineConfig {
  /** Prefix of the CUR export in the CUR bucket, without slashes at either end. */
  readonly curPrefix: string;
  /** Name of the CUR 2.0 export (the folder under `curPrefix`). */
  readonly curExportName: string;
  /** The cost allocation tag that carries the tenant id. */
  readonly tenantTagKey: string;
  /** Which cost the attribution uses. */
  readonly costBasis: CostBasis;
  /** Alert thresholds and routing, passed to evaluate-alerts as `ALERT_CONFIG`. */
  readonly alerts: AlertConfig;
}

/** What the run's functions read, write and are configured with. */
export interface RunFunctionsProps {
  /** The bucket AWS Data Exports delivers CUR 2.0 into. */
  readonly curBucket: s3.IBucket;
  /** The bucket with `telemetry/`, `customers/` and `rules/`. */
  readonly dataBucket: s3.IBucket;
  /** The bucket runs write their Parquet into (`runs/`). */
  readonly resultsBucket: s3.IBucket;
  /** The bucket of the workgroup's query results (`athena/`). */
  readonly queryResultsBucket: s3.IBucket;
  /** The key the functions' log groups are encrypted with. */
  readonly encryptionKey: kms.IKey;
  readonly databaseName: string;
  readonly workgroupName: string;
  /** The serving table (published-run marker, serving items, alert sent-state). */
  readonly servingTable: dynamodb.ITable;
  /** Topic of cost alerts. */
  readonly alertTopic: sns.ITopic;
  readonly config: RunPipelineConfig;
  /** @default BILLING_FORMAT_LIST */
  readonly billingFormats?: readonly BillingFormat[];
  /** @default RemovalPolicy.RETAIN (of the log groups) */
  readonly removalPolicy?: RemovalPolicy;
}

/** The functions of a run (create-finance-views runs at deploy time, in FinanceViews). */
export type RunStepName = Exclude<PipelineFunctionName, 'create-finance-views'>;

/** The functions the state machine invokes: every run step but on-delivery, which starts it. */
export type StateMachineStepName = Exclude<RunStepName, 'on-delivery'>;

/** `load-serving-table` -> `LoadServingTable`: construct ids are PascalCase. */
function pascal(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/** A run function in `scope` (the RunPipeline: ids and logical ids stay those of one construct). */
function runFunction(
  scope: Construct,
  props: RunFunctionsProps,
  name: RunStepName,
  memorySize: number,
  environment: Record<string, string>,
  extra: Partial<PipelineFunctionProps> = {},
): PipelineFunction {
  return new PipelineFunction(scope, `${pascal(name)}Function`, {
    handlerName: name,
    memorySize,
    timeout: PIPELINE_TIMEOUTS[name],
    environment,
    encryptionKey: props.encryptionKey,
    ...(props.removalPolicy ? { removalPolicy: props.removalPolicy } : {}),
    ...extra,
  });
}

/**
 * The functions the state machine invokes, each with its configuration (lambdas/README.md,
 * "Functions") and its least-privilege grants ("Permissions"), created in `scope`.
 */
export function createStepFunctions(
  scope: Construct,
  props: RunFunctionsProps,
  access: PipelineAccess,
): Record<StateMachineStepName, PipelineFunction> {
  const { config, curBucket, dataBucket, resultsBucket, queryResultsBucket, servingTable } = props;
  const database = props.databaseName;
  const { runs, queryResults, runTablesArn, resultTableArns } = access;
  const fn = (name: RunStepName, memorySize: number, environment: Record<string, string>) =>
    runFunction(scope, props, name, memorySize, environment);
  const queryEnv = {
    DATABASE: database,
    WORKGROUP: props.workgroupName,
    RESULTS_BUCKET: resultsBucket.bucketName,
  };
  /**
   * What a function needs to run queries in the workgroup: Athena there, its query-results prefix, and
   * Glue read access to the tables its queries name.
   */
  const grantQueries = (
    queryFunction: PipelineFunction,
    glueSid: string,
    glueActions: string[],
    tables: string[],
  ) => {
    queryResultsBucket.grantReadWrite(queryFunction, queryResults);
    queryFunction.addToRolePolicy(access.athenaQueries);
    queryFunction.addToRolePolicy(access.glue(glueSid, glueActions, tables));
  };
  const tagRunObjects = new iam.PolicyStatement({
    sid: 'TagRunObjects',
    actions: ['s3:PutObjectTagging'],
    resources: [resultsBucket.arnForObjects(runs)],
  });

  // prepare-run: reads the manifest, the customers and the rules; runs nothing in Athena.
  const prepareRun = fn('prepare-run', 512, {
    DATA_BUCKET: dataBucket.bucketName,
    RESULTS_BUCKET: resultsBucket.bucketName,
    DATABASE: database,
    TENANT_TAG_KEY: config.tenantTagKey,
    COST_BASIS: config.costBasis,
    BILLING_TABLES: JSON.stringify(billingTablesOf(props.billingFormats ?? BILLING_FORMAT_LIST)),
  });
  for (const pattern of access.curManifestPatterns) curBucket.grantRead(prepareRun, pattern);
  dataBucket.grantRead(prepareRun, `${PREFIXES.customers}*`);
  dataBucket.grantRead(prepareRun, `${PREFIXES.rules}*`);

  // run-check: runs a check query on the run's tables.
  const runCheck = fn('run-check', 256, queryEnv);
  resultsBucket.grantRead(runCheck, runs);
  grantQueries(runCheck, 'GlueRunTables', ['glue:GetDatabase', 'glue:GetTable'], [runTablesArn]);

  // publish-run: points the result tables' partitions at the run and writes the published marker.
  const publishRun = fn('publish-run', 256, {
    TABLE_NAME: servingTable.tableName,
    DATABASE: database,
    RESULTS_BUCKET: resultsBucket.bucketName,
  });
  resultsBucket.grantRead(publishRun, runs);
  publishRun.addToRolePolicy(tagRunObjects);
  publishRun.addToRolePolicy(
    access.glue(
      'GlueResultPartitions',
      ['glue:GetTable', 'glue:GetPartition', 'glue:CreatePartition', 'glue:UpdatePartition'],
      resultTableArns,
    ),
  );
  servingTable.grantReadWriteData(publishRun);

  // load-serving-table: UNLOADs the run's serving rows (Athena writes with the caller's credentials).
  const loadServingTable = fn('load-serving-table', 1024, {
    ...queryEnv,
    TABLE_NAME: servingTable.tableName,
  });
  resultsBucket.grantReadWrite(loadServingTable, runs);
  grantQueries(loadServingTable, 'GlueRunTables', ['glue:GetDatabase', 'glue:GetTable'], [runTablesArn]);
  servingTable.grantReadWriteData(loadServingTable);

  // evaluate-alerts: queries the published tables and publishes alerts.
  const evaluateAlerts = fn('evaluate-alerts', 256, {
    ...queryEnv,
    TABLE_NAME: servingTable.tableName,
    ALERT_TOPIC_ARN: props.alertTopic.topicArn,
    ALERT_CONFIG: JSON.stringify(config.alerts),
  });
  resultsBucket.grantRead(evaluateAlerts, runs);
  dataBucket.grantRead(evaluateAlerts, `${PREFIXES.customers}*`);
  grantQueries(
    evaluateAlerts,
    'GluePublishedTables',
    ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
    [...resultTableArns, access.tableArn('customers')],
  );
  resultsBucket.grantPut(evaluateAlerts, runs);
  servingTable.grantReadWriteData(evaluateAlerts);
  props.alertTopic.grantPublish(evaluateAlerts);

  // write-report: the run's HTML report, from its own tables, with the alerts evaluate-alerts saved.
  const writeReport = fn('write-report', 1024, queryEnv);
  resultsBucket.grantRead(writeReport, runs);
  resultsBucket.grantPut(writeReport, runs);
  resultsBucket.grantPut(writeReport, `${PREFIXES.reports}*`);
  grantQueries(writeReport, 'GlueRunTables', ['glue:GetDatabase', 'glue:GetTable'], [runTablesArn]);

  // cleanup: deletes the run's tables and tags its files when it is not the published run.
  const cleanup = fn('cleanup', 256, {
    DATABASE: database,
    RESULTS_BUCKET: resultsBucket.bucketName,
    TABLE_NAME: servingTable.tableName,
  });
  resultsBucket.grantRead(cleanup, runs);
  cleanup.addToRolePolicy(tagRunObjects);
  cleanup.addToRolePolicy(
    access.glue('GlueRunTables', ['glue:GetTable', 'glue:DeleteTable'], [runTablesArn]),
  );
  servingTable.grantReadData(cleanup);

  return {
    'prepare-run': prepareRun,
    'run-check': runCheck,
    'publish-run': publishRun,
    'load-serving-table': loadServingTable,
    'evaluate-alerts': evaluateAlerts,
    'write-report': writeReport,
    cleanup,
  };
}

/**
 * on-delivery, created in `scope` once the state machine exists: invoked asynchronously by the CUR
 * bucket's notification of `*-Manifest.json` under the export; after two retries the event goes to
 * the dead-letter queue.
 */
export function createOnDeliveryFunction(
  scope: Construct,
  props: RunFunctionsProps,
  access: PipelineAccess,
  stateMachine: sfn.IStateMachine,
  deadLetterQueue: sqs.IQueue,
): PipelineFunction {
  const { config, curBucket } = props;
  const onDelivery = runFunction(
    scope,
    props,
    'on-delivery',
    256,
    {
      STATE_MACHINE_ARN: stateMachine.stateMachineArn,
      CUR_BUCKET: curBucket.bucketName,
      CUR_PREFIX: config.curPrefix,
      CUR_EXPORT_NAME: config.curExportName,
    },
    { retryAttempts: 2, onFailure: new destinations.SqsDestination(deadLetterQueue) },
  );
  curBucket.grantRead(onDelivery, `${access.exportPrefix}/*`);
  stateMachine.grantStartExecution(onDelivery);
  curBucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.LambdaDestination(onDelivery), {
    prefix: `${access.exportPrefix}/`,
    suffix: '-Manifest.json',
  });
  return onDelivery;
}
