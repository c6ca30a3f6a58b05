import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BILLING_FORMATS } from '../../lib/attribution/billing-formats.ts';
import { defaultRules, tagRequest } from '../../lib/attribution/rules.ts';
import { type AttributionRun, billingSources, placeholderValues } from '../../lib/attribution/stages.ts';
import { billingTableColumns } from '../../lib/catalog/glue-schemas.ts';
import type { Row } from '../../lib/engine/query-engine.ts';
import { type TrinoColumn, type TrinoColumnType, TrinoEngine } from '../../lib/engine/trino-engine.ts';
import { csvSelectList, csvTableColumns } from '../../lib/pipeline/csv-delivery.ts';
import { parseManifest } from '../../lib/pipeline/manifest.ts';
import { startTrinoServer, type TrinoServer } from '../support/trino-server.ts';

// A legacy CUR CSV delivery as the deployed run reads it: every column a string, in the manifest's
// order (the run's table over the files), typed by the SELECT list prepare-run plans. On a real Trino,
// its canonical line items are those of the same rows in the typed `legacy` Glue table (the Parquet of
// the Athena integration), with the hand-worked values.

let server: TrinoServer;
let trino: TrinoEngine;

beforeAll(async () => {
  server = await startTrinoServer();
  trino = await TrinoEngine.create({ url: server.url, schema: 'legacy_csv' });
}, 240_000);

afterAll(async () => {
  await server?.stop();
}, 30_000);

const KEY = 'cur/cpc-report/20261001-20261101/cpc-report-Manifest.json';
const manifest = parseManifest(
  readFileSync(new URL('../fixtures/manifests/legacy-csv-Manifest.json', import.meta.url), 'utf8'),
  KEY,
);
const csvColumns = csvTableColumns(manifest.columns, KEY);

// Three line items as the CSV writes them (every value text, '' for none): acme's EC2 hour, an
// untagged S3 request charge without a resource id, and tax.
const CSV_ROWS: Record<string, string>[] = [
  {
    bill_billing_period_start_date: '2026-10-01T00:00:00Z',
    line_item_usage_account_id: '111122223333',
    line_item_line_item_type: 'Usage',
    line_item_usage_start_date: '2026-10-01T05:00:00Z',
    line_item_product_code: 'AmazonEC2',
    line_item_usage_type: 'BoxUsage:m7g.large',
    line_item_resource_id: 'i-0abc',
    line_item_unblended_cost: '10.5',
    line_item_currency_code: 'USD',
    product_region_code: 'eu-west-1',
    resource_tags_user_customer: 'acme',
  },
  {
    bill_billing_period_start_date: '2026-10-01T00:00:00Z',
    line_item_usage_account_id: '111122223333',
    line_item_line_item_type: 'Usage',
    line_item_usage_start_date: '2026-10-02T13:00:00Z',
    line_item_product_code: 'AmazonS3',
    line_item_usage_type: 'Requests-Tier1',
    line_item_resource_id: '',
    line_item_unblended_cost: '2.25',
    line_item_currency_code: '',
    product_region_code: 'eu-west-1',
    resource_tags_user_customer: '',
  },
  {
    bill_billing_period_start_date: '2026-10-01T00:00:00Z',
    line_item_usage_account_id: '111122223333',
    line_item_line_item_type: 'Tax',
    line_item_usage_start_date: '2026-10-01T00:00:00Z',
    line_item_product_code: 'AmazonEC2',
    line_item_usage_type: '',
    line_item_resource_id: '',
    line_item_unblended_cost: '1.2',
    line_item_currency_code: 'USD',
    product_region_code: '',
    resource_tags_user_customer: '',
  },
];

const TRINO_TYPES: Readonly<Record<string, TrinoColumnType>> = {
  timestamp: 'timestamp(3)',
  double: 'double',
  string: 'varchar',
};

const run: AttributionRun = {
  runId: 'csv-1',
  sources: billingSources(BILLING_FORMATS.legacy),
  rules: { ...defaultRules(), tenantTagKey: 'customer' },
};

/** The canonical line items with `billing_source` read from `source`. */
async function lineItems(source: string): Promise<Row[]> {
  const tableRef = (name: string) => (name === 'billing_source' ? source : trino.tableRef(name));
  const sql = (placeholderValues(tableRef, run).line_items as { sql: string }).sql;
  return trino.query(
    `SELECT usage_date, tenant, service, line_item_type, resource_id, currency, cost FROM ${sql} AS li ` +
      'ORDER BY usage_date, service, line_item_type',
  );
}

describe('a legacy CSV delivery on Trino', () => {
  it('gives the line items of the same rows in the typed legacy table', async () => {
    // The run's table over the files: the manifest's 17 columns, all strings, '' where the CSV is empty.
    await trino.loadTable(
      'csv_files',
      csvColumns.map((name) => ({ name, type: 'varchar' })),
      CSV_ROWS.map((row) => Object.fromEntries(csvColumns.map((name) => [name, row[name] ?? '']))),
    );
    // The legacy Glue table's columns, typed, with the values Parquet would hold (NULL for empty).
    const typed: TrinoColumn[] = billingTableColumns(BILLING_FORMATS.legacy, 'customer').map((column) => ({
      name: column.name,
      type: TRINO_TYPES[column.type] ?? 'varchar',
    }));
    await trino.loadTable(
      'legacy_parquet',
      typed,
      CSV_ROWS.map((row) =>
        Object.fromEntries(
          typed.map(({ name, type }) => {
            const value = row[name];
            if (value === undefined || value === '') return [name, null];
            if (type === 'timestamp(3)') return [name, value.replace('T', ' ').replace('Z', '')];
            return [name, type === 'double' ? Number(value) : value];
          }),
        ),
      ),
    );

    const select = csvSelectList(BILLING_FORMATS.legacy, tagRequest(run.rules), csvColumns, KEY);
    const fromCsv = await lineItems(`(SELECT ${select} FROM ${trino.tableRef('csv_files')})`);
    const fromParquet = await lineItems(trino.tableRef('legacy_parquet'));
    expect(fromCsv).toEqual(fromParquet);
    // By hand: acme's 10.5 on the 1st, the untagged 2.25 on the 2nd ('' currency is USD), tax 1.2.
    expect(fromCsv).toEqual([
      {
        usage_date: '2026-10-01',
        tenant: '',
        service: 'AmazonEC2',
        line_item_type: 'Tax',
        resource_id: '',
        currency: 'USD',
        cost: 1.2,
      },
      {
        usage_date: '2026-10-01',
        tenant: 'acme',
        service: 'AmazonEC2',
        line_item_type: 'Usage',
        resource_id: 'i-0abc',
        currency: 'USD',
        cost: 10.5,
      },
      {
        usage_date: '2026-10-02',
        tenant: '',
        service: 'AmazonS3',
        line_item_type: 'Usage',
        resource_id: '',
        currency: 'USD',
        cost: 2.25,
      },
    ]);
  });
});
