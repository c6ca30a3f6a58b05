import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { settingsFromContext } from '../../lib/config/stack-config.ts';
import { RETRYABLE_ATHENA_TASK_ERRORS, RETRYABLE_AWS_ERRORS } from '../../lib/constructs/retryable-errors.ts';
import { CostPerCustomerStack } from '../../lib/cost-per-customer-stack.ts';

const ACCOUNT = '123456789012';
const CDK_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'),
).context;

/** Synthesizes the stack as bin/app.ts does, without bundling (the afterBundling hook does not run). */
function synth(region?: string) {
  const app = new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  const stack = new CostPerCustomerStack(app, 'Test', {
    config: settingsFromContext(app.node).config,
    env: { account: ACCOUNT, ...(region ? { region } : {}) },
  });
  return { template: Template.fromStack(stack), nag: new AwsSolutionsChecks(app).validateScope(app) };
}

const { template, nag } = synth('eu-west-1');
const agnostic = synth();

const resourcesOf = (type: string) => Object.entries(template.findResources(type));
const logicalId = (type: string, fragment: string) => {
  const found = resourcesOf(type).find(([id]) => id.includes(fragment));
  if (!found) throw new Error(`no ${type} ${fragment}`);
  return found[0];
};
const keyArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('EncryptionKey'), 'Arn'] };

/** The fields of an Amazon States Language state these tests read. */
interface State {
  readonly Type?: string;
  readonly Next?: string;
  readonly Resource?: string;
  readonly ResultPath?: string | null;
  readonly Catch?: readonly unknown[];
  readonly Retry?: readonly Record<string, unknown>[];
  readonly Parameters?: Record<string, unknown>;
  readonly ItemProcessor?: { readonly States: Record<string, State> };
  readonly [field: string]: unknown;
}

/** An IAM policy statement as synthesized. */
interface Statement {
  readonly Action: string | string[];
  readonly Resource: unknown;
}

/** The state machine definition, with every intrinsic written as a placeholder, parsed. */
function definition(): { StartAt: string; States: Record<string, State> } {
  const machine = resourcesOf('AWS::StepFunctions::StateMachine')[0]?.[1];
  const join = machine?.Properties.DefinitionString['Fn::Join'] as [string, unknown[]];
  const text = join[1].map((part) => (typeof part === 'string' ? part : 'INTRINSIC')).join(join[0]);
  return JSON.parse(text);
}

