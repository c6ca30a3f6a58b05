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

function costStack(context: Record<string, unknown>, findings?: string[]) {
  const app = new App({ context: { ...CDK_CONTEXT, ...context, 'aws:cdk:bundling-stacks': [] } });
  const stack = new CostPerCustomerStack(app, 'Cost', {
    config: settingsFromContext(app.node).config,
    env: { account: COST_ACCOUNT, region: 'eu-west-1' },
  });
  const template = Template.fromStack(stack);
  findings?.push(...new AwsSolutionsChecks(app).validateScope(app).violations.map((v) => v.ruleName));
  return template;
}

describe('the cost stack with cpc:sourceAccountIds', () => {
  const OTHER_PAYER = '333344445555';
  const findings: string[] = [];
  const template = costStack({ 'cpc:sourceAccountIds': `${MANAGEMENT_ACCOUNT},${OTHER_PAYER}` }, findings);

  it('has no unacknowledged cdk-nag finding', () => {
    expect(findings).toEqual([]);
  });
  const curPolicy = () => {
    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy')).filter((policy) =>
      JSON.stringify(policy.Properties.Bucket).includes('CurBucket'),
    );
    expect(policies).toHaveLength(1);
    return policies[0]?.Properties.PolicyDocument.Statement as Record<string, unknown>[];
  };
  const bySid = () => Object.fromEntries(curPolicy().map((statement) => [statement.Sid, statement]));
  const objects = (prefix: string) => ({
    'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/CurBucket/), 'Arn'] }, prefix]],
  });
  const exportsOf = (account: string) => `arn:aws:bcm-data-exports:us-east-1:${account}:export/*`;
  // Any of the accounts: for the bucket-policy check Data Exports makes, and the key.
  const anyAccount = {
    StringEquals: { 'aws:SourceAccount': [COST_ACCOUNT, MANAGEMENT_ACCOUNT, OTHER_PAYER] },
    ArnLike: {
      'aws:SourceArn': [
        `arn:aws:cur:us-east-1:${COST_ACCOUNT}:definition/*`,
        exportsOf(COST_ACCOUNT),
        exportsOf(MANAGEMENT_ACCOUNT),
        exportsOf(OTHER_PAYER),
      ],
    },
  };

  it('lets each source account’s Data Exports write under its own folder only (the cross-account policy)', () => {
    const statements = bySid();
    for (const account of [MANAGEMENT_ACCOUNT, OTHER_PAYER]) {
      expect(statements[`AllowSourceAccountDelivery${account}`]).toEqual({
        Sid: `AllowSourceAccountDelivery${account}`,
        Effect: 'Allow',
        Principal: { Service: 'bcm-data-exports.amazonaws.com' },
        Action: 's3:PutObject',
        Resource: objects(`/cur/${account}/*`),
        Condition: {
          StringEquals: { 'aws:SourceAccount': account },
          ArnLike: { 'aws:SourceArn': exportsOf(account) },
        },
      });
    }
    // This account's billing keeps the whole CUR prefix, for its own exports only.
    expect(statements.AllowBillingDeliveryWrite).toMatchObject({
      Resource: objects('/cur/*'),
      Condition: {
        StringEquals: { 'aws:SourceAccount': COST_ACCOUNT },
        ArnLike: {
          'aws:SourceArn': [`arn:aws:cur:us-east-1:${COST_ACCOUNT}:definition/*`, exportsOf(COST_ACCOUNT)],
        },
      },
    });
    expect(statements.AllowBillingDeliveryPolicyCheck?.Condition).toEqual(anyAccount);
    const accounts = JSON.stringify(curPolicy()).match(/\d{12}/g) ?? [];
    expect([...new Set(accounts)].sort()).toEqual([COST_ACCOUNT, MANAGEMENT_ACCOUNT, OTHER_PAYER].sort());
  });

  it('lets the same deliveries encrypt with the stack key, under the same conditions', () => {
    const keys = Object.values(template.findResources('AWS::KMS::Key'));
    expect(keys).toHaveLength(1);
    const statement = ((keys[0]?.Properties.KeyPolicy.Statement ?? []) as Record<string, unknown>[]).find(
      (s) => s.Sid === 'AllowBillingDeliveryEncryption',
    );
    expect(statement).toMatchObject({
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Condition: anyAccount,
    });
  });

  it('reads every account’s folder through one cur2 table, partitioned by account then billing period', () => {
    const tables = Object.values(template.findResources('AWS::Glue::Table')).filter(
      (table) => table.Properties.TableInput.Name === 'cur2',
    );
    expect(tables).toHaveLength(1);
    const input = tables[0]?.Properties.TableInput;
    expect(input.PartitionKeys.map((key: { Name: string }) => key.Name)).toEqual([
      'source_account',
      'billing_period',
    ]);
    expect(input.Parameters).toMatchObject({
      'projection.source_account.type': 'enum',
      'projection.source_account.values': `${MANAGEMENT_ACCOUNT},${OTHER_PAYER}`,
      'projection.billing_period.type': 'date',
    });
    expect(JSON.stringify(input.Parameters['storage.location.template'])).toContain(
      '/cur/${source_account}/cost-per-customer/data/BILLING_PERIOD=${billing_period}/',
    );
  });

  it('starts runs from each account’s manifests, and tells prepare-run and on-delivery the folders', () => {
    const notifications = Object.values(template.findResources('Custom::S3BucketNotifications')).filter(
      (resource) => JSON.stringify(resource.Properties.BucketName).includes('CurBucket'),
    );
    expect(notifications).toHaveLength(1);
    const prefixes = (
      (notifications[0]?.Properties.NotificationConfiguration.LambdaFunctionConfigurations ?? []) as {
        Filter: { Key: { FilterRules: { Name: string; Value: string }[] } };
      }[]
    ).map((c) => c.Filter.Key.FilterRules.find((r) => r.Name === 'prefix')?.Value);
    expect(prefixes).toEqual([
      `cur/${MANAGEMENT_ACCOUNT}/cost-per-customer/`,
      `cur/${OTHER_PAYER}/cost-per-customer/`,
    ]);
    const env = (service: string) =>
      Object.values(template.findResources('AWS::Lambda::Function')).find(
        (fn) => fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === service,
      )?.Properties.Environment.Variables;
    expect(JSON.parse(env('prepare-run').BILLING_EXPORTS)).toEqual({
      cur2: [`cur/${MANAGEMENT_ACCOUNT}/cost-per-customer`, `cur/${OTHER_PAYER}/cost-per-customer`],
    });
    expect(JSON.parse(env('on-delivery').SOURCE_ACCOUNTS)).toEqual([MANAGEMENT_ACCOUNT, OTHER_PAYER]);
  });

  it('lets prepare-run read and list the accounts’ export folders, nothing wider', () => {
    const prepareRole = Object.entries(template.findResources('AWS::Lambda::Function')).find(
      ([, fn]) => fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'prepare-run',
    )?.[1].Properties.Role['Fn::GetAtt'][0] as string;
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(prepareRole))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement) as Record<string, unknown>[];
    const list = statements.find((statement) => statement.Sid === 'SourceExportsList');
    expect(list).toMatchObject({
      Action: 's3:ListBucket',
      Condition: {
        StringLike: {
          's3:prefix': [
            `cur/${MANAGEMENT_ACCOUNT}/cost-per-customer/*`,
            `cur/${OTHER_PAYER}/cost-per-customer/*`,
          ],
        },
      },
    });
    const manifests = statements.find((statement) => statement.Sid === 'CurManifests');
    expect(JSON.stringify(manifests?.Resource)).toContain(`/cur/${OTHER_PAYER}/cost-per-customer/metadata/*`);
    // Without source accounts prepare-run lists nothing of the CUR bucket.
    expect(JSON.stringify(costStack({}).findResources('AWS::IAM::Policy'))).not.toContain(
      'SourceExportsList',
    );
  });

  it('without source accounts, accepts this account’s deliveries only', () => {
    const alone = costStack({});
    const policies = JSON.stringify(alone.findResources('AWS::S3::BucketPolicy'));
    expect(policies).not.toContain(MANAGEMENT_ACCOUNT);
    expect(policies).not.toContain('AllowSourceAccountDelivery');
    expect(policies).toContain(`"aws:SourceAccount":"${COST_ACCOUNT}"`);
  });

  it('refuses an id that is not an account, an account twice, and the stack’s own export beside them', () => {
    expect(() => resolveConfig({ sourceAccountIds: ['12345'] }, 'cdk.json', 'cpc:')).toThrow(
      /cpc:sourceAccountIds\.0.*12-digit AWS account id/,
    );
    expect(() =>
      resolveConfig({ sourceAccountIds: [MANAGEMENT_ACCOUNT, MANAGEMENT_ACCOUNT] }, 'cdk.json', 'cpc:'),
    ).toThrow(/cpc:sourceAccountIds.*names an account twice/);
    expect(() =>
      resolveConfig({ sourceAccountIds: [MANAGEMENT_ACCOUNT], createCurExport: true }, 'cdk.json', 'cpc:'),
    ).toThrow(/cpc:createCurExport.*cannot be true with sourceAccountIds/);
    // `-c cpc:sourceAccountIds=<id>,<id>` gives text.
    expect(
      resolveConfig({ sourceAccountIds: `${MANAGEMENT_ACCOUNT},${OTHER_PAYER}` }).sourceAccountIds,
    ).toEqual([MANAGEMENT_ACCOUNT, OTHER_PAYER]);
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

  it('creates the CUR 2.0 export into the cost account’s bucket, in its own folder there', () => {
    const exports = Object.values(template.findResources('AWS::BCMDataExports::Export'));
    expect(exports).toHaveLength(1);
    const definition = exports[0]?.Properties.Export;
    expect(definition.Name).toBe('cost-per-customer');
    expect(definition.DestinationConfigurations.S3Destination).toEqual({
      S3Bucket: 'cost-curbucket-abc123',
      S3BucketOwner: COST_ACCOUNT,
      // Its own folder in the cost account's bucket.
      S3Prefix: `cur/${MANAGEMENT_ACCOUNT}`,
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
