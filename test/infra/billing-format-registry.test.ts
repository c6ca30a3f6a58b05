import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import {
  BILLING_FORMAT_LIST,
  BILLING_FORMATS,
  type BillingFormat,
  billingPeriodPartitions,
  billingTablesOf,
  type DeployedBillingFormat,
  detectFormat,
  formatForManifestKind,
  optional,
  required,
  type TagValues,
  tagPlaceholders,
  tagRequestOf,
} from '../../lib/attribution/billing-formats.ts';
import { defaultRules } from '../../lib/attribution/rules.ts';
import { billingSources } from '../../lib/attribution/stages.ts';
import { billingTableColumns } from '../../lib/catalog/glue-schemas.ts';
import { Catalog } from '../../lib/constructs/catalog.ts';
import { planAthenaRun } from '../../lib/pipeline/athena-run-plan.ts';
import { runPlanOptions } from '../../lib/pipeline/run-layout.ts';
import { sqlIdentifier, sqlString } from '../../lib/sql/sql-template.ts';

const ACME_VALUES: TagValues = {
  tagValue: (key) => sqlIdentifier(`acme_${key}`).sql,
  costCategoryValue: (name) => `element_at(acme_labels, ${sqlString(name).sql})`,
};

/**
 * A billing format that exists only in this test: everything the deployed side knows of a format must
 * come from its descriptor, so this one reaches the Glue table and the run plan without any other code.
 * It reuses the CUR normalization SQL (a new format would bring its own `line_items_*.sql`).
 */
const THROWAWAY: BillingFormat = {
  name: 'acme_bill',
  lineItemsFile: 'attribution/line_items_cur.sql',
  // The CUR SQL splices the CUR cost and split-weight expressions.
  fragments: BILLING_FORMATS.cur2.fragments,
  detection: { precedence: 5, matches: (names) => names.has('acme_invoice_id') },
  columns: (tags) => [
    required('line_item_usage_start_date', 'timestamp'),
    required('line_item_unblended_cost', 'double'),
    ...tagRequestOf(tags).tenantTagKeys.map((key) => optional(`acme_${key}`, 'varchar')),
    optional('acme_labels', 'tag_map'),
  ],
  placeholders: (tags) => tagPlaceholders(tags, ACME_VALUES),
  ...ACME_VALUES,
  glueTable: {
    name: 'acme_bill',
    constructId: 'AcmeBillTable',
    description: 'Acme bills (Parquet), one partition per billing period',
    dataFolder: () => 'bills',
    ...billingPeriodPartitions('period'),
  },
  manifestKind: 'legacy-cur',
};
const FORMATS = [BILLING_FORMATS.cur2, THROWAWAY];

const EXPECTED_COLUMNS = [
  { name: 'line_item_usage_start_date', type: 'timestamp' },
  { name: 'line_item_unblended_cost', type: 'double' },
  { name: 'acme_tenant_id', type: 'string' },
  { name: 'acme_labels', type: 'map<string,string>' },
];

