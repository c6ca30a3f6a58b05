import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { cur2Columns } from '../../lib/catalog/glue-schemas.ts';
import { resolveConfig, settingsFromContext } from '../../lib/config/stack-config.ts';
import { CostPerCustomerStack } from '../../lib/cost-per-customer-stack.ts';
import { SourceAccountStack } from '../../lib/source-account-stack.ts';

// An AWS Organization: the cost stack in a cost account, the CUR 2.0 export in the management account.
const COST_ACCOUNT = '123456789012';
const MANAGEMENT_ACCOUNT = '210987654321';
const CDK_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'),
).context;

function costStack(context: Record<string, unknown>) {
  const app = new App({ context: { ...CDK_CONTEXT, ...context, 'aws:cdk:bundling-stacks': [] } });
  const stack = new CostPerCustomerStack(app, 'Cost', {
    config: settingsFromContext(app.node).config,
    env: { account: COST_ACCOUNT, region: 'eu-west-1' },
  });
  return Template.fromStack(stack);
}

describe('the cost stack with cpc:sourceAccountIds', () => {
  const template = costStack({ 'cpc:sourceAccountIds': MANAGEMENT_ACCOUNT });
  const curPolicy = () => {
    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy')).filter((policy) =>
      JSON.stringify(policy.Properties.Bucket).includes('CurBucket'),
    );
    expect(policies).toHaveLength(1);
    return policies[0]?.Properties.PolicyDocument.Statement as Record<string, unknown>[];
  };
  // The cross-account delivery policy Data Exports documents: the source account, and its exports only.
  const conditions = {
    StringEquals: { 'aws:SourceAccount': [COST_ACCOUNT, MANAGEMENT_ACCOUNT] },
    ArnLike: {
      'aws:SourceArn': [
        `arn:aws:cur:us-east-1:${COST_ACCOUNT}:definition/*`,
        `arn:aws:bcm-data-exports:us-east-1:${COST_ACCOUNT}:export/*`,
        `arn:aws:bcm-data-exports:us-east-1:${MANAGEMENT_ACCOUNT}:export/*`,
      ],
    },
  };

  it('lets the management account’s Data Exports deliver under the CUR prefix, and nothing else', () => {
    const statements = curPolicy();
    const write = statements.find((statement) => statement.Sid === 'AllowBillingDeliveryWrite');
    expect(write).toMatchObject({ Action: 's3:PutObject', Condition: conditions });
    expect(write?.Resource).toEqual({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/CurBucket/), 'Arn'] }, '/cur/*']],
    });
    expect(
      statements.find((statement) => statement.Sid === 'AllowBillingDeliveryPolicyCheck')?.Condition,
    ).toEqual(conditions);
    // No other account appears anywhere in the bucket policy.
    const accounts = JSON.stringify(statements).match(/\d{12}/g) ?? [];
    expect([...new Set(accounts)].sort()).toEqual([COST_ACCOUNT, MANAGEMENT_ACCOUNT].sort());
  });

  it('lets the same deliveries encrypt with the stack key, under the same conditions', () => {
    const keys = Object.values(template.findResources('AWS::KMS::Key'));
    expect(keys).toHaveLength(1);
    const statement = ((keys[0]?.Properties.KeyPolicy.Statement ?? []) as Record<string, unknown>[]).find(
      (s) => s.Sid === 'AllowBillingDeliveryEncryption',
    );
    expect(statement).toMatchObject({
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Condition: conditions,
    });
  });

  it('without source accounts, accepts this account’s deliveries only', () => {
    const alone = JSON.stringify(costStack({}).findResources('AWS::S3::BucketPolicy'));
    expect(alone).not.toContain(MANAGEMENT_ACCOUNT);
    expect(alone).toContain(`"aws:SourceAccount":"${COST_ACCOUNT}"`);
  });

  it('refuses an id that is not an account, and several accounts, naming the setting', () => {
    expect(() => resolveConfig({ sourceAccountIds: ['12345'] }, 'cdk.json', 'cpc:')).toThrow(
      /cpc:sourceAccountIds\.0.*12-digit AWS account id/,
    );
    expect(() =>
      resolveConfig({ sourceAccountIds: [MANAGEMENT_ACCOUNT, '333344445555'] }, 'cdk.json', 'cpc:'),
    ).toThrow(/cpc:sourceAccountIds.*one account for now/);
    // `-c cpc:sourceAccountIds=<id>` gives text.
    expect(resolveConfig({ sourceAccountIds: MANAGEMENT_ACCOUNT }).sourceAccountIds).toEqual([
      MANAGEMENT_ACCOUNT,
    ]);
  });
});

