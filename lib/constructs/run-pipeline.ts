import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { AlertConfig } from '../alerts/alert-config.ts';
import type { CostBasis } from '../attribution/rules.ts';
import { RESULT_TABLES } from '../attribution/stages.ts';
import {
  PIPELINE_TIMEOUTS,
  PipelineFunction,
  type PipelineFunctionName,
  type PipelineFunctionProps,
} from './pipeline-function.ts';
import { DATA_PREFIXES, QUERY_RESULTS_PREFIX, REPORTS_PREFIX, RUNS_PREFIX } from './storage.ts';

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
   * What happens to the log groups when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** The functions of a run (create-finance-views runs at deploy time, in FinanceViews). */
export type RunStepName = Exclude<PipelineFunctionName, 'create-finance-views'>;

/** Errors of a failed Lambda invocation that Step Functions should retry (lambdas/README.md). */
const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];
const ATHENA_QUERY_ERRORS = ['AthenaQueryError', 'AthenaQueryTimeoutError'];

/**
 * The Athena `.sync` task of a CTAS statement, with two changes to the built-in task:
 * - result reuse is switched off explicitly on each query (a reused result would not notice that AWS
 *   overwrote the CUR since), which the built-in props can only switch on;
 * - the state machine role gets the policies RunPipeline scopes to the workgroup, the database's
 *   tables and the bucket prefixes, instead of the built-in ones (`s3:GetObject` and
 *   `s3:CreateBucket` on `*`, Glue `Delete*` on every table of the database).
 */
class CtasQuery extends tasks.AthenaStartQueryExecution {
  protected override readonly taskPolicies: iam.PolicyStatement[];

  constructor(scope: Construct, id: string, props: tasks.AthenaStartQueryExecutionProps) {
    super(scope, id, props);
    this.taskPolicies = [];
  }

  protected override _renderTask(topLevelQueryLanguage?: sfn.QueryLanguage): unknown {
    const rendered = super._renderTask(topLevelQueryLanguage) as { Parameters?: Record<string, unknown> };
    return {
      ...rendered,
      Parameters: {
        ...rendered.Parameters,
        ResultReuseConfiguration: { ResultReuseByAgeConfiguration: { Enabled: false } },
      },
    };
  }
}

