import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { settingsFromContext } from '../../lib/config/stack-config.ts';
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

  it('are eight Node.js 22 arm64 functions with active tracing and Powertools settings', () => {
    expect(functions).toHaveLength(8);
    for (const [id, fn] of functions) {
      expect(fn.Properties.Runtime, id).toBe('nodejs22.x');
      expect(fn.Properties.Architectures, id).toEqual(['arm64']);
      expect(fn.Properties.TracingConfig, id).toEqual({ Mode: 'Active' });
      expect(fn.Properties.Environment.Variables, id).toMatchObject({
        POWERTOOLS_SERVICE_NAME: expect.any(String),
        POWERTOOLS_METRICS_NAMESPACE: 'CostPerCustomer',
      });
      expect(fn.Properties.LoggingConfig.LogGroup, id).toBeDefined();
    }
  });

  it('log to their own log groups, kept a month and encrypted with the CMK', () => {
    const groups = resourcesOf('AWS::Logs::LogGroup');
    expect(groups).toHaveLength(11); // eight run functions, the state machine, create-finance-views and its provider
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
        }),
      },
    });
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

  it('runs the statements one at a time: CTAS through Athena .sync, checks in run-check', () => {
    const map = states.RunStatements as State;
    expect(map).toMatchObject({
      Type: 'Map',
      MaxConcurrency: 1,
      ItemsPath: '$.statements',
      ResultPath: null,
    });
    const ctas = map.ItemProcessor?.States.RunCtas as State;
    expect(ctas.Resource).toContain('athena:startQueryExecution.sync');
    expect(ctas.Parameters).toMatchObject({
      'QueryString.$': '$.statement.sql',
      WorkGroup: 'Test',
      QueryExecutionContext: { Database: 'test' },
      ResultReuseConfiguration: { ResultReuseByAgeConfiguration: { Enabled: false } },
    });
    expect(ctas.Retry).toEqual([
      expect.objectContaining({ ErrorEquals: ['Athena.TooManyRequestsException'] }),
    ]);
    expect(map.ItemProcessor?.States.RunCheck?.ResultPath).toBeNull();
  });

  it('follows the contract: prepare, statements, publish, choice, load, alerts, report, cleanup', () => {
    expect(definition().StartAt).toBe('PrepareRun');
    expect(states.PrepareRun?.Next).toBe('RunStatements');
    expect(states.RunStatements?.Next).toBe('PublishRun');
    expect(states.PublishRun?.Next).toBe('Published?');
    expect(states['Published?']).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.publish.published', BooleanEquals: true, Next: 'LoadServingTable' }],
      Default: 'Cleanup',
    });
    expect(states.LoadServingTable?.Next).toBe('EvaluateAlerts');
    expect(states.EvaluateAlerts?.Next).toBe('WriteReport');
    expect(states.WriteReport?.Next).toBe('Cleanup');
    expect(states.WriteReport?.Parameters).toEqual({
      'runId.$': '$.runId',
      'billingPeriod.$': '$.billingPeriod',
      'rulesVersion.$': '$.rulesVersion',
      'alertsAsOf.$': '$.alerts.asOf',
      'published.$': '$.publish.published',
    });
    expect(states.Cleanup?.Next).toBe('RunSucceeded');
    expect(states.CleanupAfterFailure?.Next).toBe('RunFailed');
    expect(states.RunFailed?.Type).toBe('Fail');
  });

  it('catches every failure into cleanup, and a superseded delivery into Succeed', () => {
    for (const name of [
      'PrepareRun',
      'RunStatements',
      'PublishRun',
      'LoadServingTable',
      'EvaluateAlerts',
      'WriteReport',
      'Cleanup',
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

  it('invokes Lambdas for their result only, retrying Lambda service errors with backoff', () => {
    for (const name of [
      'PrepareRun',
      'PublishRun',
      'LoadServingTable',
      'EvaluateAlerts',
      'WriteReport',
      'Cleanup',
    ]) {
      const state = states[name] as State;
      expect(state.Resource, name).toBe('INTRINSIC'); // the function ARN: payloadResponseOnly
      expect(state.Retry?.[0], name).toMatchObject({
        ErrorEquals: expect.arrayContaining(['Lambda.ServiceException', 'Lambda.TooManyRequestsException']),
        BackoffRate: 2,
      });
    }
    expect(states.PublishRun?.ResultPath).toBe('$.publish');
  });
});

describe('alarms', () => {
  const operationsTopic = { Ref: Match.stringLikeRegexp('OperationsTopic') };

  it('a failed execution notifies the operations topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsFailed',
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [operationsTopic],
    });
  });

  it('a message in the dead-letter queue notifies the operations topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
      AlarmActions: [operationsTopic],
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
    // The report reads the saved alerts, so it needs no alert configuration of its own.
    const writeReport = resourcesOf('AWS::Lambda::Function').find(
      ([, fn]) => fn.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME === 'write-report',
    );
    expect(writeReport?.[1].Properties.Environment.Variables.ALERT_CONFIG).toBeUndefined();
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
