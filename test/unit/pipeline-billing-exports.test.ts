import { readFileSync } from 'node:fs';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  NoSuchKey,
  S3Client,
} from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { TrinoSQL } from 'dt-sql-parser';
import { beforeEach, describe, expect, it } from 'vitest';
import { BILLING_FORMATS } from '../../lib/attribution/billing-formats.ts';
import { runTableId } from '../../lib/engine/athena-run-layout.ts';
import type { PlannedStatement } from '../../lib/pipeline/athena-run-plan.ts';
import { csvSelectList, csvTableColumns } from '../../lib/pipeline/csv-delivery.ts';
import { ManifestError, parseManifest } from '../../lib/pipeline/manifest.ts';
import {
  handleRerunRequest,
  legacyManifestKey,
  parseOnDeliveryEvent,
} from '../../lib/pipeline/on-delivery.ts';
import {
  type PrepareRunOptions,
  parsePrepareRunInput,
  prepareRun,
  UnsupportedBillingFormatError,
} from '../../lib/pipeline/prepare-run.ts';
import { runIdFor } from '../../lib/pipeline/start-run.ts';

/*
 * The deployed side reads FOCUS 1.0 (Data Exports) and legacy CUR (Athena-integration Parquet or the
 * CSV delivery) besides CUR 2.0: the manifests are told apart by content, and prepare-run plans each
 * run over its format's table, or over a table of the run's own for a CSV delivery.
 */

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/manifests/${name}`, import.meta.url), 'utf8');
const FOCUS_MANIFEST = fixture('focus-1.0-data-exports-Manifest.json');
const LEGACY_CSV_MANIFEST = fixture('legacy-csv-Manifest.json');

const CUR_BUCKET = 'cpc-cur-111122223333';
const DATA_BUCKET = 'cpc-data-111122223333';
const FOCUS_KEY = 'cur/cpc-focus/metadata/BILLING_PERIOD=2026-10/cpc-focus-Manifest.json';
const LEGACY_KEY = 'cur/cpc-report/20261001-20261101/cpc-report-Manifest.json';
const ASSEMBLY = '7a9c0d1e-2222-4b5a-9a8b-0123456789ab';
const LEGACY_FOLDER = `s3://${CUR_BUCKET}/cur/cpc-report/20261001-20261101/${ASSEMBLY}/`;

/** CUR 2.0 columns of a Data Exports manifest (enough for its detection: line item type and tags). */
const CUR2_COLUMNS = [
  { name: 'bill_billing_period_start_date', type: 'timestamp' },
  { name: 'line_item_line_item_type', type: 'string' },
  { name: 'line_item_unblended_cost', type: 'double' },
  { name: 'resource_tags', type: 'map<string,string>' },
];