describe('pipeline functions', () => {
  const functions = resourcesOf('AWS::Lambda::Function').filter(([id]) => id.includes('Pipeline'));

  it('are eleven Node.js 22 arm64 functions with active tracing and Powertools settings', () => {
    // on-delivery, prepare-run, run-check, claim-period, load-serving-table, publish-run,
    // evaluate-alerts, write-report, cleanup, run-watch, on-input
    expect(functions).toHaveLength(11);
    for (const [id, fn] of functions) {
      expect(fn.Properties.Runtime, id).toBe('nodejs22.x');
      expect(fn.Properties.Architectures, id).toEqual(['arm64']);
      expect(fn.Properties.TracingConfig, id).toEqual({ Mode: 'Active' });
      expect(fn.Properties.Environment.Variables, id).toMatchObject({
        POWERTOOLS_SERVICE_NAME: expect.any(String),
        POWERTOOLS_METRICS_NAMESPACE: 'CostPerCustomer',
        // Every SDK client of the function: standard retries, 8 attempts.
        AWS_MAX_ATTEMPTS: '8',
        AWS_RETRY_MODE: 'standard',
      });
      expect(fn.Properties.LoggingConfig.LogGroup, id).toBeDefined();
    }
  });

  it('log to their own log groups, kept a month and encrypted with the CMK', () => {
    const groups = resourcesOf('AWS::Logs::LogGroup');
    // eleven run functions, the state machine, create-finance-views and its provider, CDK's S3
    // notification handler (which Lambda would otherwise give a log group kept forever), and the
    // telemetry stream's delivery errors
    expect(groups).toHaveLength(16);
    for (const [id, group] of groups) {
      expect(group.Properties.RetentionInDays, id).toBe(30);
      expect(group.Properties.KmsKeyId['Fn::GetAtt'], id).toEqual([
        expect.stringMatching(/EncryptionKey/),
        'Arn',
      ]);
    }
  });

  it('get the environment of the contract', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'evaluate-alerts',
          DATABASE: 'test',
          WORKGROUP: 'Test',
          RESULTS_BUCKET: { Ref: Match.stringLikeRegexp('ResultsBucket') },
          TABLE_NAME: { Ref: Match.stringLikeRegexp('ServingTable') },
          ALERT_TOPIC_ARN: { Ref: Match.stringLikeRegexp('AlertTopic') },
          ALERT_CONFIG: Match.stringLikeRegexp('costToMrrP1'),
        }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'on-delivery',
          STATE_MACHINE_ARN: { Ref: Match.stringLikeRegexp('StateMachine') },
          CUR_BUCKET: { Ref: Match.stringLikeRegexp('CurBucket') },
          CUR_PREFIX: 'cur',
          CUR_EXPORT_NAME: 'cost-per-customer',
          TABLE_NAME: { Ref: Match.stringLikeRegexp('ServingTable') },
          // The first invocation and Lambda's two retries: the last reports an incomplete delivery.
          DELIVERY_ATTEMPTS: '3',
        }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'load-serving-table',
          SERVING_RETENTION_DAYS: '400',
        }),
      },
    });
    for (const service of ['claim-period', 'write-report']) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            POWERTOOLS_SERVICE_NAME: service,
            TABLE_NAME: { Ref: Match.stringLikeRegexp('ServingTable') },
          }),
        },
      });
    }
  });

  it('are named in the outputs a re-run needs', () => {
    template.hasOutput('OnDeliveryFunctionName', {
      Value: { Ref: Match.stringLikeRegexp('OnDeliveryFunction') },
      Description: Match.stringLikeRegexp('rerun'),
    });
    template.hasOutput('StateMachineArn', { Value: { Ref: Match.stringLikeRegexp('StateMachine') } });
  });
});

