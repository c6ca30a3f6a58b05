import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  NoSuchKey,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { BILLING_FORMAT_NAMES } from '../../lib/attribution/billing-formats.ts';
import { defaultRules } from '../../lib/attribution/rules.ts';
import { InputError } from '../../lib/inputs/input-error.ts';
import type { PlannedStatement } from '../../lib/pipeline/athena-run-plan.ts';
import {
  DeliverySupersededError,
  PREPARED_RUN_MAX_BYTES,
  PreparedRunTooLargeError,
  type PrepareRunOptions,
  parsePrepareRunInput,
  prepareRun as prepareParsedRun,
  STEP_FUNCTIONS_PAYLOAD_LIMIT,
  UnsupportedBillingFormatError,
} from '../../lib/pipeline/prepare-run.ts';
import { PipelineInputError } from '../../lib/pipeline/run-contract.ts';
import { runIdFor } from '../../lib/pipeline/start-run.ts';

/** The SQL of a planned CTAS ('' for a check, which travels by name). */
const ctasSql = (statement: PlannedStatement | undefined): string =>
  statement?.kind === 'ctas' ? statement.sql : '';

/** A planned statement by name. */
const statement = (prepared: { levels: readonly (readonly PlannedStatement[])[] }, name: string) =>
  prepared.levels.flat().find((s) => s.name === name);

/** The `"$path"` list the billing table is read with, as the URIs it names. */
const pathList = (sql: string): string[] => {
  const list = /"\$path" IN \(([^)]*)\)/.exec(sql)?.[1];
  if (list === undefined) throw new Error('no "$path" filter');
  return list.split(', ').map((literal) => literal.slice(1, -1).replaceAll("''", "'"));
};

/** What the handler does with its event: parse it once, then run the core on the typed input. */
const prepareRun = async (event: unknown, runOptions: PrepareRunOptions) =>
  prepareParsedRun(parsePrepareRunInput(event), runOptions);

const s3 = mockClient(S3Client);
beforeEach(() => s3.reset());

const CUR_BUCKET = 'cpc-cur-111122223333';
const DATA_BUCKET = 'cpc-data-111122223333';
const MANIFEST_KEY = 'cur/cpc-export/metadata/BILLING_PERIOD=2026-10/cpc-export-Manifest.json';
const EXECUTION_ID = '6d2f3c1e-4b5a-4f7e-9a8b-1c2d3e4f5a6b';
const RUN_ID = runIdFor('2026-10', EXECUTION_ID);
const DELIVERED = new Date('2026-10-14T08:03:11Z');

const input = (overrides: Record<string, unknown> = {}) => ({
  billingPeriod: '2026-10',
  executionId: EXECUTION_ID,
  format: 'cur2',
  manifest: { bucket: CUR_BUCKET, key: MANIFEST_KEY },
  dataFiles: 3,
  runId: RUN_ID,
  ...overrides,
});

const options = (overrides: Partial<PrepareRunOptions> = {}): PrepareRunOptions => ({
  s3: new S3Client({ region: 'eu-west-1' }),
  dataBucket: DATA_BUCKET,
  resultsBucket: 'cpc-results-111122223333',
  database: 'cost_per_customer',
  tenantTagKey: 'customer',
  costBasis: 'net_amortized',
  ...overrides,
});

const body = (text: string) =>
  ({ transformToString: async () => text }) as unknown as GetObjectCommandOutput['Body'];

const manifest = (executionId = EXECUTION_ID) =>
  JSON.stringify({
    executionId,
    bucket: CUR_BUCKET,
    billingPeriod: { start: '2026-10-01T00:00:00.000Z' },
    dataFiles: [`s3://${CUR_BUCKET}/cur/cpc-export/data/BILLING_PERIOD=2026-10/part-0.parquet`],
  });

