import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig, settingsFromContext } from '../../lib/config/stack-config.ts';
import { iamRows, type TemplateJson } from '../../lib/constructs/iam-table.ts';
import { CostPerCustomerStack } from '../../lib/cost-per-customer-stack.ts';

// The finance reader (lib/constructs/finance-reader.ts): its policy statement for statement, what it
// must never reach, the optional role and its trust policy, the configuration, and cdk-nag.
const CDK_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'),
).context;
const PRINCIPALS = ['111122223333', 'arn:aws:iam::444455556666:role/finance/Analyst'];

function synth(context: Record<string, unknown> = {}, region: string | null = 'eu-west-1') {
  const app = new App({ context: { ...CDK_CONTEXT, ...context, 'aws:cdk:bundling-stacks': [] } });
  const stack = new CostPerCustomerStack(app, 'Test', {
    config: settingsFromContext(app.node).config,
    env: { account: '123456789012', ...(region !== null ? { region } : {}) },
  });
  const template = Template.fromStack(stack);
  const nag = new AwsSolutionsChecks(app).validateScope(app);
  return { template, nag };
}

const defaults = synth();
const withRole = synth({ 'cpc:financeReaderPrincipals': PRINCIPALS.join(',') });
const agnostic = synth({ 'cpc:financeReaderPrincipals': PRINCIPALS }, null);

const policyRows = (template: Template) =>
  iamRows(template.toJSON() as TemplateJson, { databaseName: 'test', workgroupName: 'Test' })
    .filter((row) => row.role === 'finance reader policy')
    .map((row) => [row.actions.join(' '), row.resources.join(' '), row.condition]);

const RESULT_TABLES = [
  'customer_daily_cost',
  'customer_daily_service_cost',
  'customer_daily_usage',
  'daily_summary',
  'unattributed_cost',
];

describe('the finance reader policy', () => {
  it('has exactly these statements', () => {
    expect(policyRows(defaults.template)).toEqual([
      [
        'athena:BatchGetNamedQuery athena:BatchGetQueryExecution athena:GetNamedQuery athena:GetQueryExecution athena:GetQueryResults athena:GetQueryResultsStream athena:GetWorkGroup athena:ListNamedQueries athena:ListQueryExecutions athena:StartQueryExecution athena:StopQueryExecution',
        'athena workgroup/<workgroup>',
        '',
      ],
      [
        'glue:GetDatabase glue:GetTable glue:GetTables',
        'glue catalog glue database/<db>_finance glue table/<db>_finance/*',
        '',
      ],
      [
        'glue:GetDatabase glue:GetPartitions glue:GetTable',
        [
          'glue catalog',
          'glue database/<db>',
          ...RESULT_TABLES.flatMap((table) => [`glue table/<db>/${table}`, `glue table/<db>/${table}_runs`])
            .concat('glue table/<db>/published_runs')
            .sort(),
        ].join(' '),
        '',
      ],
      ['s3:GetObject', 'results:published/* results:reports/* results:runs/*', ''],
      ['s3:ListBucket', 'results', 's3:prefix StringLike runs/* or published/* or reports/*'],
      ['s3:AbortMultipartUpload s3:GetObject s3:PutObject', 'query-results:athena/*', ''],
      ['s3:ListBucket', 'query-results', 's3:prefix StringLike athena/*'],
      ['s3:GetBucketLocation', 'query-results results', ''],
      [
        'kms:Decrypt kms:GenerateDataKey',
        'stack-key',
        'kms:ViaService StringEquals s3.eu-west-1.amazonaws.com',
      ],
    ]);
  });

  it('is the same with a role: the role only attaches it', () => {
    expect(policyRows(withRole.template)).toEqual(policyRows(defaults.template));
  });

  it('names the key through S3 of the stack region, also environment-agnostic', () => {
    agnostic.template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'StackKeyThroughS3',
            Condition: {
              StringEquals: {
                'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
              },
            },
          }),
        ]),
      },
    });
  });

  it('reaches no CUR or data bucket, no telemetry or customers, no DynamoDB, Lambda or Step Functions', () => {
    const policies = defaults.template.findResources('AWS::IAM::ManagedPolicy', {
      Properties: { Description: Match.stringLikeRegexp('finance') },
    });
    const [policy, ...others] = Object.values(policies);
    expect(others).toEqual([]);
    const text = JSON.stringify(policy);
    const buckets = Object.keys(defaults.template.findResources('AWS::S3::Bucket'));
    const curBucket = buckets.find((id) => /CurBucket/.test(id));
    const dataBucket = buckets.find((id) => /DataBucket/.test(id));
    expect(curBucket && dataBucket).toBeTruthy();
    expect(text).not.toContain(String(curBucket));
    expect(text).not.toContain(String(dataBucket));
    expect(text).not.toMatch(/telemetry|customers\/|\/customers"|cur2|dynamodb:|lambda:|states:/);
    for (const [actions] of policyRows(defaults.template)) {
      expect(actions).not.toMatch(/\*|Delete|Create|Update|Tagging/);
    }
  });
});