describe('a billing format descriptor carries the format end to end', () => {
  it('is detected by its own rule, in precedence order', () => {
    expect(detectFormat([...BILLING_FORMAT_LIST, THROWAWAY], ['ACME_INVOICE_ID', 'resource_tags'])).toBe(
      THROWAWAY,
    );
    expect(detectFormat(FORMATS, ['line_item_line_item_type', 'resource_tags'])).toBe(BILLING_FORMATS.cur2);
    expect(detectFormat(FORMATS, ['something_else'])).toBeUndefined();
  });

  it('is the format of the manifest kind that delivers it', () => {
    expect(formatForManifestKind('legacy-cur', FORMATS)).toBe(THROWAWAY);
    expect(formatForManifestKind('data-exports', FORMATS)).toBe(BILLING_FORMATS.cur2);
  });

  it('gets a Glue schema from its columns through the Hive type map', () => {
    expect(billingTableColumns(THROWAWAY, 'tenant_id')).toEqual(EXPECTED_COLUMNS);
  });

  it('is in the deployed BILLING_TABLES', () => {
    expect(billingTablesOf(FORMATS)).toEqual({ cur2: 'cur2', acme_bill: 'acme_bill' });
    expect(billingTablesOf()).toEqual({ cur2: 'cur2', legacy: 'legacy', focus: 'focus' });
    expect(billingTablesOf(FORMATS)).toEqual({ cur2: 'cur2', acme_bill: 'acme_bill' });
  });

  it("gets its table in the Catalog construct's template", () => {
    const stack = new Stack(new App(), 'Registry', { env: { account: '123456789012', region: 'eu-west-1' } });
    const bucket = (id: string) => s3.Bucket.fromBucketName(stack, id, `registry-${id.toLowerCase()}`);
    new Catalog(stack, 'Catalog', {
      databaseName: 'cpc',
      curBucket: bucket('Cur'),
      curPrefix: 'cur',
      curExportName: 'cpc-export',
      tenantTagKey: 'tenant_id',
      dataBucket: bucket('Data'),
      resultsBucket: bucket('Results'),
      firstBillingPeriod: '2024-01',
      billingExports: [
        { format: BILLING_FORMATS.cur2 as DeployedBillingFormat, exportName: 'cpc-export' },
        { format: THROWAWAY as DeployedBillingFormat, exportName: 'acme-export' },
      ],
    });
    const tables = Object.values(Template.fromStack(stack).findResources('AWS::Glue::Table')).map(
      (resource) => resource.Properties.TableInput,
    );
    // Two billing tables, telemetry, customers, the five <result>_runs tables and published_runs.
    expect(tables).toHaveLength(10);
    const acme = tables.find((table) => table.Name === 'acme_bill');
    expect(acme).toEqual({
      Name: 'acme_bill',
      TableType: 'EXTERNAL_TABLE',
      Description: 'Acme bills (Parquet), one partition per billing period: export acme-export',
      Parameters: {
        classification: 'parquet',
        'projection.enabled': 'true',
        'projection.billing_period.type': 'date',
        'projection.billing_period.format': 'yyyy-MM',
        'projection.billing_period.range': '2024-01,NOW',
        'projection.billing_period.interval': '1',
        'projection.billing_period.interval.unit': 'MONTHS',
        'storage.location.template': 's3://registry-cur/cur/acme-export/bills/period=${billing_period}/',
      },
      PartitionKeys: [{ Name: 'billing_period', Type: 'string', Comment: 'YYYY-MM' }],
      StorageDescriptor: {
        Columns: EXPECTED_COLUMNS.map((column) => ({ Name: column.name, Type: column.type })),
        Location: 's3://registry-cur/cur/acme-export/bills/',
        InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
        OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
        SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
      },
    });
  });

  it('is read from its Glue table by the CTAS statements of the run plan', async () => {
    const tables = billingTablesOf(FORMATS);
    const plan = (format: BillingFormat) =>
      planAthenaRun(
        { runId: '2026-10_acme', sources: billingSources(format), rules: defaultRules() },
        runPlanOptions(
          { billingPeriod: '2026-10' },
          { database: 'cost_per_customer', resultsBucket: 'cpc-results' },
          { billing_source: tables[format.name] as string },
        ),
      ).flat();
    const acme = await plan(THROWAWAY);
    // Nine CTAS (the run's telemetry rows among them) and three checks, as for every format: only the
    // line items differ.
    expect(acme.map((statement) => [statement.name, statement.kind])).toEqual(
      (await plan(BILLING_FORMATS.cur2)).map((statement) => [statement.name, statement.kind]),
    );
    // usage_rows, 3 checks, classified_cost, customer_versions, allocated_cost and the five result tables.
    expect(acme).toHaveLength(12);
    // Checks travel by name; the CTAS statements carry the SQL.
    const ctas = acme.flatMap((statement) => (statement.kind === 'ctas' ? [statement] : []));
    expect(ctas).toHaveLength(9);
    const reading = ctas.filter((statement) =>
      statement.sql.includes(`FROM "cost_per_customer"."acme_bill" WHERE billing_period = '2026-10'`),
    );
    expect(reading.map((statement) => [statement.name, statement.kind])).toEqual([
      ['classified_cost', 'ctas'],
    ]);
    expect(reading[0]?.sql).toContain('"acme_tenant_id"');
    expect(ctas.filter((statement) => statement.sql.includes('"cur2"'))).toEqual([]);
  });
});