/**
 * The deployed attribution run (lambdas/README.md): a CUR manifest landing in the CUR bucket invokes
 * on-delivery, which starts one Standard execution per delivery, named after the run id. The state
 * machine prepares the run, runs its statements one at a time (CTAS in Athena, checks in a Lambda),
 * publishes, loads the serving table, evaluates alerts and cleans up; any failure cleans up and fails
 * the execution, which raises an alarm on the operations topic. on-delivery's failed asynchronous
 * invocations land in an encrypted dead-letter queue, also alarmed.
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
  /** The S3 prefixes granted (object key patterns ending in `*`), per bucket, for acknowledgements. */
  /** ARN of the serving table, whose index ARNs the DynamoDB grants name. */
  readonly servingTableArn: string;
  readonly grantedPrefixes: ReadonlyArray<{ readonly bucket: s3.IBucket; readonly pattern: string }>;

  constructor(scope: Construct, id: string, props: RunPipelineProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { config, encryptionKey, curBucket, dataBucket, resultsBucket, queryResultsBucket } = props;
    const database = props.databaseName;
    const exportPrefix = `${config.curPrefix}/${config.curExportName}`;

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

    this.workgroupArn = stack.formatArn({
      service: 'athena',
      resource: 'workgroup',
      resourceName: props.workgroupName,
    });
    const glueArn = (resource: string, resourceName?: string) =>
      stack.formatArn({ service: 'glue', resource, ...(resourceName ? { resourceName } : {}) });
    const catalogArn = glueArn('catalog');
    const databaseArn = glueArn('database', database);
    const tableArn = (name: string) => glueArn('table', `${database}/${name}`);
    const runTablesArn = tableArn('run_*');
    const resultTableArns = RESULT_TABLES.map(tableArn);
    this.glueArns = { catalog: catalogArn, database: databaseArn, runTables: runTablesArn };

    const athenaQueries = new iam.PolicyStatement({
      sid: 'AthenaQueriesInTheWorkgroup',
      actions: [
        'athena:StartQueryExecution',
        'athena:GetQueryExecution',
        'athena:GetQueryResults',
        'athena:StopQueryExecution',
      ],
      resources: [this.workgroupArn],
    });
    const glue = (sid: string, actions: string[], tables: string[]) =>
      new iam.PolicyStatement({ sid, actions, resources: [catalogArn, databaseArn, ...tables] });

    const fn = (
      name: RunStepName,
      memorySize: number,
      environment: Record<string, string>,
      extra: Partial<PipelineFunctionProps> = {},
    ) =>
      new PipelineFunction(this, `${pascal(name)}Function`, {
        handlerName: name,
        memorySize,
        timeout: PIPELINE_TIMEOUTS[name],
        environment,
        encryptionKey,
        ...(props.removalPolicy ? { removalPolicy: props.removalPolicy } : {}),
        ...extra,
      });
    const queryEnv = {
      DATABASE: database,
      WORKGROUP: props.workgroupName,
      RESULTS_BUCKET: resultsBucket.bucketName,
    };
    const runs = `${RUNS_PREFIX}*`;
    const queryResults = `${QUERY_RESULTS_PREFIX}*`;
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
      queryFunction.addToRolePolicy(athenaQueries);
      queryFunction.addToRolePolicy(glue(glueSid, glueActions, tables));
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
    });
    curBucket.grantRead(prepareRun, `${exportPrefix}/metadata/*`);
    dataBucket.grantRead(prepareRun, `${DATA_PREFIXES.customers}*`);
    dataBucket.grantRead(prepareRun, `${DATA_PREFIXES.rules}*`);

    // run-check: runs a check query on the run's tables.
    const runCheck = fn('run-check', 256, queryEnv);
    resultsBucket.grantRead(runCheck, runs);
    grantQueries(runCheck, 'GlueRunTables', ['glue:GetDatabase', 'glue:GetTable'], [runTablesArn]);

    // publish-run: points the result tables' partitions at the run and writes the published marker.
    const publishRun = fn('publish-run', 256, {
      TABLE_NAME: props.servingTable.tableName,
      DATABASE: database,
      RESULTS_BUCKET: resultsBucket.bucketName,
    });
    resultsBucket.grantRead(publishRun, runs);
    publishRun.addToRolePolicy(tagRunObjects);
    publishRun.addToRolePolicy(
      glue(
        'GlueResultPartitions',
        ['glue:GetTable', 'glue:GetPartition', 'glue:CreatePartition', 'glue:UpdatePartition'],
        resultTableArns,
      ),
    );
    props.servingTable.grantReadWriteData(publishRun);

    // load-serving-table: UNLOADs the run's serving rows (Athena writes with the caller's credentials).
    const loadServingTable = fn('load-serving-table', 1024, {
      ...queryEnv,
      TABLE_NAME: props.servingTable.tableName,
    });
    resultsBucket.grantReadWrite(loadServingTable, runs);
    grantQueries(loadServingTable, 'GlueRunTables', ['glue:GetDatabase', 'glue:GetTable'], [runTablesArn]);
    props.servingTable.grantReadWriteData(loadServingTable);

    // evaluate-alerts: queries the published tables and publishes alerts.
    const evaluateAlerts = fn('evaluate-alerts', 256, {
      ...queryEnv,
      TABLE_NAME: props.servingTable.tableName,
      ALERT_TOPIC_ARN: props.alertTopic.topicArn,
      ALERT_CONFIG: JSON.stringify(config.alerts),
    });
    resultsBucket.grantRead(evaluateAlerts, runs);
    dataBucket.grantRead(evaluateAlerts, `${DATA_PREFIXES.customers}*`);
    grantQueries(
      evaluateAlerts,
      'GluePublishedTables',
      ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
      [...resultTableArns, tableArn('customers')],
    );
    resultsBucket.grantPut(evaluateAlerts, runs);
    props.servingTable.grantReadWriteData(evaluateAlerts);
    props.alertTopic.grantPublish(evaluateAlerts);

    // write-report: the run's HTML report, from its own tables, with the alerts evaluate-alerts saved.
    const writeReport = fn('write-report', 1024, queryEnv);
    resultsBucket.grantRead(writeReport, runs);
    resultsBucket.grantPut(writeReport, runs);
    resultsBucket.grantPut(writeReport, `${REPORTS_PREFIX}*`);
    grantQueries(writeReport, 'GlueRunTables', ['glue:GetDatabase', 'glue:GetTable'], [runTablesArn]);

    // cleanup: deletes the run's tables and tags its files when it is not the published run.
    const cleanup = fn('cleanup', 256, {
      DATABASE: database,
      RESULTS_BUCKET: resultsBucket.bucketName,
      TABLE_NAME: props.servingTable.tableName,
    });
    resultsBucket.grantRead(cleanup, runs);
    cleanup.addToRolePolicy(tagRunObjects);
    cleanup.addToRolePolicy(glue('GlueRunTables', ['glue:GetTable', 'glue:DeleteTable'], [runTablesArn]));
    props.servingTable.grantReadData(cleanup);

    // The state machine.
    const invoke = (
      stateId: string,
      lambdaFunction: PipelineFunction,
      options: { payload?: sfn.TaskInput; resultPath?: string; retryErrors?: string[] },
    ) => {
      const task = new tasks.LambdaInvoke(this, stateId, {
        lambdaFunction,
        payloadResponseOnly: true,
        retryOnServiceExceptions: false,
        ...(options.payload ? { payload: options.payload } : {}),
        ...(options.resultPath !== undefined ? { resultPath: options.resultPath } : {}),
      });
      task.addRetry({
        errors: LAMBDA_SERVICE_ERRORS,
        interval: Duration.seconds(2),
        maxAttempts: 6,
        backoffRate: 2,
        jitterStrategy: sfn.JitterType.FULL,
      });
      if (options.retryErrors?.length) {
        task.addRetry({
          errors: options.retryErrors,
          interval: Duration.seconds(5),
          maxAttempts: 2,
          backoffRate: 2,
        });
      }
      return task;
    };
    const runRef = {
      runId: sfn.JsonPath.stringAt('$.runId'),
      billingPeriod: sfn.JsonPath.stringAt('$.billingPeriod'),
    };

    const cleanupAfterFailure = invoke('CleanupAfterFailure', cleanup, {
      payload: sfn.TaskInput.fromObject(runRef),
      resultPath: '$.cleanup',
      retryErrors: ['States.TaskFailed'],
    }).next(new sfn.Fail(this, 'RunFailed', { error: 'RunFailed', cause: 'A step of the run failed' }));
    const onFailure = { errors: [sfn.Errors.ALL], resultPath: '$.error' };

    const prepare = invoke('PrepareRun', prepareRun, {});
    prepare.addCatch(new sfn.Succeed(this, 'Superseded', { comment: 'A later delivery has its own run' }), {
      errors: ['DeliverySupersededError'],
    });
    prepare.addCatch(cleanupAfterFailure, onFailure);

    const ctas = new CtasQuery(this, 'RunCtas', {
      queryString: sfn.JsonPath.stringAt('$.statement.sql'),
      workGroup: props.workgroupName,
      queryExecutionContext: { databaseName: database },
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      resultPath: sfn.JsonPath.DISCARD,
    });
    // A failed CTAS may leave files in its location, and a retried CTAS refuses a non-empty one.
    ctas.addRetry({
      errors: ['Athena.TooManyRequestsException'],
      interval: Duration.seconds(5),
      maxAttempts: 5,
      backoffRate: 2,
    });
    const check = invoke('RunCheck', runCheck, {
      resultPath: sfn.JsonPath.DISCARD,
      retryErrors: ATHENA_QUERY_ERRORS,
    });
    const statements = new sfn.Map(this, 'RunStatements', {
      itemsPath: '$.statements',
      maxConcurrency: 1,
      itemSelector: { ...runRef, statement: sfn.JsonPath.stringAt('$$.Map.Item.Value') },
      resultPath: sfn.JsonPath.DISCARD,
    });
    statements.itemProcessor(
      new sfn.Choice(this, 'StatementKind')
        .when(sfn.Condition.stringEquals('$.statement.kind', 'ctas'), ctas)
        .when(sfn.Condition.stringEquals('$.statement.kind', 'check'), check)
        .otherwise(new sfn.Fail(this, 'UnknownStatementKind', { error: 'UnknownStatementKind' })),
    );
    statements.addCatch(cleanupAfterFailure, onFailure);

    const deliveredAt = sfn.JsonPath.stringAt('$.deliveredAt');
    const publish = invoke('PublishRun', publishRun, {
      payload: sfn.TaskInput.fromObject({
        ...runRef,
        executionId: sfn.JsonPath.stringAt('$.executionId'),
        deliveredAt,
      }),
      resultPath: '$.publish',
      retryErrors: ['States.TaskFailed'],
    });
    publish.addCatch(cleanupAfterFailure, onFailure);

    const load = invoke('LoadServingTable', loadServingTable, {
      payload: sfn.TaskInput.fromObject({ ...runRef, deliveredAt }),
      resultPath: '$.serving',
      retryErrors: [...ATHENA_QUERY_ERRORS, 'UnprocessedItemsError'],
    });
    load.addCatch(cleanupAfterFailure, onFailure);

    const alerts = invoke('EvaluateAlerts', evaluateAlerts, {
      payload: sfn.TaskInput.fromObject({
        ...runRef,
        published: sfn.JsonPath.stringAt('$.publish.published'),
      }),
      resultPath: '$.alerts',
      retryErrors: ATHENA_QUERY_ERRORS,
    });
    alerts.addCatch(cleanupAfterFailure, onFailure);

    const report = invoke('WriteReport', writeReport, {
      payload: sfn.TaskInput.fromObject({
        ...runRef,
        rulesVersion: sfn.JsonPath.stringAt('$.rulesVersion'),
        alertsAsOf: sfn.JsonPath.stringAt('$.alerts.asOf'),
        published: sfn.JsonPath.stringAt('$.publish.published'),
      }),
      resultPath: '$.report',
      retryErrors: ATHENA_QUERY_ERRORS,
    });
    report.addCatch(cleanupAfterFailure, onFailure);

    const finish = invoke('Cleanup', cleanup, {
      payload: sfn.TaskInput.fromObject(runRef),
      resultPath: '$.cleanup',
      retryErrors: ['States.TaskFailed'],
    });
    finish.addCatch(cleanupAfterFailure, onFailure);
    finish.next(new sfn.Succeed(this, 'RunSucceeded'));
    load.next(alerts).next(report).next(finish);

    const definition = prepare
      .next(statements)
      .next(publish)
      .next(
        new sfn.Choice(this, 'Published?')
          .when(sfn.Condition.booleanEquals('$.publish.published', true), load)
          .otherwise(finish),
      );

    const stateMachineLogs = new logs.LogGroup(this, 'StateMachineLogGroup', {
      retention: logs.RetentionDays.ONE_MONTH,
      encryptionKey,
      ...(props.removalPolicy ? { removalPolicy: props.removalPolicy } : {}),
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      comment: 'Cost per customer: one attribution run per CUR delivery',
      tracingEnabled: true,
      timeout: Duration.hours(6),
      // Execution data carries the run's SQL and results summaries, not needed to diagnose a failure.
      logs: { destination: stateMachineLogs, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    const machine = this.stateMachine;
    // What the CTAS statements need (the built-in task policies are replaced, see CtasQuery).
    machine.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'AthenaCtasInTheWorkgroup',
        actions: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:StopQueryExecution'],
        resources: [this.workgroupArn],
      }),
    );
    machine.addToRolePolicy(
      glue(
        'GlueCtasInputs',
        ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
        ['cur2', 'telemetry', 'customers'].map(tableArn),
      ),
    );
    machine.addToRolePolicy(
      glue('GlueCtasRunTables', ['glue:GetDatabase', 'glue:CreateTable', 'glue:GetTable'], [runTablesArn]),
    );
    curBucket.grantRead(machine, `${exportPrefix}/data/*`);
    dataBucket.grantRead(machine, `${DATA_PREFIXES.telemetry}*`);
    dataBucket.grantRead(machine, `${DATA_PREFIXES.customers}*`);
    resultsBucket.grantReadWrite(machine, runs);
    queryResultsBucket.grantReadWrite(machine, queryResults);

    // on-delivery: S3 invokes it asynchronously; after two retries the event goes to the DLQ.
    this.deadLetterQueue = new sqs.Queue(this, 'OnDeliveryDeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: encryptionKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const onDelivery = fn(
      'on-delivery',
      256,
      {
        STATE_MACHINE_ARN: machine.stateMachineArn,
        CUR_BUCKET: curBucket.bucketName,
        CUR_PREFIX: config.curPrefix,
        CUR_EXPORT_NAME: config.curExportName,
      },
      { retryAttempts: 2, onFailure: new destinations.SqsDestination(this.deadLetterQueue) },
    );
    curBucket.grantRead(onDelivery, `${exportPrefix}/*`);
    machine.grantStartExecution(onDelivery);
    curBucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.LambdaDestination(onDelivery), {
      prefix: `${exportPrefix}/`,
      suffix: '-Manifest.json',
    });

    this.grantedPrefixes = [
      { bucket: curBucket, pattern: `${exportPrefix}/*` },
      { bucket: curBucket, pattern: `${exportPrefix}/metadata/*` },
      { bucket: curBucket, pattern: `${exportPrefix}/data/*` },
      { bucket: dataBucket, pattern: `${DATA_PREFIXES.customers}*` },
      { bucket: dataBucket, pattern: `${DATA_PREFIXES.rules}*` },
      { bucket: dataBucket, pattern: `${DATA_PREFIXES.telemetry}*` },
      { bucket: resultsBucket, pattern: runs },
      { bucket: queryResultsBucket, pattern: queryResults },
      { bucket: resultsBucket, pattern: `${REPORTS_PREFIX}*` },
    ];
    this.servingTableArn = props.servingTable.tableArn;

    this.functions = {
      'on-delivery': onDelivery,
      'prepare-run': prepareRun,
      'run-check': runCheck,
      'publish-run': publishRun,
      'load-serving-table': loadServingTable,
      'evaluate-alerts': evaluateAlerts,
      'write-report': writeReport,
      cleanup,
    };

    // Alarms: a failed run, and a delivery whose run could not be started.
    const notifyOperations = new cloudwatchActions.SnsAction(props.operationsTopic);
    this.executionsFailedAlarm = new cloudwatch.Alarm(this, 'ExecutionsFailedAlarm', {
      alarmDescription: 'A cost-per-customer run failed: the previous results stay published',
      metric: machine.metricFailed({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.executionsFailedAlarm.addAlarmAction(notifyOperations);
    this.deadLetterQueueAlarm = new cloudwatch.Alarm(this, 'DeadLetterQueueAlarm', {
      alarmDescription: 'A CUR delivery could not start its run: see the on-delivery dead-letter queue',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.deadLetterQueueAlarm.addAlarmAction(notifyOperations);
  }
}

/** `load-serving-table` -> `LoadServingTable`: construct ids are PascalCase. */
function pascal(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}