describe('trigger and dead-letter queue', () => {
  it('invokes on-delivery for manifests of the export only', () => {
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: Match.stringLikeRegexp('CurBucket') },
      NotificationConfiguration: {
        LambdaFunctionConfigurations: [
          {
            Events: ['s3:ObjectCreated:*'],
            Filter: {
              Key: {
                FilterRules: Match.arrayWith([
                  { Name: 'suffix', Value: '-Manifest.json' },
                  { Name: 'prefix', Value: 'cur/cost-per-customer/' },
                ]),
              },
            },
            LambdaFunctionArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('OnDeliveryFunction'), 'Arn'] },
          },
        ],
      },
    });
  });

  it('retries on-delivery twice, then sends the event to a KMS-encrypted, TLS-only DLQ', () => {
    const queueId = logicalId('AWS::SQS::Queue', 'OnDeliveryDeadLetterQueue');
    template.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: keyArn });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: Match.stringLikeRegexp('OnDeliveryFunction') },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('state machine', () => {
  const states = definition().States;

  it('is a traced Standard state machine logging to its encrypted log group', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
    });
  });

  it('runs the levels one after another, the statements of a level side by side: CTAS through Athena .sync, checks in run-check', () => {
    const levels = states.RunStatements as State;
    expect(levels).toMatchObject({
      Type: 'Map',
      MaxConcurrency: 1,
      ItemsPath: '$.levels',
      ItemSelector: {
        'runId.$': '$.runId',
        'billingPeriod.$': '$.billingPeriod',
        'level.$': '$$.Map.Item.Value',
      },
      ResultPath: null,
    });
    const level = levels.ItemProcessor?.States.RunLevel as State;
    expect(level).toMatchObject({
      Type: 'Map',
      // The widest level has four statements (test/unit/pipeline-prepare-run.test.ts).
      MaxConcurrency: 4,
      ItemsPath: '$.level',
      ItemSelector: {
        'runId.$': '$.runId',
        'billingPeriod.$': '$.billingPeriod',
        'statement.$': '$$.Map.Item.Value',
      },
      ResultPath: null,
    });
    const ctas = level.ItemProcessor?.States.RunCtas as State;
    expect(ctas.Resource).toContain('athena:startQueryExecution.sync');
    expect(ctas.Parameters).toMatchObject({
      'QueryString.$': '$.statement.sql',
      WorkGroup: 'Test',
      QueryExecutionContext: { Database: 'test' },
      ResultReuseConfiguration: { ResultReuseByAgeConfiguration: { Enabled: false } },
    });
    // Only the API's throttling and 5xx: a failed CTAS may leave files, and a retry would refuse them.
    expect(ctas.Retry).toEqual([
      expect.objectContaining({ ErrorEquals: [...RETRYABLE_ATHENA_TASK_ERRORS], JitterStrategy: 'FULL' }),
    ]);
    expect(level.ItemProcessor?.States.RunCheck?.ResultPath).toBeNull();
  });

  it('follows the contract: prepare, statements, claim, choice, load, publish, alerts, report, cleanup', () => {
    expect(definition().StartAt).toBe('PrepareRun');
    expect(states.PrepareRun?.Next).toBe('RunStatements');
    expect(states.RunStatements?.Next).toBe('ClaimPeriod');
    expect(states.ClaimPeriod).toMatchObject({
      Next: 'Claimed?',
      ResultPath: '$.claim',
      Parameters: {
        'runId.$': '$.runId',
        'billingPeriod.$': '$.billingPeriod',
        'executionId.$': '$.executionId',
        'deliveredAt.$': '$.deliveredAt',
      },
    });
    expect(states['Claimed?']).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.claim.claimed', BooleanEquals: false, Next: 'CleanupNotNewest' }],
      Default: 'LoadServingTable',
    });
    expect(states.CleanupNotNewest?.Next).toBe('NotNewest');
    expect(states.NotNewest?.Type).toBe('Succeed');
    expect(states.LoadServingTable).toMatchObject({
      Next: 'PublishRun',
      ResultPath: '$.serving',
      Parameters: {
        'runId.$': '$.runId',
        'billingPeriod.$': '$.billingPeriod',
        'deliveredAt.$': '$.deliveredAt',
        'visibleRunId.$': '$.claim.visibleRunId',
      },
    });
    expect(states.PublishRun).toMatchObject({
      Next: 'EvaluateAlerts',
      ResultPath: '$.publish',
      Parameters: {
        'runId.$': '$.runId',
        'billingPeriod.$': '$.billingPeriod',
        'executionId.$': '$.executionId',
        'deliveredAt.$': '$.deliveredAt',
      },
    });
    expect(states.EvaluateAlerts?.Next).toBe('WriteReport');
    expect(states.WriteReport?.Next).toBe('Cleanup');
    expect(states.WriteReport?.Parameters).toEqual({
      'runId.$': '$.runId',
      'billingPeriod.$': '$.billingPeriod',
      'rulesVersion.$': '$.rulesVersion',
      // prepare-run's cost basis, named in the report's header.
      'costBasis.$': '$.costBasis',
      'alertsAsOf.$': '$.alerts.asOf',
    });
    // Both read the pointer themselves: a run the pointer does not name sends and writes nothing visible.
    expect(states.EvaluateAlerts?.Parameters).toEqual({
      'runId.$': '$.runId',
      'billingPeriod.$': '$.billingPeriod',
    });
    expect(states.Cleanup?.Next).toBe('RunSucceeded');
    expect(states.CleanupAfterFailure?.Next).toBe('RunFailed');
    expect(states.RunFailed?.Type).toBe('Fail');
  });

  it('times out after 6 hours, so a stuck run ends (and alarms) rather than holding its lease', () => {
    expect((definition() as { TimeoutSeconds?: number }).TimeoutSeconds).toBe(6 * 3600);
  });

  it('waits for a busy lease a minute at a time, for up to 150 minutes (the lease lasts 2 hours)', () => {
    expect(states.ClaimPeriod?.Retry).toContainEqual({
      ErrorEquals: ['LeaseBusyError'],
      IntervalSeconds: 60,
      BackoffRate: 1,
      MaxAttempts: 150,
    });
  });

  it('catches every failure into cleanup, and a superseded delivery into Succeed', () => {
    for (const name of [
      'PrepareRun',
      'RunStatements',
      'ClaimPeriod',
      'LoadServingTable',
      'PublishRun',
      'EvaluateAlerts',
      'WriteReport',
      'Cleanup',
      'CleanupNotNewest',
    ]) {
      expect(states[name]?.Catch, name).toEqual(
        expect.arrayContaining([
          { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'CleanupAfterFailure' },
        ]),
      );
    }
    expect(states.PrepareRun?.Catch?.[0]).toEqual({
      ErrorEquals: ['DeliverySupersededError'],
      Next: 'Superseded',
    });
    expect(states.Superseded?.Type).toBe('Succeed');
  });

  it("waits for another source account's refresh before PrepareRun fails: 1, 2, 4, 8 and 16 minutes", () => {
    expect(states.PrepareRun?.Retry).toContainEqual({
      ErrorEquals: ['SourceDeliveryIncompleteError'],
      IntervalSeconds: 60,
      MaxAttempts: 5,
      BackoffRate: 2,
      JitterStrategy: 'FULL',
    });
  });

  /** Every Task state, those inside the Map included. */
  const taskStates = (): [string, State][] => {
    const all: [string, State][] = [];
    const visit = (group: Record<string, State>) => {
      for (const [name, state] of Object.entries(group)) {
        if (state.Type === 'Task') all.push([name, state]);
        if (state.ItemProcessor) visit(state.ItemProcessor.States);
      }
    };
    visit(states);
    return all;
  };

  it('invokes Lambdas for their result only', () => {
    const lambdaTasks = taskStates().filter(([name]) => name !== 'RunCtas');
    expect(lambdaTasks.map(([name]) => name).sort()).toEqual(
      [
        'ClaimPeriod',
        'Cleanup',
        'CleanupAfterFailure',
        'CleanupNotNewest',
        'EvaluateAlerts',
        'LoadServingTable',
        'PrepareRun',
        'PublishRun',
        'RunCheck',
        'WriteReport',
      ].sort(),
    );
    for (const [name, state] of lambdaTasks) {
      expect(state.Resource, name).toBe('INTRINSIC'); // the function ARN: payloadResponseOnly
    }
  });

  it('retries, first, every retryable AWS error of every task with backoff rate 2 and full jitter', () => {
    // The names of SDK v3 errors as Lambda reports them (and the invocation's own), one shared list.
    expect(RETRYABLE_AWS_ERRORS).toEqual(
      expect.arrayContaining([
        'ThrottlingException',
        'ProvisionedThroughputExceededException',
        'RequestLimitExceeded',
        'SlowDown',
        'ServiceUnavailable',
        'InternalServerError',
        'InternalServerException',
        'TooManyRequestsException',
        'KMSInternalException',
        'TimeoutError',
        'Lambda.TooManyRequestsException',
      ]),
    );
    const tasks = taskStates();
    expect(tasks).toHaveLength(11);
    for (const [name, state] of tasks) {
      const expected = name === 'RunCtas' ? RETRYABLE_ATHENA_TASK_ERRORS : RETRYABLE_AWS_ERRORS;
      expect(state.Retry?.[0], name).toEqual({
        ErrorEquals: [...expected],
        IntervalSeconds: 2,
        BackoffRate: 2,
        MaxAttempts: 6,
        MaxDelaySeconds: 60,
        JitterStrategy: 'FULL',
      });
      // Every other retrier of the state jitters too (a busy lease waits a fixed minute instead).
      for (const retrier of state.Retry?.slice(1) ?? []) {
        if ((retrier.ErrorEquals as string[]).includes('LeaseBusyError')) continue;
        expect(retrier, name).toMatchObject({ JitterStrategy: 'FULL', BackoffRate: 2 });
      }
    }
  });
});