const GOOD_CUSTOMERS = [
  'customer_id,tenant_id,name,tier,plan_status,mrr,start_date,end_date,owner_team',
  'acme,acme-eu,Acme Robotics,enterprise,paid,10000,2026-01-01,,team-data',
  'acme,acme-us,Acme Robotics,enterprise,paid,10000,2026-01-01,,team-data',
  'globex,,Globex,growth,paid,2500,,,',
  'trialco,,Trial Co,free,trial,0,2026-10-01,,',
].join('\n');

function delivery({
  customers = { 'customers/current/customers.csv': GOOD_CUSTOMERS } as Record<string, string>,
  rules = undefined as string | undefined,
  manifestText = manifest(),
} = {}): void {
  s3.on(GetObjectCommand, { Bucket: CUR_BUCKET, Key: MANIFEST_KEY }).resolves({
    Body: body(manifestText),
    LastModified: DELIVERED,
  });
  s3.on(ListObjectsV2Command, { Bucket: DATA_BUCKET, Prefix: 'customers/current/' }).resolves({
    Contents: Object.keys(customers).map((Key) => ({ Key, Size: customers[Key]?.length })),
    IsTruncated: false,
  });
  for (const [Key, text] of Object.entries(customers)) {
    s3.on(GetObjectCommand, { Bucket: DATA_BUCKET, Key }).resolves({ Body: body(text) });
  }
  if (rules === undefined) {
    s3.on(GetObjectCommand, { Bucket: DATA_BUCKET, Key: 'rules/current/rules.json' }).rejects(
      new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }),
    );
  } else {
    s3.on(GetObjectCommand, { Bucket: DATA_BUCKET, Key: 'rules/current/rules.json' }).resolves({
      Body: body(rules),
    });
  }
}

describe('prepareRun: a good delivery', () => {
  it('returns the input with deliveredAt, rules version, the customers checked and the planned statements', async () => {
    delivery();
    const prepared = await prepareRun(input(), options());
    expect(prepared).toMatchObject({
      ...input(),
      deliveredAt: '2026-10-14T08:03:11.000Z',
      rulesVersion: defaultRules().version,
      // The default rules take the stack's cost basis (net_amortized in these options), passed on to the report.
      costBasis: 'net_amortized',
      rulesSource: 'default-rules.json',
      // Three customers, four tenants: acme has two.
      customers: { file: `s3://${DATA_BUCKET}/customers/current/customers.csv`, tenants: 4 },
    });
    // Five levels where the steps ran one by one in twelve, worked out from what each statement reads:
    // the telemetry, the classification and the customer versions read only inputs; each check reads
    // the one table it checks; the ledger and the usage output read all three first tables (the usage
    // output its days' months from the classification), so each waits for both checks; the four outputs
    // read the ledger; conservation reads the classification, the ledger and customer_daily_cost.
    expect(prepared.levels.map((level) => level.map((s) => `${s.kind}:${s.name}`))).toEqual([
      ['ctas:usage_rows', 'ctas:classified_cost', 'ctas:customer_versions'],
      ['check:invalid_telemetry', 'check:invalid_line_items'],
      ['ctas:allocated_cost', 'ctas:customer_daily_usage'],
      [
        'ctas:customer_daily_cost',
        'ctas:customer_daily_service_cost',
        'ctas:unattributed_cost',
        'ctas:daily_summary',
      ],
      ['check:conservation_check'],
    ]);
    const classified = ctasSql(statement(prepared, 'classified_cost'));
    // One billing period's partition, only the manifest's file, into the run's own prefix, with the
    // configured tag key.
    expect(classified).toContain(
      `WHERE billing_period = '2026-10' AND "$path" IN ('s3://${CUR_BUCKET}/cur/cpc-export/data/BILLING_PERIOD=2026-10/part-0.parquet')`,
    );
    expect(classified).toContain(
      `external_location = 's3://cpc-results-111122223333/runs/run=${RUN_ID}/classified_cost/'`,
    );
    expect(classified).toContain(`'user_customer'`);
    // One DROP per stored step: usage_rows, classified_cost, allocated_cost and the five result tables.
    expect(prepared.cleanup).toHaveLength(9);
    expect(prepared.cleanup.every((statement) => statement.kind === 'drop')).toBe(true);
  });

  it('dates a re-run at its request time, so it replaces the run of the delivery it repeats', async () => {
    delivery();
    const requested = '2026-10-20T09:15:00.000Z';
    const rerun = await prepareRun(input({ rerunRequestedAt: requested }), options());
    expect(rerun.deliveredAt).toBe(requested);
    // publish-run compares these strings: the re-run orders after the delivery (2026-10-14T08:03:11).
    expect(rerun.deliveredAt > DELIVERED.toISOString()).toBe(true);
    // A request dated before the manifest (a clock skew) never moves the run before its delivery.
    const skewed = await prepareRun(input({ rerunRequestedAt: '2026-10-01T00:00:00Z' }), options());
    expect(skewed.deliveredAt).toBe('2026-10-14T08:03:11.000Z');
  });

  it('applies the configured tag key and cost basis to a rules file that does not set them', async () => {
    const rules = JSON.stringify({
      version: 'acme-3',
      rules: [{ id: 'tax', match: { lineItemTypes: ['Tax'] }, action: 'exclude' }],
    });
    delivery({ rules });
    const prepared = await prepareRun(input(), options());
    expect(prepared.rulesVersion).toBe('acme-3');
    expect(prepared.rulesSource).toBe(`s3://${DATA_BUCKET}/rules/current/rules.json`);
    expect(ctasSql(statement(prepared, 'classified_cost'))).toContain(`'user_customer'`);
    // The line items are inlined into classified_cost, which carries the cost basis.
    expect(ctasSql(statement(prepared, 'classified_cost'))).toContain(
      `WHEN 'net_amortized' = 'net_amortized'`,
    );
  });

  it('ignores the zero-byte folder object the console creates', async () => {
    delivery({ customers: { 'customers/': '', 'customers/current/customers.csv': GOOD_CUSTOMERS } });
    const prepared = await prepareRun(input(), options());
    expect(prepared.customers.tenants).toBe(4);
  });
});

