import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { CUR_COLUMNS } from '../../lib/attribution/billing-formats/cur-columns.ts';
import { BILLING_FORMATS, type DeployedBillingFormat } from '../../lib/attribution/billing-formats.ts';
import { ConfigError, resolveConfig, settingsFromContext } from '../../lib/config/stack-config.ts';
import { Catalog } from '../../lib/constructs/catalog.ts';
import { iamRows, isCommonStatement } from '../../lib/constructs/iam-table.ts';
import { CostPerCustomerStack } from '../../lib/cost-per-customer-stack.ts';
import { joinWithPlaceholders } from '../support/template-text.ts';

/*
 * A stack reading a FOCUS 1.0 export and a legacy report besides its CUR 2.0 export (`cpc:billingExports`,
 * given as `cdk -c` gives it: JSON text): a Glue table of each format over its own export's folder, one
 * trigger per export, and grants on each export's prefix only.
 */

const CDK_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'),
).context;
const EXPORTS = [
  { format: 'focus', exportName: 'cpc-focus' },
  { format: 'legacy', exportName: 'cpc-report' },
];

const app = new App({
  context: {
    ...CDK_CONTEXT,
    'cpc:billingExports': JSON.stringify(EXPORTS),
    'aws:cdk:bundling-stacks': [],
  },
});
const stack = new CostPerCustomerStack(app, 'Test', {
  config: settingsFromContext(app.node).config,
  env: { account: '123456789012', region: 'eu-west-1' },
});
const template = Template.fromStack(stack);
const nag = new AwsSolutionsChecks(app).validateScope(app);
const json = template.toJSON() as Parameters<typeof iamRows>[0];
const rows = iamRows(json, { databaseName: 'test', workgroupName: 'Test' }).filter(
  (row) => !isCommonStatement(row),
);

interface TableInput {
  Name: string;
  Parameters: Record<string, unknown>;
  PartitionKeys: { Name: string; Type: string }[];
  StorageDescriptor: { Columns: { Name: string; Type: string }[]; Location: unknown; SerdeInfo: unknown };
}
const tables = Object.values(template.findResources('AWS::Glue::Table')).map(
  (resource) => resource.Properties.TableInput as TableInput,
);
const table = (name: string): TableInput => {
  const found = tables.find((t) => t.Name === name);
  if (found === undefined) throw new Error(`no table ${name}`);
  return found;
};
const CUR = '<CostPerCustomerStorageCurBucket>';

describe('Glue tables of the further exports', () => {
  it('are cur2, focus and legacy, each over its own export', () => {
    expect(
      ['cur2', 'focus', 'legacy'].map((name) => joinWithPlaceholders(table(name).StorageDescriptor.Location)),
    ).toEqual([
      `s3://${CUR}/cur/cost-per-customer/data/`,
      `s3://${CUR}/cur/cpc-focus/data/`,
      `s3://${CUR}/cur/cpc-report/cpc-report/`,
    ]);
  });

  it('focus: Parquet projected on billing_period, the FOCUS columns lower-cased as Glue stores them', () => {
    const focus = table('focus');
    expect(focus.Parameters).toEqual({
      classification: 'parquet',
      'projection.enabled': 'true',
      'projection.billing_period.type': 'date',
      'projection.billing_period.format': 'yyyy-MM',
      'projection.billing_period.range': '2020-01,NOW',
      'projection.billing_period.interval': '1',
      'projection.billing_period.interval.unit': 'MONTHS',
      'storage.location.template': expect.anything(),
    });
    expect(joinWithPlaceholders(focus.Parameters['storage.location.template'])).toBe(
      `s3://${CUR}/cur/cpc-focus/data/BILLING_PERIOD=\${billing_period}/`,
    );
    expect(focus.PartitionKeys).toEqual([{ Name: 'billing_period', Type: 'string', Comment: 'YYYY-MM' }]);
    const columns = focus.StorageDescriptor.Columns;
    // 6 required and 10 optional FOCUS columns.
    expect(columns).toHaveLength(16);
    expect(columns.slice(0, 2)).toEqual([
      { Name: 'chargeperiodstart', Type: 'timestamp' },
      { Name: 'billingperiodstart', Type: 'timestamp' },
    ]);
    expect(columns).toContainEqual({ Name: 'effectivecost', Type: 'double' });
    expect(columns).toContainEqual({ Name: 'tags', Type: 'map<string,string>' });
    expect(columns).toContainEqual({ Name: 'x_costcategories', Type: 'map<string,string>' });
    expect(columns.every((column) => column.Name === column.Name.toLowerCase())).toBe(true);
  });

  it('legacy: Parquet projected on year and month (integers, month without a leading zero)', () => {
    const legacy = table('legacy');
    expect(legacy.Parameters).toEqual({
      classification: 'parquet',
      'projection.enabled': 'true',
      'projection.year.type': 'integer',
      'projection.year.range': '2020,2099',
      'projection.month.type': 'integer',
      'projection.month.range': '1,12',
      'storage.location.template': expect.anything(),
    });
    expect(joinWithPlaceholders(legacy.Parameters['storage.location.template'])).toBe(
      `s3://${CUR}/cur/cpc-report/cpc-report/year=\${year}/month=\${month}/`,
    );
    expect(legacy.PartitionKeys.map((key) => [key.Name, key.Type])).toEqual([
      ['year', 'string'],
      ['month', 'string'],
    ]);
    // The CUR columns and the tenant tag's column.
    expect(legacy.StorageDescriptor.Columns).toHaveLength(CUR_COLUMNS.length + 1);
    expect(legacy.StorageDescriptor.Columns.at(-1)).toEqual({
      Name: 'resource_tags_user_tenant_id',
      Type: 'string',
    });
  });
});

