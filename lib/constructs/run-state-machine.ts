import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { PREFIXES } from '../common/names.ts';
import { keyStatement, listStatement, objectStatement, S3_READ, S3_WRITE } from './access-statements.ts';
import type { PipelineAccess } from './pipeline-access.ts';
import type { PipelineFunction } from './pipeline-function.ts';
import { AWS_RETRY, RETRYABLE_ATHENA_TASK_ERRORS, RETRYABLE_AWS_ERRORS } from './retryable-errors.ts';
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

const ATHENA_QUERY_ERRORS = ['AthenaQueryError', 'AthenaQueryTimeoutError'];

/**
 * The most statements of one run that run at once: the widest level of the plan (four outputs of the
 * ledger). Athena's default quota of active DML queries per account (20 to 25 by region) leaves room
 * for several runs of different billing periods at once.
 */
const MAX_CONCURRENT_STATEMENTS = 4;

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
    // First: AWS throttling and 5xx, whatever step they hit (lib/constructs/retryable-errors.ts).
    task.addRetry({ errors: [...RETRYABLE_AWS_ERRORS], ...AWS_RETRY });
    if (options.retryErrors?.length) {
      task.addRetry({
        errors: options.retryErrors,
        interval: Duration.seconds(5),
        maxAttempts: 2,
        backoffRate: 2,
        jitterStrategy: sfn.JitterType.FULL,
      });
    }
    return task;
  };
  const runRef = {
    runId: sfn.JsonPath.stringAt('$.runId'),
    billingPeriod: sfn.JsonPath.stringAt('$.billingPeriod'),
  };
  const deliveredAt = sfn.JsonPath.stringAt('$.deliveredAt');
  const executionId = sfn.JsonPath.stringAt('$.executionId');
  const cleanupTask = (stateId: string) =>
    invoke(stateId, functions.cleanup, {
      payload: sfn.TaskInput.fromObject(runRef),
      resultPath: '$.cleanup',
      retryErrors: ['States.TaskFailed'],
    });

  const cleanupAfterFailure = cleanupTask('CleanupAfterFailure').next(
    new sfn.Fail(scope, 'RunFailed', { error: 'RunFailed', cause: 'A step of the run failed' }),
  );
  const onFailure = { errors: [sfn.Errors.ALL], resultPath: '$.error' };

  const prepare = invoke('PrepareRun', functions['prepare-run'], {});
  // Another source account's delivery of the period is being refreshed (a file its manifest lists is not
  // written yet): Data Exports finishes within minutes, so wait for it, 1 + 2 + 4 + 8 + 16 minutes.
  prepare.addRetry({
    errors: ['SourceDeliveryIncompleteError'],
    interval: Duration.minutes(1),
    maxAttempts: 5,
    backoffRate: 2,
    jitterStrategy: sfn.JitterType.FULL,
  });
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
  // Only errors of the API calls: a failed CTAS (States.TaskFailed) may leave files in its location,
  // and a retried CTAS refuses a non-empty one.
  ctas.addRetry({ errors: [...RETRYABLE_ATHENA_TASK_ERRORS], ...AWS_RETRY });
  const check = invoke('RunCheck', functions['run-check'], {
    resultPath: sfn.JsonPath.DISCARD,
    retryErrors: ATHENA_QUERY_ERRORS,
  });
  // The levels of the plan one after another (lib/pipeline/athena-run-plan.ts), the statements of a level
  // side by side: a level's statements read only tables of earlier levels.
  const runStatements = new sfn.Map(scope, 'RunStatements', {
    itemsPath: '$.levels',
    maxConcurrency: 1,
    itemSelector: { ...runRef, level: sfn.JsonPath.stringAt('$$.Map.Item.Value') },
    resultPath: sfn.JsonPath.DISCARD,
  });
  const runLevel = new sfn.Map(scope, 'RunLevel', {
    itemsPath: '$.level',
    maxConcurrency: MAX_CONCURRENT_STATEMENTS,
    itemSelector: { ...runRef, statement: sfn.JsonPath.stringAt('$$.Map.Item.Value') },
    resultPath: sfn.JsonPath.DISCARD,
  });
  runStatements.itemProcessor(runLevel);
  runLevel.itemProcessor(
    new sfn.Choice(scope, 'StatementKind')
      // A DDL statement (the run's table over a CSV delivery) is an Athena query like a CTAS.
      .when(
        sfn.Condition.or(
          sfn.Condition.stringEquals('$.statement.kind', 'ctas'),
          sfn.Condition.stringEquals('$.statement.kind', 'ddl'),
        ),
        ctas,
      )
      .when(sfn.Condition.stringEquals('$.statement.kind', 'check'), check)
      .otherwise(new sfn.Fail(scope, 'UnknownStatementKind', { error: 'UnknownStatementKind' })),
  );
  runStatements.addCatch(cleanupAfterFailure, onFailure);

  // The period's lease: runs of one billing period stage, publish and alert one at a time.
  const claim = invoke('ClaimPeriod', functions['claim-period'], {
    payload: sfn.TaskInput.fromObject({ ...runRef, executionId, deliveredAt }),
    resultPath: '$.claim',
  });
  // Another run of the period holds the lease (two hours at most): wait for it, a minute at a time.
  claim.addRetry({
    errors: ['LeaseBusyError'],
    interval: Duration.seconds(60),
    backoffRate: 1,
    maxAttempts: 150,
  });
  claim.addCatch(cleanupAfterFailure, onFailure);

  const load = invoke('LoadServingTable', functions['load-serving-table'], {
    payload: sfn.TaskInput.fromObject({
      ...runRef,
      deliveredAt,
      visibleRunId: sfn.JsonPath.stringAt('$.claim.visibleRunId'),
    }),
    resultPath: '$.serving',
    retryErrors: [...ATHENA_QUERY_ERRORS, 'UnprocessedItemsError'],
  });
  load.addCatch(cleanupAfterFailure, onFailure);

  const publish = invoke('PublishRun', functions['publish-run'], {
    payload: sfn.TaskInput.fromObject({ ...runRef, executionId, deliveredAt }),
    resultPath: '$.publish',
    retryErrors: ['States.TaskFailed'],
  });
  publish.addCatch(cleanupAfterFailure, onFailure);

  const alerts = invoke('EvaluateAlerts', functions['evaluate-alerts'], {
    payload: sfn.TaskInput.fromObject(runRef),
    resultPath: '$.alerts',
    retryErrors: ATHENA_QUERY_ERRORS,
  });
  alerts.addCatch(cleanupAfterFailure, onFailure);

  const report = invoke('WriteReport', functions['write-report'], {
    payload: sfn.TaskInput.fromObject({
      ...runRef,
      rulesVersion: sfn.JsonPath.stringAt('$.rulesVersion'),
      costBasis: sfn.JsonPath.stringAt('$.costBasis'),
      alertsAsOf: sfn.JsonPath.stringAt('$.alerts.asOf'),
    }),
    resultPath: '$.report',
    retryErrors: ATHENA_QUERY_ERRORS,
  });
  report.addCatch(cleanupAfterFailure, onFailure);

  const finish = cleanupTask('Cleanup');
  finish.addCatch(cleanupAfterFailure, onFailure);
  finish.next(new sfn.Succeed(scope, 'RunSucceeded'));
  const notNewest = cleanupTask('CleanupNotNewest');
  notNewest.addCatch(cleanupAfterFailure, onFailure);
  notNewest.next(
    new sfn.Succeed(scope, 'NotNewest', { comment: 'A newer delivery of the period is already visible' }),
  );
  load.next(publish).next(alerts).next(report).next(finish);

  const definition = prepare
    .next(runStatements)
    .next(claim)
    .next(
      new sfn.Choice(scope, 'Claimed?')
        .when(sfn.Condition.booleanEquals('$.claim.claimed', false), notNewest)
        .otherwise(load),
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
  // Athena reads the inputs and writes the CTAS output with the state machine's credentials: objects
  // read or written under their prefixes, listings only there, nothing deleted.
  const telemetry = `${PREFIXES.telemetry}*`;
  const customers = `${PREFIXES.customers}*`;
  const statements = [
    objectStatement('CtasCurData', props.curBucket, S3_READ, access.curDataPatterns),
    listStatement('CtasCurDataList', props.curBucket, access.curDataPatterns),
    objectStatement('CtasInputs', props.dataBucket, S3_READ, [telemetry, customers]),
    listStatement('CtasInputsList', props.dataBucket, [telemetry, customers]),
    objectStatement('CtasRunOutput', props.resultsBucket, [...S3_READ, ...S3_WRITE], [access.runs]),
    listStatement('CtasRunOutputList', props.resultsBucket, [access.runs]),
    objectStatement(
      'CtasQueryResults',
      props.queryResultsBucket,
      [...S3_READ, ...S3_WRITE],
      [access.queryResults],
    ),
    listStatement('CtasQueryResultsList', props.queryResultsBucket, [access.queryResults]),
    new iam.PolicyStatement({
      sid: 'CtasBucketLocation',
      actions: ['s3:GetBucketLocation'],
      resources: [props.curBucket, props.dataBucket, props.resultsBucket, props.queryResultsBucket].map(
        (bucket) => bucket.bucketArn,
      ),
    }),
    keyStatement('StackKey', props.encryptionKey, 'write'),
  ];
  for (const statement of statements) machine.addToRolePolicy(statement);
  return machine;
}
