import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { resolveConfig, settingsFromContext } from '../../lib/config/stack-config.ts';
import { CostPerCustomerStack } from '../../lib/cost-per-customer-stack.ts';

// The Stripe MRR sync (lib/constructs/stripe-mrr.ts): created only with a secret, its schedule, its
// role's least privilege, and cdk-nag.
const CDK_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'),
).context;
const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:cpc/stripe-AbCdEf';

function synth(context: Record<string, unknown>) {
  const app = new App({ context: { ...CDK_CONTEXT, ...context, 'aws:cdk:bundling-stacks': [] } });
  const stack = new CostPerCustomerStack(app, 'Test', {
    config: settingsFromContext(app.node).config,
    env: { account: '123456789012', region: 'eu-west-1' },
  });
  return { template: Template.fromStack(stack), nag: new AwsSolutionsChecks(app).validateScope(app) };
}

const { template, nag } = synth({ 'cpc:stripeSecretArn': SECRET });
const syncFunction = () => {
  const found = Object.entries(template.findResources('AWS::Lambda::Function')).filter(
    ([, fn]) => fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'stripe-mrr',
  );
  expect(found).toHaveLength(1);
  return found[0] as [string, { Properties: { Environment: { Variables: Record<string, unknown> } } }];
};

describe('the Stripe MRR sync', () => {
  it('is created only with cpc:stripeSecretArn', () => {
    const services = Object.values(synth({}).template.findResources('AWS::Lambda::Function')).map(
      (fn) => fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME,
    );
    expect(services).not.toContain('stripe-mrr');
    expect(syncFunction()[1].Properties.Environment.Variables).toMatchObject({
      STRIPE_SECRET_ARN: SECRET,
      DATA_BUCKET: { Ref: expect.stringMatching(/DataBucket/) },
    });
  });

  it('runs every day at 02:00 UTC, retrying a failed invocation twice', () => {
    const [id] = syncFunction();
    const rules = Object.values(template.findResources('AWS::Events::Rule')).filter((rule) =>
      JSON.stringify(rule.Properties.Targets).includes(id),
    );
    expect(rules).toHaveLength(1);
    expect(rules[0]?.Properties.ScheduleExpression).toBe('cron(0 2 * * ? *)');
    expect(rules[0]?.Properties.Targets[0].RetryPolicy).toEqual({
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 21600,
    });
  });

  it('may read the one secret and the current customers file, and write its uploads only', () => {
    const [id] = syncFunction();
    const roleId = (template.toJSON().Resources[id].Properties.Role as { 'Fn::GetAtt': string[] })[
      'Fn::GetAtt'
    ][0];
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy.Properties.Roles).includes(roleId as string),
    );
    const statements = policies.flatMap((policy) => policy.Properties.PolicyDocument.Statement) as {
      Sid?: string;
      Action: string | string[];
      Resource: unknown;
    }[];
    const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s]));
    expect(bySid.StripeApiKey).toMatchObject({ Action: 'secretsmanager:GetSecretValue', Resource: SECRET });
    expect(bySid.CurrentCustomers?.Action).toBe('s3:GetObject');
    expect(JSON.stringify(bySid.CurrentCustomers?.Resource)).toContain('/customers/current/customers.csv');
    expect(bySid.StripeUploads?.Action).toBe('s3:PutObject');
    expect(JSON.stringify(bySid.StripeUploads?.Resource)).toContain('/customers/incoming/stripe-*');
    // Nothing listed, deleted, or read elsewhere.
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions.filter((a) => /^s3:(List|Delete)|^secretsmanager:(?!GetSecretValue)/.test(a))).toEqual([]);
  });

  it('has no unacknowledged cdk-nag finding', () => {
    const findings = nag.violations.map(
      (violation) =>
        `${violation.ruleName} at ${violation.violatingResources.map((r) => r.constructPath).join()}`,
    );
    expect(findings).toEqual([]);
  });

  it('refuses a secret that is not a complete Secrets Manager ARN, naming the setting', () => {
    expect(() => resolveConfig({ stripeSecretArn: 'cpc/stripe' }, 'cdk.json', 'cpc:')).toThrow(
      /cpc:stripeSecretArn.*complete ARN of a Secrets Manager secret/,
    );
  });
});