describe('alarms', () => {
  const operationsTopic = { Ref: Match.stringLikeRegexp('OperationsTopic') };
  const alarm = (properties: Record<string, unknown>) =>
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...properties,
      Threshold: 1,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [operationsTopic],
    });

  it('are six for the run and two for the telemetry stream, each notifying the operations topic', () => {
    const alarms = resourcesOf('AWS::CloudWatch::Alarm');
    expect(alarms).toHaveLength(8);
    expect(alarms.filter(([, created]) => created.Properties.Namespace === 'AWS/Firehose')).toHaveLength(2);
    const topic = logicalId('AWS::SNS::Topic', 'OperationsTopic');
    for (const [id, created] of alarms) expect(created.Properties.AlarmActions, id).toEqual([{ Ref: topic }]);
  });

  it.each([
    ['failed', 'ExecutionsFailed'],
    ['timed-out', 'ExecutionsTimedOut'],
    ['aborted', 'ExecutionsAborted'],
  ])('a %s execution notifies the operations topic', (_kind, metricName) => {
    alarm({
      Namespace: 'AWS/States',
      MetricName: metricName,
      Statistic: 'Sum',
      Period: 300,
      Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: Match.stringLikeRegexp('StateMachine') } }],
    });
  });

  it('a message in the dead-letter queue notifies the operations topic', () => {
    alarm({ Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Statistic: 'Maximum' });
  });

  it("an incomplete delivery (on-delivery's last attempt) notifies the operations topic", () => {
    alarm({
      Namespace: 'CostPerCustomer',
      MetricName: 'IncompleteDeliveries',
      Dimensions: [{ Name: 'service', Value: 'on-delivery' }],
      Statistic: 'Sum',
      Period: 300,
    });
  });

  it('a period without a successful run 26 hours after its delivery notifies the operations topic', () => {
    alarm({
      Namespace: 'CostPerCustomer',
      MetricName: 'OverduePeriods',
      Dimensions: [{ Name: 'service', Value: 'run-watch' }],
      Statistic: 'Maximum',
      Period: 3600,
    });
  });

  it('runs run-watch every hour, retrying a failed invocation twice', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('RunWatchFunction'), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
        }),
      ],
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'run-watch',
          TABLE_NAME: { Ref: Match.stringLikeRegexp('ServingTable') },
        }),
      },
    });
  });
});