describe('the source-account stack', () => {
  const app = new App();
  const stack = new SourceAccountStack(app, 'Source', {
    costAccountId: COST_ACCOUNT,
    curBucketName: 'cost-curbucket-abc123',
    curBucketRegion: 'eu-west-1',
    curPrefix: 'cur',
    exportName: 'cost-per-customer',
    tenantTagKey: 'tenant_id',
    env: { account: MANAGEMENT_ACCOUNT, region: 'us-east-1' },
  });
  const template = Template.fromStack(stack);

  it('creates the CUR 2.0 export into the cost account’s bucket, in the folder the cost stack reads', () => {
    const exports = Object.values(template.findResources('AWS::BCMDataExports::Export'));
    expect(exports).toHaveLength(1);
    const definition = exports[0]?.Properties.Export;
    expect(definition.Name).toBe('cost-per-customer');
    expect(definition.DestinationConfigurations.S3Destination).toEqual({
      S3Bucket: 'cost-curbucket-abc123',
      S3BucketOwner: COST_ACCOUNT,
      S3Prefix: 'cur',
      S3Region: 'eu-west-1',
      S3OutputConfigurations: {
        OutputType: 'CUSTOM',
        Format: 'PARQUET',
        Compression: 'PARQUET',
        Overwrite: 'OVERWRITE_REPORT',
      },
    });
    expect(definition.DataQuery.TableConfigurations.COST_AND_USAGE_REPORT).toEqual({
      TIME_GRANULARITY: 'DAILY',
      INCLUDE_RESOURCES: 'TRUE',
      INCLUDE_SPLIT_COST_ALLOCATION_DATA: 'TRUE',
      INCLUDE_MANUAL_DISCOUNT_COMPATIBILITY: 'FALSE',
    });
    // Exactly the columns the cost stack's cur2 table declares, so its table reads every one.
    const columns = cur2Columns('tenant_id').map((column) => column.name);
    expect(definition.DataQuery.QueryStatement).toBe(
      `SELECT ${columns.join(', ')} FROM COST_AND_USAGE_REPORT`,
    );
    expect(definition.RefreshCadence).toEqual({ Frequency: 'SYNCHRONOUS' });
  });

  it('holds nothing else, is deleted with the stack (stopping the delivery), and has no cdk-nag finding', () => {
    expect(Object.keys(template.toJSON().Resources)).toHaveLength(1);
    template.hasResource('AWS::BCMDataExports::Export', { DeletionPolicy: 'Delete' });
    const nag = new AwsSolutionsChecks(app).validateScope(app);
    expect(nag.violations.map((violation) => violation.ruleName)).toEqual([]);
  });

  it('is what bin/source-account.ts synthesizes, and the app refuses a missing setting by name', () => {
    const cdkOut = execFileSync('mktemp', ['-d']).toString().trim();
    const run = (...context: string[]) =>
      execFileSync(
        'npx',
        ['cdk', 'synth', '--app', 'npx tsx bin/source-account.ts', '--output', cdkOut, '--quiet', ...context],
        {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, CDK_DEFAULT_ACCOUNT: MANAGEMENT_ACCOUNT },
        },
      );
    run(
      '-c',
      `source:costAccountId=${COST_ACCOUNT}`,
      '-c',
      'source:curBucketName=cost-curbucket-abc123',
      '-c',
      'source:curBucketRegion=eu-west-1',
    );
    const synthesized = JSON.parse(readFileSync(`${cdkOut}/CostPerCustomer-source.template.json`, 'utf8'));
    const exportOf = (resources: Record<string, { Type: string; Properties: unknown }>) =>
      Object.values(resources).find((resource) => resource.Type === 'AWS::BCMDataExports::Export')
        ?.Properties;
    expect(exportOf(synthesized.Resources)).toEqual(exportOf(template.toJSON().Resources));
    expect(() => run('-c', 'source:costAccountId=123')).toThrow(
      /source:costAccountId must be the 12-digit id/,
    );
  }, 120_000);
});