describe('parseManifest tells the format of a delivery by its columns', () => {
  it('a FOCUS 1.0 Data Exports manifest: focus, its columns in order, Parquet', () => {
    const parsed = parseManifest(FOCUS_MANIFEST, FOCUS_KEY);
    expect(parsed).toMatchObject({
      kind: 'data-exports',
      format: 'focus',
      fileFormat: 'parquet',
      billingPeriod: '2026-10',
      executionId: '9c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f',
    });
    expect(parsed.columns).toHaveLength(23);
    expect(parsed.columns.slice(0, 3)).toEqual(['AvailabilityZone', 'BilledCost', 'BillingAccountId']);
    expect(parsed.dataFiles.map((file) => file.key)).toEqual([
      'cur/cpc-focus/data/BILLING_PERIOD=2026-10/cpc-focus-00001.snappy.parquet',
      'cur/cpc-focus/data/BILLING_PERIOD=2026-10/cpc-focus-00002.snappy.parquet',
    ]);
  });

  it('a CUR 2.0 manifest of the same kind and layout: cur2', () => {
    const manifest = JSON.parse(FOCUS_MANIFEST) as Record<string, unknown>;
    const text = JSON.stringify({ ...manifest, columns: CUR2_COLUMNS });
    expect(parseManifest(text, FOCUS_KEY).format).toBe('cur2');
  });

  it('a legacy CSV manifest: legacy, the header order as category/name, CSV', () => {
    const parsed = parseManifest(LEGACY_CSV_MANIFEST, LEGACY_KEY);
    expect(parsed).toMatchObject({
      kind: 'legacy-cur',
      format: 'legacy',
      fileFormat: 'csv',
      billingPeriod: '2026-10',
      executionId: ASSEMBLY,
    });
    expect(parsed.columns.slice(0, 3)).toEqual([
      'identity/LineItemId',
      'identity/TimeInterval',
      'bill/BillingPeriodStartDate',
    ]);
    expect(parsed.columns).toHaveLength(17);
    expect(parsed.dataFiles).toEqual([
      { bucket: CUR_BUCKET, key: `cur/cpc-report/20261001-20261101/${ASSEMBLY}/cpc-report-1.csv.gz` },
      { bucket: CUR_BUCKET, key: `cur/cpc-report/20261001-20261101/${ASSEMBLY}/cpc-report-2.csv.gz` },
    ]);
  });

  it('refuses files that are neither Parquet nor CSV, and a mix of the two', () => {
    const manifest = JSON.parse(LEGACY_CSV_MANIFEST) as { reportKeys: string[] };
    const zip = { ...manifest, reportKeys: [manifest.reportKeys[0]?.replace('.csv.gz', '.csv.zip')] };
    expect(() => parseManifest(JSON.stringify(zip), LEGACY_KEY)).toThrow(ManifestError);
    expect(() => parseManifest(JSON.stringify(zip), LEGACY_KEY)).toThrow('is neither Parquet');
    const mixed = { ...manifest, reportKeys: [manifest.reportKeys[0], 'cur/cpc-report/x/y.snappy.parquet'] };
    expect(() => parseManifest(JSON.stringify(mixed), LEGACY_KEY)).toThrow('both Parquet and CSV');
  });
});

describe('the partition of a billing period in each table', () => {
  it('cur2 and focus: billing_period; legacy: year and month without a leading zero', () => {
    expect(BILLING_FORMATS.focus.glueTable?.partitionOf('2026-03')).toEqual({ billing_period: '2026-03' });
    expect(BILLING_FORMATS.legacy.glueTable?.partitionOf('2026-03')).toEqual({ year: '2026', month: '3' });
    expect(BILLING_FORMATS.legacy.glueTable?.partitionOf('2025-12')).toEqual({ year: '2025', month: '12' });
    expect(BILLING_FORMATS.legacy.glueTable?.dataFolder('cpc-report')).toBe('cpc-report');
    expect(BILLING_FORMATS.focus.glueTable?.dataFolder('cpc-focus')).toBe('data');
  });
});