describe('prepareRun refuses a bad customer dimension before anything runs', () => {
  const refusal = async (customers: Record<string, string>) => {
    delivery({ customers });
    const error = await prepareRun(input(), options()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    return error as InputError;
  };

  it('names the file, the column and the row of a bad value', async () => {
    const bad = GOOD_CUSTOMERS.replace('Globex,growth,paid,2500', 'Globex,growth,paid,25OO');
    const error = await refusal({ 'customers/current/customers.csv': bad });
    // globex is the third data row (the header is not counted).
    expect(error.location).toEqual({
      file: `s3://${DATA_BUCKET}/customers/current/customers.csv`,
      column: 'mrr',
      row: 3,
    });
    expect(error.message).toBe(
      `s3://${DATA_BUCKET}/customers/current/customers.csv, column "mrr", row 3: "25OO" is not a number`,
    );
  });

  it('refuses two files: Athena would concatenate them', async () => {
    const error = await refusal({
      'customers/current/customers.csv': GOOD_CUSTOMERS,
      'customers/current/customers-old.csv': GOOD_CUSTOMERS,
    });
    expect(error.message).toContain(`s3://${DATA_BUCKET}/customers/current/: 2 objects found`);
  });

  it('refuses an empty folder, a file that is not .csv, and a header without rows', async () => {
    expect((await refusal({})).message).toContain('no customers file');
    expect((await refusal({ 'customers/current/customers.xlsx': GOOD_CUSTOMERS })).message).toContain(
      'is not a .csv file',
    );
    const headerOnly = GOOD_CUSTOMERS.split('\n')[0] as string;
    expect((await refusal({ 'customers/current/c.csv': headerOnly })).message).toContain('no customer rows');
  });

  it('refuses columns out of the Glue table order, which the CSV SerDe would read into the wrong fields', async () => {
    const swapped = [
      'customer_id,name,tenant_id,tier,plan_status,mrr',
      'acme,Acme Robotics,acme-eu,enterprise,paid,10000',
    ].join('\n');
    const error = await refusal({ 'customers/current/customers.csv': swapped });
    expect(error.location).toEqual({
      file: `s3://${DATA_BUCKET}/customers/current/customers.csv`,
      column: 'name',
    });
    expect(error.message).toContain('where the customers table reads "tenant_id"');
  });

  it("accepts the header with or without effective_from, the Glue table's last column", async () => {
    // Versions of acme: 10000 from the start, 12000 from 2026-10-15 (the rows of a version agree).
    const versioned = [
      'customer_id,tenant_id,name,tier,plan_status,mrr,start_date,end_date,owner_team,effective_from',
      'acme,acme-eu,Acme Robotics,enterprise,paid,10000,2026-01-01,,team-data,',
      'acme,acme-eu,Acme Robotics,enterprise,paid,12000,2026-01-01,,team-data,2026-10-15',
      'globex,,Globex,growth,paid,2500,,,,',
    ].join('\n');
    for (const text of [versioned, GOOD_CUSTOMERS]) {
      s3.reset();
      delivery({ customers: { 'customers/current/customers.csv': text } });
      const prepared = await prepareRun(input(), options());
      expect(prepared.customers.file).toBe(`s3://${DATA_BUCKET}/customers/current/customers.csv`);
    }
  });

  it('refuses effective_from anywhere but last, where the CSV SerDe reads it', async () => {
    const early = [
      'customer_id,tenant_id,name,tier,plan_status,mrr,effective_from,start_date,end_date,owner_team',
      'acme,acme-eu,Acme Robotics,enterprise,paid,10000,2026-10-15,2026-01-01,,team-data',
    ].join('\n');
    const error = await refusal({ 'customers/current/customers.csv': early });
    expect(error.location).toEqual({
      file: `s3://${DATA_BUCKET}/customers/current/customers.csv`,
      column: 'effective_from',
    });
    expect(error.message).toContain('where the customers table reads "start_date"');
  });

  it('does not read rules or plan anything once the customers file is refused', async () => {
    await refusal({ 'customers/current/customers.csv': GOOD_CUSTOMERS.replace('paid,2500', 'gold,2500') });
    expect(s3).not.toHaveReceivedCommandWith(GetObjectCommand, { Key: 'rules/current/rules.json' });
  });
});

describe('prepareRun: other refusals', () => {
  it('refuses a rules file that is not valid, naming it', async () => {
    delivery({ rules: '{"version": "x", "rules": [{"id": "a", "match": {}}]}' });
    await expect(prepareRun(input(), options())).rejects.toThrow(
      `s3://${DATA_BUCKET}/rules/current/rules.json`,
    );
  });

  it('refuses a fixed split naming a customer the customers file does not have, as the local run does', async () => {
    const rules = {
      version: 'fixed-1',
      rules: [{ id: 'support-desk', match: {}, driver: { fixed: { acme: 0.5, initech: 0.5 } } }],
    };
    delivery({ rules: JSON.stringify(rules) });
    await expect(prepareRun(input(), options())).rejects.toThrow(
      `s3://${DATA_BUCKET}/rules/current/rules.json, column "rules.0.driver.fixed.initech": rule "support-desk": ` +
        'the fixed split names customer "initech", which the customer dimension does not have',
    );
    // The same rules with customers the file has are planned.
    delivery({
      rules: JSON.stringify({
        ...rules,
        rules: [{ ...rules.rules[0], driver: { fixed: { acme: 0.5, globex: 0.5 } } }],
      }),
    });
    await expect(prepareRun(input(), options())).resolves.toMatchObject({ rulesVersion: 'fixed-1' });
  });

  it('stops a run whose manifest was overwritten by a later delivery', async () => {
    delivery({ manifestText: manifest('a-later-execution') });
    const prepared = prepareRun(input(), options());
    await expect(prepared).rejects.toBeInstanceOf(DeliverySupersededError);
    await expect(prepared).rejects.toThrow('a later delivery replaced this one');
  });

  it('refuses a format without a configured billing table', async () => {
    delivery();
    await expect(prepareRun(input({ format: 'legacy' }), options())).rejects.toBeInstanceOf(
      UnsupportedBillingFormatError,
    );
  });

  it('refuses an input that is not the execution input, naming the fields', async () => {
    await expect(prepareRun(input({ billingPeriod: '2026-13', runId: '' }), options())).rejects.toThrow(
      PipelineInputError,
    );
    await expect(prepareRun(input({ billingPeriod: '2026-13' }), options())).rejects.toThrow(
      'billingPeriod: is not YYYY-MM',
    );
  });
});

describe('prepareRun: the run reads exactly the files its manifest lists', () => {
  const DATA = `s3://${CUR_BUCKET}/cur/cpc-export/data/BILLING_PERIOD=2026-10`;
  const cur2Manifest = (dataFiles: string[]) =>
    JSON.stringify({
      executionId: EXECUTION_ID,
      billingPeriod: { start: '2026-10-01T00:00:00.000Z' },
      dataFiles,
    });

  it('CUR 2.0: every listed file, once, in manifest order, and no other', async () => {
    const files = [`${DATA}/cpc-export-00002.snappy.parquet`, `${DATA}/cpc-export-00001.snappy.parquet`];
    delivery({ manifestText: cur2Manifest([...files, files[0] as string]) });
    const prepared = await prepareRun(input(), options());
    expect(pathList(ctasSql(statement(prepared, 'classified_cost')))).toEqual(files);
  });

  it('legacy CUR with Athena integration: report keys in the manifest bucket, read in the year/month partition', async () => {
    const LEGACY_KEY = 'cur/cpc-report/20261001-20261101/cpc-report-Manifest.json';
    const keys = [
      'cur/cpc-report/cpc-report/year=2026/month=10/cpc-report-00001.snappy.parquet',
      'cur/cpc-report/cpc-report/year=2026/month=10/cpc-report-00002.snappy.parquet',
    ];
    s3.on(GetObjectCommand, { Bucket: CUR_BUCKET, Key: LEGACY_KEY }).resolves({
      Body: body(
        JSON.stringify({
          assemblyId: EXECUTION_ID,
          bucket: CUR_BUCKET,
          billingPeriod: { start: '20261001T000000.000Z', end: '20261101T000000.000Z' },
          reportKeys: keys,
        }),
      ),
      LastModified: DELIVERED,
    });
    delivery();
    const prepared = await prepareRun(
      input({ format: 'legacy', manifest: { bucket: CUR_BUCKET, key: LEGACY_KEY } }),
      options({ billingTables: { legacy: 'cur_legacy' } }),
    );
    const classified = ctasSql(statement(prepared, 'classified_cost'));
    expect(classified).toContain(
      `FROM "cost_per_customer"."cur_legacy" WHERE year = '2026' AND month = '10' AND "$path" IN (`,
    );
    expect(pathList(classified)).toEqual(keys.map((key) => `s3://${CUR_BUCKET}/${key}`));
    // Parquet: no table of the run's own.
    expect(prepared.levels.flat().map((s) => s.kind)).not.toContain('ddl');
    expect(prepared.cleanup.map((s) => s.name)).not.toContain('billing_csv');
  });

  it.each([
    [`${DATA.replace('2026-10', '2026-09')}/part-0.parquet`, "is not under the export's data folder"],
    [`s3://cpc-cur-111122223333/cur/other-export/data/BILLING_PERIOD=2026-10/part-0.parquet`, 'is not under'],
    [
      `s3://someone-elses-bucket/cur/cpc-export/data/BILLING_PERIOD=2026-10/part-0.parquet`,
      "not in the manifest's bucket",
    ],
    [`${DATA}/part-0'; DROP TABLE x; --.parquet`, 'has a quote'],
    [`${DATA}/part-0\r\n.parquet`, 'a control character'],
  ])('refuses the delivery when a listed file is %j', async (file, problem) => {
    delivery({ manifestText: cur2Manifest([`${DATA}/part-0.parquet`, file]) });
    const prepared = prepareRun(input(), options());
    await expect(prepared).rejects.toMatchObject({ name: 'ManifestError', key: MANIFEST_KEY });
    await expect(prepared).rejects.toThrow(`data file 2 ${JSON.stringify(file)} `);
    await expect(prepared).rejects.toThrow(problem);
  });

  it('plans an empty read for a manifest that lists no files', async () => {
    delivery({ manifestText: cur2Manifest([]) });
    const prepared = await prepareRun(input({ dataFiles: 0 }), options());
    expect(ctasSql(statement(prepared, 'classified_cost'))).toContain(
      `WHERE billing_period = '2026-10' AND FALSE)`,
    );
  });
});

describe('prepareRun output fits a Step Functions payload', () => {
  /** A delivery of `count` files named as Data Exports names them; returns their URIs. */
  function deliveryOfFiles(count: number): string[] {
    const files = Array.from(
      { length: count },
      (_, i) =>
        `s3://${CUR_BUCKET}/cur/cpc-export/data/BILLING_PERIOD=2026-10/cpc-export-${String(i + 1).padStart(5, '0')}.snappy.parquet`,
    );
    delivery({
      manifestText: JSON.stringify({
        executionId: EXECUTION_ID,
        billingPeriod: { start: '2026-10-01T00:00:00.000Z' },
        dataFiles: files,
      }),
    });
    return files;
  }

  it('with 500 listed files (a large month of CUR 2.0)', async () => {
    const files = deliveryOfFiles(500);
    const prepared = await prepareRun(input({ dataFiles: 500 }), options());
    expect(pathList(ctasSql(statement(prepared, 'classified_cost')))).toEqual(files);
    const bytes = Buffer.byteLength(JSON.stringify(prepared));
    console.info(`PreparedRun with 500 listed files: ${bytes} bytes`);
    // The list appears three times (classified_cost alone reads the billing table, three times for the
    // split cost allocation of its line items, 2.2): ~285 bytes per file.
    expect(bytes).toBeLessThan(PREPARED_RUN_MAX_BYTES);
  });

  it('refuses, naming the size and the number of files, a delivery whose plan would not fit', async () => {
    // ~390 bytes per file of this name (three copies of a 125-character URI) x 2,000 files is ~780 KB.
    deliveryOfFiles(2000);
    const outcome = await prepareRun(input({ dataFiles: 2000 }), options()).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(outcome).toBeInstanceOf(PreparedRunTooLargeError);
    expect((outcome as Error).message).toMatch(
      /the planned statements take \d+ bytes, over the 204800 bytes .* each of the 2000 files the manifest lists/,
    );
  });

  it.each(BILLING_FORMAT_NAMES)('with the default rules, for %s', async (format) => {
    delivery();
    const prepared = await prepareRun(
      input({ format }),
      options({ billingTables: { legacy: 'cur_legacy', focus: 'focus' } }),
    );
    const bytes = Buffer.byteLength(JSON.stringify(prepared));
    expect(bytes).toBeLessThan(PREPARED_RUN_MAX_BYTES);
    expect(PREPARED_RUN_MAX_BYTES).toBeLessThan(STEP_FUNCTIONS_PAYLOAD_LIMIT);
    // Measured: about 34 to 41 KB of SQL with the v2 ledger (the billing table read three times for
    // split cost allocation, customer versions); the bound leaves room for a five-fold growth.
    expect(bytes).toBeLessThan(STEP_FUNCTIONS_PAYLOAD_LIMIT / 5);
  });
});
