import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig, settingsFromContext } from '../../lib/config/stack-config.ts';
import { CostPerCustomerStack } from '../../lib/cost-per-customer-stack.ts';

// The CloudWatch telemetry reader (lib/constructs/cloudwatch-telemetry.ts): created only for configured
// sources, its schedule, its environment, its role's least privilege, and cdk-nag.
const CDK_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'),
).context;
const SOURCES = [
  {
    source: 'myapp',
    namespace: 'MyApp',
    metricName: 'Requests',
    tenantDimension: 'TenantId',
    metric: 'requests',
  },
  {
    source: 'storage',
    namespace: 'MyApp',
    metricName: 'StoredBytes',
    tenantDimension: 'TenantId',
    statistic: 'Average',
    metric: 'storage_bytes',
  },
];

function synth(context: Record<string, unknown>) {
  const app = new App({ context: { ...CDK_CONTEXT, ...context, 'aws:cdk:bundling-stacks': [] } });
  const stack = new CostPerCustomerStack(app, 'Test', {
    config: settingsFromContext(app.node).config,
    env: { account: '123456789012', region: 'eu-west-1' },
  });
  return { template: Template.fromStack(stack), nag: new AwsSolutionsChecks(app).validateScope(app) };
}

// As `-c cpc:telemetryCloudWatch='[...]'` gives it: JSON text.
const { template, nag } = synth({ 'cpc:telemetryCloudWatch': JSON.stringify(SOURCES) });
const readerFunction = () => {
  const found = Object.entries(template.findResources('AWS::Lambda::Function')).filter(
    ([, fn]) => fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'cloudwatch-telemetry',
  );
  expect(found).toHaveLength(1);
  return found[0] as [
    string,
    { Properties: { Timeout: number; Environment: { Variables: Record<string, string | { Ref: string }> } } },
  ];
};

describe('the CloudWatch telemetry reader', () => {
  it('is created only when sources are configured', () => {
    const without = synth({});
    const services = Object.values(without.template.findResources('AWS::Lambda::Function')).map(
      (fn) => fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME,
    );
    expect(services).not.toContain('cloudwatch-telemetry');
  });

  it('reads the configured sources, with the statistic filled in, for the last two days', () => {
    const [, fn] = readerFunction();
    const variables = fn.Properties.Environment.Variables;
    expect(JSON.parse(String(variables.TELEMETRY_CLOUDWATCH))).toEqual([
      { ...SOURCES[0], statistic: 'Sum' },
      SOURCES[1],
    ]);
    expect(variables.LOOKBACK_DAYS).toBe('2');
    expect(variables.DATA_BUCKET).toEqual({ Ref: expect.stringContaining('DataBucket') });
    expect(fn.Properties.Timeout).toBe(300);
  });

  it('runs every day at 01:30 UTC', () => {
    const [id] = readerFunction();
    const rules = Object.values(template.findResources('AWS::Events::Rule')).filter((rule) =>
      JSON.stringify(rule.Properties.Targets).includes(id),
    );
    expect(rules.map((rule) => rule.Properties.ScheduleExpression)).toEqual(['cron(30 1 * * ? *)']);
  });

  it('may read metrics and put exactly its sources’ objects, nothing else', () => {
    const [id] = readerFunction();
    const roleId = JSON.stringify(template.findResources('AWS::Lambda::Function')[id]?.Properties.Role);
    const policy = Object.values(template.findResources('AWS::IAM::Policy')).find((p) =>
      roleId.includes(p.Properties.Roles[0].Ref),
    );
    const statements = policy?.Properties.PolicyDocument.Statement as {
      Sid?: string;
      Action: unknown;
      Resource: unknown;
    }[];
    const bySid = Object.fromEntries(statements.filter((s) => s.Sid).map((s) => [s.Sid, s]));
    expect(bySid.CloudWatchMetricsRead).toMatchObject({ Resource: '*' });
    expect([...((bySid.CloudWatchMetricsRead?.Action ?? []) as string[])].sort()).toEqual([
      'cloudwatch:GetMetricData',
      'cloudwatch:ListMetrics',
    ]);
    expect(bySid.TelemetryObjects?.Action).toEqual(['s3:GetObject', 's3:PutObject']);
    expect(JSON.stringify(bySid.TelemetryObjects?.Resource)).toMatch(
      /telemetry\/usage_day=\*\/myapp\/cloudwatch\.json.*telemetry\/usage_day=\*\/storage\/cloudwatch\.json/,
    );
    // No list or delete, and no read outside its own objects (the read is for their content hash).
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions.filter((a) => /^s3:(List|Delete)/.test(String(a)))).toEqual([]);
    expect(statements.filter((s) => JSON.stringify(s.Action).includes('s3:Get')).map((s) => s.Sid)).toEqual([
      'TelemetryObjects',
    ]);
  });

  it('refuses a source name that is not a folder, naming the setting', () => {
    expect(() =>
      resolveConfig(
        { telemetryCloudWatch: [{ ...SOURCES[0], source: 'a/b' }] as never },
        'cdk.json context',
        'cpc:',
      ),
    ).toThrow(ConfigError);
  });

  it('has no unacknowledged cdk-nag finding', () => {
    expect(
      nag.violations.map(
        (v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
      ),
    ).toEqual([]);
  });
});