describe('triggers and configuration of the further exports', () => {
  it('invokes on-delivery for the manifests of each export, on its own prefix', () => {
    // The CUR bucket's notifications (the data bucket's go to on-input).
    const notifications = Object.values(template.findResources('Custom::S3BucketNotifications')).filter(
      (resource) => JSON.stringify(resource.Properties.BucketName).includes('CurBucket'),
    );
    expect(notifications).toHaveLength(1);
    const configurations = notifications[0]?.Properties.NotificationConfiguration
      .LambdaFunctionConfigurations as {
      Filter: { Key: { FilterRules: { Name: string; Value: string }[] } };
    }[];
    const prefixes = configurations.map(
      (c) => c.Filter.Key.FilterRules.find((r) => r.Name === 'prefix')?.Value,
    );
    expect(prefixes).toEqual(['cur/cost-per-customer/', 'cur/cpc-focus/', 'cur/cpc-report/']);
    for (const c of configurations) {
      expect(c.Filter.Key.FilterRules).toContainEqual({ Name: 'suffix', Value: '-Manifest.json' });
    }
  });

  it("gives prepare-run each format's table and export folder", () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          BILLING_TABLES: '{"cur2":"cur2","focus":"focus","legacy":"legacy"}',
          BILLING_EXPORTS:
            '{"cur2":["cur/cost-per-customer"],"focus":["cur/cpc-focus"],"legacy":["cur/cpc-report"]}',
        }),
      },
    });
  });

  it('gives on-delivery the further exports a re-run may name, with their manifest kinds', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          CUR_EXPORT_NAME: 'cost-per-customer',
          FURTHER_EXPORTS: '{"cpc-focus":"data-exports","cpc-report":"legacy-cur"}',
        }),
      },
    });
  });

  it('names every export in the outputs', () => {
    template.hasOutput('BillingExportPaths', {
      Value: 'cur2=cur/cost-per-customer focus=cur/cpc-focus legacy=cur/cpc-report',
    });
  });
});