describe('the columns of the run table over a CSV delivery', () => {
  it('are the manifest columns in order, by their Athena names; a name twice gets its own', () => {
    const columns = parseManifest(LEGACY_CSV_MANIFEST, LEGACY_KEY).columns;
    expect(csvTableColumns(columns, LEGACY_KEY)).toEqual([
      'identity_line_item_id',
      'identity_time_interval',
      'bill_billing_period_start_date',
      'line_item_usage_account_id',
      'line_item_line_item_type',
      'line_item_usage_start_date',
      'line_item_product_code',
      'line_item_usage_type',
      'line_item_resource_id',
      'line_item_unblended_cost',
      'line_item_currency_code',
      'line_item_line_item_description',
      'product_region_code',
      'reservation_reservation_a_r_n',
      'resource_tags_user_customer',
      'resource_tags_user_customer_2',
      'cost_category_team',
    ]);
  });

  it('refuses a column without an Athena name', () => {
    expect(() => csvTableColumns(['lineItem/UsageStartDate', 'Weird"Name'], LEGACY_KEY)).toThrow(
      'column 2 "Weird\\"Name" has no Athena name',
    );
  });

  it('types what the format reads, NULL for what the files lack, and refuses a missing required column', () => {
    const select = csvSelectList(
      BILLING_FORMATS.legacy,
      'customer',
      ['line_item_usage_start_date', 'bill_billing_period_start_date', 'line_item_line_item_type'].concat([
        'line_item_product_code',
        'line_item_unblended_cost',
        'resource_tags_user_customer',
      ]),
      LEGACY_KEY,
    );
    // The 28 CUR columns and the tenant tag column, each once.
    expect(select.match(/ AS "/g)).toHaveLength(29);
    expect(select).toContain(
      `CAST(from_iso8601_timestamp(nullif(trim("line_item_usage_start_date"), '')) AS timestamp) AS "line_item_usage_start_date"`,
    );
    expect(select).toContain(
      `CAST(nullif(trim("line_item_unblended_cost"), '') AS double) AS "line_item_unblended_cost"`,
    );
    expect(select).toContain(`nullif("resource_tags_user_customer", '') AS "resource_tags_user_customer"`);
    expect(select).toContain('CAST(NULL AS double) AS "reservation_effective_cost"');
    expect(select).toContain('CAST(NULL AS varchar) AS "line_item_resource_id"');
    expect(new TrinoSQL().validate(`SELECT ${select} FROM t`)).toEqual([]);
    expect(() =>
      csvSelectList(BILLING_FORMATS.legacy, 'customer', ['line_item_usage_start_date'], LEGACY_KEY),
    ).toThrow('lists no column bill_billing_period_start_date');
  });
});

const s3 = mockClient(S3Client);
beforeEach(() => s3.reset());

const body = (text: string) =>
  ({ transformToString: async () => text }) as unknown as GetObjectCommandOutput['Body'];
const DELIVERED = new Date('2026-10-14T08:03:11Z');
const CUSTOMERS = [
  'customer_id,tenant_id,name,tier,plan_status,mrr,start_date,end_date,owner_team',
  'acme,,Acme Robotics,enterprise,paid,10000,2026-01-01,,team-data',
].join('\n');

/** The inputs of a run: this manifest at this key, one customers file, no rules file. */
function delivery(key: string, text: string): void {
  s3.on(GetObjectCommand, { Bucket: CUR_BUCKET, Key: key }).resolves({
    Body: body(text),
    LastModified: DELIVERED,
  });
  s3.on(ListObjectsV2Command, { Bucket: DATA_BUCKET, Prefix: 'customers/current/' }).resolves({
    Contents: [{ Key: 'customers/current/customers.csv', Size: CUSTOMERS.length }],
    IsTruncated: false,
  });
  s3.on(GetObjectCommand, { Bucket: DATA_BUCKET, Key: 'customers/current/customers.csv' }).resolves({
    Body: body(CUSTOMERS),
  });
  s3.on(GetObjectCommand, { Bucket: DATA_BUCKET, Key: 'rules/current/rules.json' }).rejects(
    new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }),
  );
}

/** What the construct configures for a stack with a FOCUS and a legacy export besides CUR 2.0. */
const options = (): PrepareRunOptions => ({
  s3: new S3Client({ region: 'eu-west-1' }),
  dataBucket: DATA_BUCKET,
  resultsBucket: 'cpc-results-111122223333',
  database: 'cost_per_customer',
  tenantTagKey: 'customer',
  costBasis: 'amortized',
  billingTables: { cur2: 'cur2', focus: 'focus', legacy: 'legacy' },
  billingExports: { cur2: ['cur/cpc-export'], focus: ['cur/cpc-focus'], legacy: ['cur/cpc-report'] },
});

/** The execution input start-run gives a delivery: the format parseManifest told. */
const input = (key: string, text: string) => {
  const parsed = parseManifest(text, key, CUR_BUCKET);
  return parsePrepareRunInput({
    billingPeriod: parsed.billingPeriod,
    executionId: parsed.executionId,
    format: parsed.format,
    manifest: { bucket: CUR_BUCKET, key },
    dataFiles: parsed.dataFiles.length,
    runId: runIdFor(parsed.billingPeriod, parsed.executionId),
  });
};

const sqlOf = (statements: readonly PlannedStatement[], name: string): string => {
  const found = statements.find((s) => s.name === name);
  return found !== undefined && found.kind !== 'check' ? found.sql : '';
};

