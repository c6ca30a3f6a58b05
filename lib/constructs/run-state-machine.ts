import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { PREFIXES } from '../common/names.ts';
import type { PipelineAccess } from './pipeline-access.ts';
import type { PipelineFunction } from './pipeline-function.ts';
import type { StateMachineStepName } from './run-functions.ts';

/** What the state machine runs and reads. */
export interface RunStateMachineProps {
  readonly curBucket: s3.IBucket;
  readonly dataBucket: s3.IBucket;
  readonly resultsBucket: s3.IBucket;
  readonly queryResultsBucket: s3.IBucket;
  /** Encrypts the state machine's log group. */
  readonly encryptionKey: kms.IKey;
  readonly databaseName: string;
  readonly workgroupName: string;
  /** @default RemovalPolicy.RETAIN (of the log group) */
  readonly removalPolicy?: RemovalPolicy;
}

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
 * The state machine of one run (lambdas/README.md: the diagram, "Data flow through the execution",
 * "Errors: retry or not"), created in `scope`, with the role policies its CTAS statements need.
 */
export function createRunStateMachine(
  scope: Construct,
  props: RunStateMachineProps,
  access: PipelineAccess,
  functions: Readonly<Record<StateMachineStepName, PipelineFunction>>,
): sfn.StateMachine {
  const invoke = (
    stateId: string,
    lambdaFunction: PipelineFunction,
    options: { payload?: sfn.TaskInput; resultPath?: string; retryErrors?: string[] },
  ) => {
    const task = new tasks.LambdaInvoke(scope, stateId, {
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

  const cleanupAfterFailure = invoke('CleanupAfterFailure', functions.cleanup, {
    payload: sfn.TaskInput.fromObject(runRef),
    resultPath: '$.cleanup',
    retryErrors: ['States.TaskFailed'],
  }).next(new sfn.Fail(scope, 'RunFailed', { error: 'RunFailed', cause: 'A step of the run failed' }));
  const onFailure = { errors: [sfn.Errors.ALL], resultPath: '$.error' };

  const prepare = invoke('PrepareRun', functions['prepare-run'], {});
  prepare.addCatch(new sfn.Succeed(scope, 'Superseded', { comment: 'A later delivery has its own run' }), {
    errors: ['DeliverySupersededError'],
  });
  prepare.addCatch(cleanupAfterFailure, onFailure);

  const ctas = new CtasQuery(scope, 'RunCtas', {
    queryString: sfn.JsonPath.stringAt('$.statement.sql'),
    workGroup: props.workgroupName,
    queryExecutionContext: { databaseName: props.databaseName },
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
  const check = invoke('RunCheck', functions['run-check'], {
    resultPath: sfn.JsonPath.DISCARD,
    retryErrors: ATHENA_QUERY_ERRORS,
  });
  const statements = new sfn.Map(scope, 'RunStatements', {
    itemsPath: '$.statements',
    maxConcurrency: 1,
    itemSelector: { ...runRef, statement: sfn.JsonPath.stringAt('$$.Map.Item.Value') },
    resultPath: sfn.JsonPath.DISCARD,
  });
  statements.itemProcessor(
    new sfn.Choice(scope, 'StatementKind')
      .when(sfn.Condition.stringEquals('$.statement.kind', 'ctas'), ctas)
      .when(sfn.Condition.stringEquals('$.statement.kind', 'check'), check)
      .otherwise(new sfn.Fail(scope, 'UnknownStatementKind', { error: 'UnknownStatementKind' })),
  );
  statements.addCatch(cleanupAfterFailure, onFailure);

  const deliveredAt = sfn.JsonPath.stringAt('$.deliveredAt');
  const publish = invoke('PublishRun', functions['publish-run'], {
    payload: sfn.TaskInput.fromObject({
      ...runRef,
      executionId: sfn.JsonPath.stringAt('$.executionId'),
      deliveredAt,
    }),
    resultPath: '$.publish',
    retryErrors: ['States.TaskFailed'],
  });
  publish.addCatch(cleanupAfterFailure, onFailure);

  const load = invoke('LoadServingTable', functions['load-serving-table'], {
    payload: sfn.TaskInput.fromObject({ ...runRef, deliveredAt }),
    resultPath: '$.serving',
    retryErrors: [...ATHENA_QUERY_ERRORS, 'UnprocessedItemsError'],
  });
  load.addCatch(cleanupAfterFailure, onFailure);

  const alerts = invoke('EvaluateAlerts', functions['evaluate-alerts'], {
    payload: sfn.TaskInput.fromObject({
      ...runRef,
      published: sfn.JsonPath.stringAt('$.publish.published'),
    }),
    resultPath: '$.alerts',
    retryErrors: ATHENA_QUERY_ERRORS,
  });
  alerts.addCatch(cleanupAfterFailure, onFailure);

  const report = invoke('WriteReport', functions['write-report'], {
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

  const finish = invoke('Cleanup', functions.cleanup, {
    payload: sfn.TaskInput.fromObject(runRef),
    resultPath: '$.cleanup',
    retryErrors: ['States.TaskFailed'],
  });
  finish.addCatch(cleanupAfterFailure, onFailure);
  finish.next(new sfn.Succeed(scope, 'RunSucceeded'));
  load.next(alerts).next(report).next(finish);

  const definition = prepare
    .next(statements)
    .next(publish)
    .next(
      new sfn.Choice(scope, 'Published?')
        .when(sfn.Condition.booleanEquals('$.publish.published', true), load)
        .otherwise(finish),
    );

  const stateMachineLogs = new logs.LogGroup(scope, 'StateMachineLogGroup', {
    retention: logs.RetentionDays.ONE_MONTH,
    encryptionKey: props.encryptionKey,
    ...(props.removalPolicy ? { removalPolicy: props.removalPolicy } : {}),
  });
  const machine = new sfn.StateMachine(scope, 'StateMachine', {
    stateMachineType: sfn.StateMachineType.STANDARD,
    definitionBody: sfn.DefinitionBody.fromChainable(definition),
    comment: 'Cost per customer: one attribution run per CUR delivery',
    tracingEnabled: true,
    timeout: Duration.hours(6),
    // Execution data carries the run's SQL and results summaries, not needed to diagnose a failure.
    logs: { destination: stateMachineLogs, level: sfn.LogLevel.ALL, includeExecutionData: false },
  });
  // What the CTAS statements need (the built-in task policies are replaced, see CtasQuery).
  machine.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'AthenaCtasInTheWorkgroup',
      actions: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:StopQueryExecution'],
      resources: [access.workgroupArn],
    }),
  );
  // The CTAS statements read the deployed formats' billing tables (their descriptors) and the inputs.
  machine.addToRolePolicy(
    access.glue(
      'GlueCtasInputs',
      ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
      [...access.billingTableNames, 'telemetry', 'customers'].map((name) => access.tableArn(name)),
    ),
  );
  machine.addToRolePolicy(
    access.glue(
      'GlueCtasRunTables',
      ['glue:GetDatabase', 'glue:CreateTable', 'glue:GetTable'],
      [access.runTablesArn],
    ),
  );
  for (const pattern of access.curDataPatterns) props.curBucket.grantRead(machine, pattern);
  props.dataBucket.grantRead(machine, `${PREFIXES.telemetry}*`);
  props.dataBucket.grantRead(machine, `${PREFIXES.customers}*`);
  props.resultsBucket.grantReadWrite(machine, access.runs);
  props.queryResultsBucket.grantReadWrite(machine, access.queryResults);
  return machine;
}