describe('on-input: uploads checked on arrival, late telemetry', () => {
  it('is notified of objects created under customers/incoming/, rules/incoming/ and telemetry/ of the data bucket', () => {
    const notifications = resourcesOf('Custom::S3BucketNotifications').filter(([, resource]) =>
      JSON.stringify(resource.Properties.BucketName).includes('DataBucket'),
    );
    expect(notifications).toHaveLength(1);
    const configurations = notifications[0]?.[1].Properties.NotificationConfiguration
      .LambdaFunctionConfigurations as {
      Events: string[];
      LambdaFunctionArn: unknown;
      Filter: { Key: { FilterRules: { Name: string; Value: string }[] } };
    }[];
    expect(configurations.map((c) => c.Filter.Key.FilterRules)).toEqual([
      [{ Name: 'prefix', Value: 'customers/incoming/' }],
      [{ Name: 'prefix', Value: 'rules/incoming/' }],
      [{ Name: 'prefix', Value: 'telemetry/' }],
    ]);
    for (const c of configurations) {
      expect(c.Events).toEqual(['s3:ObjectCreated:*']);
      expect(JSON.stringify(c.LambdaFunctionArn)).toContain('OnInputFunction');
    }
  });

  it('sweeps the debounced late-telemetry re-runs every hour', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('OnInputFunction'), 'Arn'] },
          Input: '{"sweep":"late-telemetry"}',
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
        }),
      ],
    });
  });

  it('asks on-delivery for re-runs and tells the operations topic, with its failures in the dead-letter queue', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'on-input',
          ON_DELIVERY_FUNCTION: { 'Fn::GetAtt': [Match.stringLikeRegexp('OnDeliveryFunction'), 'Arn'] },
          OPERATIONS_TOPIC_ARN: { Ref: Match.stringLikeRegexp('OperationsTopic') },
          TENANT_TAG_KEY: Match.anyValue(),
          COST_BASIS: Match.anyValue(),
        }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: Match.stringLikeRegexp('OnInputFunction') },
      MaximumRetryAttempts: 2,
      DestinationConfig: {
        OnFailure: {
          Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('OnDeliveryDeadLetterQueue'), 'Arn'] },
        },
      },
    });
  });
});