describe('prepareRun plans a FOCUS run', () => {
  it('reads the focus table in its billing period, in the manifest files only', async () => {
    delivery(FOCUS_KEY, FOCUS_MANIFEST);
    const run = input(FOCUS_KEY, FOCUS_MANIFEST);
    expect(run.format).toBe('focus');
    const prepared = await prepareRun(run, options());
    const classified = sqlOf(prepared.levels.flat(), 'classified_cost');
    const folder = `s3://${CUR_BUCKET}/cur/cpc-focus/data/BILLING_PERIOD=2026-10`;
    expect(classified).toContain(
      `FROM "cost_per_customer"."focus" WHERE billing_period = '2026-10' AND "$path" IN (` +
        `'${folder}/cpc-focus-00001.snappy.parquet', '${folder}/cpc-focus-00002.snappy.parquet')`,
    );
    expect(classified).not.toContain('"cur2"');
    expect(prepared.levels.flat().map((s) => s.kind)).not.toContain('ddl');
  });

  it('refuses a FOCUS delivery in another export folder than the one the focus table reads', async () => {
    const key = 'cur/cpc-export/metadata/BILLING_PERIOD=2026-10/cpc-export-Manifest.json';
    const text = FOCUS_MANIFEST.replaceAll('cur/cpc-focus/', 'cur/cpc-export/');
    delivery(key, text);
    const prepared = prepareRun(input(key, text), options());
    await expect(prepared).rejects.toBeInstanceOf(UnsupportedBillingFormatError);
    await expect(prepared).rejects.toThrow('the focus table reads the export cur/cpc-focus/');
  });
});

describe('prepareRun plans a legacy CSV run over a table of its own', () => {
  it('creates the table first, reads it typed in the manifest files only, and drops it last', async () => {
    delivery(LEGACY_KEY, LEGACY_CSV_MANIFEST);
    const run = input(LEGACY_KEY, LEGACY_CSV_MANIFEST);
    expect(run.format).toBe('legacy');
    const prepared = await prepareRun(run, options());
    const table = `run_${runTableId(run.runId)}_billing_csv`;

    const [first] = prepared.levels.flat();
    expect(first).toMatchObject({ name: 'billing_csv', kind: 'ddl' });
    const ddl = first?.kind === 'ddl' ? first.sql : '';
    expect(ddl.split('\n')[0]).toBe(
      `CREATE EXTERNAL TABLE IF NOT EXISTS \`cost_per_customer\`.\`${table}\` (`,
    );
    // 17 string columns in the manifest's order: the 3rd is the billing period start, the 16th the
    // second spelling of the customer tag.
    const columns = [...ddl.matchAll(/^ {2}`([a-z0-9_]+)` string,?$/gm)].map((match) => match[1]);
    expect(columns).toHaveLength(17);
    expect(columns[2]).toBe('bill_billing_period_start_date');
    expect(columns[15]).toBe('resource_tags_user_customer_2');
    expect(ddl).toContain(`LOCATION '${LEGACY_FOLDER}'`);
    expect(ddl).toContain("TBLPROPERTIES ('skip.header.line.count' = '1')");

    const classified = sqlOf(prepared.levels.flat(), 'classified_cost');
    expect(classified).toContain(
      `FROM "cost_per_customer"."${table}" WHERE "$path" IN ('${LEGACY_FOLDER}cpc-report-1.csv.gz', ` +
        `'${LEGACY_FOLDER}cpc-report-2.csv.gz')`,
    );
    expect(classified).toContain(
      `CAST(nullif(trim("line_item_unblended_cost"), '') AS double) AS "line_item_unblended_cost"`,
    );
    expect(classified).not.toContain('"legacy"');

    expect(prepared.cleanup.at(-1)).toEqual({
      name: 'billing_csv',
      kind: 'drop',
      sql: `DROP TABLE IF EXISTS \`cost_per_customer\`.\`${table}\``,
    });
    expect(prepared.cleanup).toHaveLength(10);
  });

  it('refuses CSV files in two folders: the table has one location', async () => {
    const manifest = JSON.parse(LEGACY_CSV_MANIFEST) as { reportKeys: string[] };
    const text = JSON.stringify({
      ...manifest,
      reportKeys: [manifest.reportKeys[0], manifest.reportKeys[1]?.replace(ASSEMBLY, 'other-assembly')],
    });
    delivery(LEGACY_KEY, text);
    const prepared = prepareRun(input(LEGACY_KEY, text), options());
    await expect(prepared).rejects.toBeInstanceOf(ManifestError);
    await expect(prepared).rejects.toThrow('lists CSV files in more than one folder');
  });

  it('refuses a CUR 2.0 delivery in CSV: its tags are map columns', async () => {
    const key = 'cur/cpc-export/metadata/BILLING_PERIOD=2026-10/cpc-export-Manifest.json';
    const text = JSON.stringify({
      executionId: 'e-1',
      billingPeriod: { start: '2026-10-01T00:00:00.000Z' },
      columns: CUR2_COLUMNS,
      dataFiles: [`s3://${CUR_BUCKET}/cur/cpc-export/data/BILLING_PERIOD=2026-10/cpc-export-00001.csv.gz`],
    });
    delivery(key, text);
    const prepared = prepareRun(input(key, text), options());
    await expect(prepared).rejects.toBeInstanceOf(UnsupportedBillingFormatError);
    await expect(prepared).rejects.toThrow('reads cur2 from Parquet only');
  });
});