describe('IAM of the further exports: each export prefix, nothing wider', () => {
  const curResources = (role: string, action: string) =>
    rows
      .filter((row) => row.role === role && row.actions.includes(action))
      .flatMap((row) => row.resources.filter((resource) => resource.startsWith('cur:')));
  const listPrefixes = (role: string) =>
    rows
      .filter(
        (row) => row.role === role && row.actions.includes('s3:ListBucket') && row.resources.includes('cur'),
      )
      .map((row) => row.condition);

  it('prepare-run and on-delivery read the manifests of the three exports', () => {
    const manifests = [
      'cur:cur/cost-per-customer/metadata/*',
      'cur:cur/cpc-focus/metadata/*',
      'cur:cur/cpc-report/*',
    ];
    expect(curResources('prepare-run', 's3:GetObject')).toEqual(manifests);
    expect(curResources('on-delivery', 's3:GetObject')).toEqual(manifests);
    expect(listPrefixes('on-delivery')).toEqual([
      's3:prefix StringLike cur/cost-per-customer/* or cur/cpc-focus/* or cur/cpc-report/*',
    ]);
  });

  it('the state machine reads the data of the three exports and their tables, and creates only run_* tables', () => {
    expect(curResources('state machine', 's3:GetObject')).toEqual([
      'cur:cur/cost-per-customer/data/*',
      'cur:cur/cpc-focus/data/*',
      'cur:cur/cpc-report/*',
    ]);
    const glueTables = rows
      .filter((row) => row.role === 'state machine' && row.actions.includes('glue:GetPartitions'))
      .flatMap((row) => row.resources.filter((resource) => resource.startsWith('glue table/')));
    expect(glueTables).toEqual(
      ['cur2', 'customers', 'focus', 'legacy', 'telemetry'].map((name) => `glue table/<db>/${name}`),
    );
    expect(listPrefixes('state machine')).toEqual([
      's3:prefix StringLike cur/cost-per-customer/data/* or cur/cpc-focus/data/* or cur/cpc-report/*',
    ]);
    const creating = rows.filter(
      (row) => row.role === 'state machine' && row.actions.includes('glue:CreateTable'),
    );
    expect(creating.flatMap((row) => row.resources.filter((r) => r.startsWith('glue table/')))).toEqual([
      'glue table/<db>/run_*',
    ]);
    // No grant anywhere on the whole CUR prefix or bucket.
    expect(rows.flatMap((row) => row.resources).filter((r) => r === 'cur:cur/*' || r === 'cur:*')).toEqual(
      [],
    );
  });

  it('runs a DDL statement (the table over a CSV delivery) with the Athena task of the CTAS', () => {
    const machine = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0];
    const text = JSON.stringify(machine?.Properties.DefinitionString);
    expect(text).toContain('\\"Variable\\":\\"$.statement.kind\\",\\"StringEquals\\":\\"ddl\\"');
  });

  it('has no unacknowledged cdk-nag finding', () => {
    const findings = nag.violations.map(
      (violation) =>
        `${violation.ruleName} at ${violation.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
    expect(nag.success).toBe(true);
  });
});

describe('cpc:billingExports is validated', () => {
  it.each([
    [[{ format: 'cur2', exportName: 'x' }], 'billingExports.0.format: must be one of focus, legacy'],
    [[{ format: 'parquet', exportName: 'x' }], 'billingExports.0.format: must be one of focus, legacy'],
    [[{ format: 'focus', exportName: 'my export' }], 'billingExports.0.exportName: must be 1-128 letters'],
    [[{ format: 'focus', exportName: 'cost-per-customer' }], 'is already the name of curExportName'],
    [
      [
        { format: 'focus', exportName: 'a' },
        { format: 'legacy', exportName: 'a' },
      ],
      'billingExports.1.exportName: a is already the name of billingExports.0',
    ],
    [
      [
        { format: 'focus', exportName: 'a' },
        { format: 'focus', exportName: 'b' },
      ],
      'billingExports.1.format: a second focus export',
    ],
    [[{ format: 'focus', exportName: 'a', prefix: 'x' }], 'billingExports.0.prefix: unknown setting'],
    [{ format: 'focus' }, 'billingExports: must be a list'],
  ])('refuses %j', (billingExports, message) => {
    expect(() => resolveConfig({ billingExports })).toThrow(ConfigError);
    expect(() => resolveConfig({ billingExports })).toThrow(message);
  });

  it('accepts a FOCUS and a legacy export, from props or as JSON text', () => {
    expect(resolveConfig({ billingExports: EXPORTS }).billingExports).toEqual(EXPORTS);
    expect(resolveConfig({ billingExports: JSON.stringify(EXPORTS) }).billingExports).toEqual(EXPORTS);
  });
});

describe('the Catalog construct refuses what it cannot build', () => {
  const catalog = (exports: { format: DeployedBillingFormat; exportName: string }[]) => {
    const scope = new Stack(new App(), 'Catalog', { env: { account: '123456789012', region: 'eu-west-1' } });
    const bucket = (id: string) => s3.Bucket.fromBucketName(scope, id, `catalog-${id.toLowerCase()}`);
    return () =>
      new Catalog(scope, 'Catalog', {
        databaseName: 'cpc',
        curBucket: bucket('Cur'),
        curPrefix: 'cur',
        curExportName: 'cpc',
        tenantTagKey: 'tenant_id',
        dataBucket: bucket('Data'),
        resultsBucket: bucket('Results'),
        billingExports: exports,
      });
  };
  const cur2 = BILLING_FORMATS.cur2 as DeployedBillingFormat;
  const focus = BILLING_FORMATS.focus as DeployedBillingFormat;

  it('two exports of one format, or two in one folder', () => {
    expect(
      catalog([
        { format: cur2, exportName: 'a' },
        { format: cur2, exportName: 'b' },
      ]),
    ).toThrow('Catalog: two exports of format cur2');
    expect(
      catalog([
        { format: cur2, exportName: 'a' },
        { format: focus, exportName: 'a' },
      ]),
    ).toThrow('Catalog: export a is named twice');
    expect(
      catalog([
        { format: cur2, exportName: 'a' },
        { format: focus, exportName: 'b' },
      ]),
    ).not.toThrow();
  });
});