describe('IAM', () => {
  const statements = resourcesOf('AWS::IAM::Policy').flatMap(([id, policy]) =>
    (policy.Properties.PolicyDocument.Statement as Statement[]).map((statement) => ({ id, statement })),
  );
  const actionsOf = (statement: Statement): string[] => [statement.Action].flat();
  const resourcesOfStatement = (statement: Statement): unknown[] => [statement.Resource].flat();

  it('grants no Athena or Glue action on every resource', () => {
    const scoped = statements.filter(({ statement }) =>
      actionsOf(statement).some((action) => /^(athena|glue):/.test(action)),
    );
    expect(scoped.length).toBeGreaterThan(0);
    for (const { id, statement } of scoped) {
      for (const resource of resourcesOfStatement(statement)) expect(resource, id).not.toBe('*');
    }
  });

  it('names a resource wherever the action supports one: `*` only for actions that have no resource type', () => {
    // X-Ray's segment APIs, and the log-delivery APIs Step Functions logging needs, take no resource ARN.
    const actionsWithoutResources = new Set([
      'xray:PutTraceSegments',
      'xray:PutTelemetryRecords',
      'xray:GetSamplingRules',
      'xray:GetSamplingTargets',
      'logs:CreateLogDelivery',
      'logs:GetLogDelivery',
      'logs:UpdateLogDelivery',
      'logs:DeleteLogDelivery',
      'logs:ListLogDeliveries',
      'logs:PutResourcePolicy',
      'logs:DescribeResourcePolicies',
      'logs:DescribeLogGroups',
    ]);
    const onEverything = statements
      .filter(({ statement }) => resourcesOfStatement(statement).includes('*'))
      .flatMap(({ id, statement }) => actionsOf(statement).map((action) => `${id}: ${action}`));
    expect(onEverything.length).toBeGreaterThan(0); // the X-Ray statements exist: the filter sees them
    expect(onEverything.filter((entry) => !actionsWithoutResources.has(entry.split(': ')[1] ?? ''))).toEqual(
      [],
    );
  });

  it("lets evaluate-alerts save the run's alerts under runs/, which write-report reads", () => {
    const s3Resources = (role: string, action: string) =>
      JSON.stringify(
        statements
          .filter(({ id }) => id.includes(role))
          .filter(({ statement }) => actionsOf(statement).some((a) => a.startsWith(action)))
          .flatMap(({ statement }) => resourcesOfStatement(statement)),
      );
    expect(s3Resources('EvaluateAlerts', 's3:PutObject')).toContain('/runs/*');
    expect(s3Resources('WriteReport', 's3:GetObject')).toContain('/runs/*');
    // The report reads the saved alerts, so it needs no alert configuration of its own: only the
    // unit-cost targets it measures each month against.
    const writeReport = resourcesOf('AWS::Lambda::Function').find(
      ([, fn]) => fn.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME === 'write-report',
    );
    expect(writeReport?.[1].Properties.Environment.Variables.ALERT_CONFIG).toBeUndefined();
    expect(JSON.parse(writeReport?.[1].Properties.Environment.Variables.UNIT_COST_TARGETS)).toEqual({
      unitCostTargets: [],
    });
  });

  it('scopes Athena to the workgroup', () => {
    const athena = statements.filter(({ statement }) =>
      actionsOf(statement).some((action) => action.startsWith('athena:')),
    );
    expect(athena).toHaveLength(6); // four query functions, the state machine, create-finance-views
    for (const { id, statement } of athena) {
      expect(statement.Resource, id).toBe(`arn:aws:athena:eu-west-1:${ACCOUNT}:workgroup/Test`);
    }
  });

  it('scopes the Glue tables the runs create to run_*', () => {
    const glueResources = statements
      .filter(({ statement }) => actionsOf(statement).some((action) => action.startsWith('glue:')))
      .flatMap(({ statement }) => resourcesOfStatement(statement));
    expect(glueResources).toContain(`arn:aws:glue:eu-west-1:${ACCOUNT}:table/test/run_*`);
    for (const resource of glueResources) {
      expect(resource).toMatch(
        new RegExp(
          `^arn:aws:glue:eu-west-1:${ACCOUNT}:(catalog|database/test(_finance)?$|table/test(_finance)?/)`,
        ),
      );
    }
  });
});

describe('cdk-nag AwsSolutions', () => {
  it.each([
    ['eu-west-1', nag],
    ['environment-agnostic', agnostic.nag],
  ])('has no unacknowledged finding: %s', (_name, report) => {
    const findings = report.violations.map(
      (violation) =>
        `${violation.ruleName} at ${violation.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
    expect(report.success).toBe(true);
  });
});