describe('a re-run of a further export', () => {
  const sfn = mockClient(SFNClient);
  beforeEach(() => sfn.reset());
  const STATE_MACHINE = 'arn:aws:states:eu-west-1:111122223333:stateMachine:cpc';
  const rerun = (body: Record<string, unknown>) => {
    const parsed = parseOnDeliveryEvent({ rerun: { billingPeriod: '2026-10', requestId: 'fix-1', ...body } });
    if (parsed.kind !== 'rerun') throw new Error('not a re-run request');
    return handleRerunRequest(parsed.request, {
      s3: new S3Client({ region: 'eu-west-1' }),
      sfn: new SFNClient({ region: 'eu-west-1' }),
      stateMachineArn: STATE_MACHINE,
      curBucket: CUR_BUCKET,
      curPrefix: 'cur',
      exportName: 'cpc-export',
      furtherExports: { 'cpc-focus': 'data-exports', 'cpc-report': 'legacy-cur' },
      invocationId: 'lambda-1',
      now: () => new Date('2026-10-20T09:15:00Z'),
    });
  };

  it("finds a legacy report's manifest in the folder of the period's range, December included", () => {
    expect(legacyManifestKey('cur', 'cpc-report', '2026-10')).toBe(LEGACY_KEY);
    expect(legacyManifestKey('cur', 'r', '2026-12')).toBe('cur/r/20261201-20270101/r-Manifest.json');
  });

  it.each([
    ['cpc-focus', FOCUS_KEY, FOCUS_MANIFEST, 'focus'],
    ['cpc-report', LEGACY_KEY, LEGACY_CSV_MANIFEST, 'legacy'],
  ])(
    'reads the manifest of export %s and starts a run of its format',
    async (exportName, key, text, format) => {
      s3.on(GetObjectCommand, { Bucket: CUR_BUCKET, Key: key }).resolves({
        Body: body(text),
        LastModified: DELIVERED,
      });
      const files = parseManifest(text, key, CUR_BUCKET).dataFiles;
      s3.on(ListObjectsV2Command).resolves({
        Contents: files.map((file) => ({ Key: file.key })),
        IsTruncated: false,
      });
      sfn.on(StartExecutionCommand).resolves({ executionArn: `${STATE_MACHINE}:x`, startDate: new Date() });
      await expect(rerun({ exportName })).resolves.toMatchObject({ status: 'started' });
      const input = JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '{}');
      expect(input).toMatchObject({ format, manifest: { bucket: CUR_BUCKET, key }, dataFiles: 2 });
    },
  );

  it('refuses an export the stack does not read, naming those it does', async () => {
    await expect(rerun({ exportName: 'nope' })).rejects.toThrow(
      "exportName nope is none of the stack's exports (cpc-export, cpc-focus, cpc-report)",
    );
    expect(() => parseOnDeliveryEvent({ rerun: { billingPeriod: '2026-10', exportName: 'a/b' } })).toThrow(
      'is not an export name',
    );
  });
});