describe('the finance reader role', () => {
  it('exists only when principals are given', () => {
    expect(
      defaults.template.findResources('AWS::IAM::Role', {
        Properties: { Description: Match.stringLikeRegexp('finance reader') },
      }),
    ).toEqual({});
    expect(Object.keys(defaults.template.findOutputs('FinanceReaderRoleArn'))).toEqual([]);
    expect(Object.keys(withRole.template.findOutputs('FinanceReaderRoleArn'))).toEqual([
      'FinanceReaderRoleArn',
    ]);
  });

  it('trusts exactly the given principals, with a plain AssumeRole (no ExternalId or other condition)', () => {
    const roles = withRole.template.findResources('AWS::IAM::Role', {
      Properties: { Description: Match.stringLikeRegexp('finance reader') },
    });
    const [role, ...others] = Object.values(roles);
    expect(others).toEqual([]);
    expect(role?.Properties.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 'sts:AssumeRole',
          Principal: { AWS: ['arn:aws:iam::111122223333:root', PRINCIPALS[1]] },
        },
      ],
    });
    expect(role?.Properties.ManagedPolicyArns).toEqual([
      { Ref: expect.stringMatching(/^CostPerCustomerFinanceReaderPolicy[0-9A-F]{8}$/) },
    ]);
    expect(role?.Properties.Policies).toBeUndefined();
  });

  it('outputs the policy ARN either way and the role ARN when created', () => {
    defaults.template.hasOutput('FinanceReaderPolicyArn', {
      Value: { Ref: Match.stringLikeRegexp('FinanceReaderPolicy') },
    });
    withRole.template.hasOutput('FinanceReaderRoleArn', {
      Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('FinanceReaderRole'), 'Arn'] },
    });
  });
});

describe('cpc:financeReaderPrincipals', () => {
  const principalsOf = (value: unknown) =>
    resolveConfig({ financeReaderPrincipals: value }).financeReaderPrincipals;

  it('defaults to none and accepts a list, a JSON list or a comma-separated string', () => {
    expect(resolveConfig({}).financeReaderPrincipals).toEqual([]);
    expect(principalsOf(PRINCIPALS)).toEqual(PRINCIPALS);
    expect(principalsOf(JSON.stringify(PRINCIPALS))).toEqual(PRINCIPALS);
    expect(principalsOf(` ${PRINCIPALS.join(' , ')} `)).toEqual(PRINCIPALS);
    expect(principalsOf('111122223333')).toEqual(['111122223333']);
    expect(principalsOf(['arn:aws:iam::111122223333:user/alice', 'arn:aws:iam::111122223333:root'])).toEqual([
      'arn:aws:iam::111122223333:user/alice',
      'arn:aws:iam::111122223333:root',
    ]);
  });

  it.each([
    ['11112222333', 'must be a 12-digit AWS account id or an IAM ARN'],
    ['arn:aws:iam::111122223333:group/finance', 'must be a 12-digit AWS account id or an IAM ARN'],
    ['arn:aws:s3:::bucket', 'must be a 12-digit AWS account id or an IAM ARN'],
    ['arn:aws:iam::1111:role/x', 'must be a 12-digit AWS account id or an IAM ARN'],
    ['arn:aws:iam::111122223333:role/', 'must be a 12-digit AWS account id or an IAM ARN'],
    ['*', 'must be a 12-digit AWS account id or an IAM ARN'],
  ])('rejects %s', (principal, message) => {
    expect(() => resolveConfig({ financeReaderPrincipals: [principal] }, 'cdk.json context', 'cpc:')).toThrow(
      new RegExp(`cpc:financeReaderPrincipals\\.0: ${message}`),
    );
  });

  it('rejects a non-list, a number and a repeated principal', () => {
    expect(() => principalsOf({ account: '111122223333' })).toThrow(
      /financeReaderPrincipals: must be a list/,
    );
    expect(() => principalsOf([111122223333])).toThrow(/financeReaderPrincipals\.0: must be a string/);
    expect(() => principalsOf(['111122223333', '111122223333'])).toThrow(
      /financeReaderPrincipals: must not name a principal twice/,
    );
    expect(() => principalsOf(['nope'])).toThrow(ConfigError);
  });
});

describe('cdk-nag AwsSolutions', () => {
  it.each([
    ['no role', defaults],
    ['with a role', withRole],
    ['environment-agnostic, with a role', agnostic],
  ])('has no unacknowledged finding: %s', (_name, { nag }) => {
    const findings = nag.violations.map(
      (violation) =>
        `${violation.ruleName} at ${violation.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
    expect(nag.success).toBe(true);
  });
});
