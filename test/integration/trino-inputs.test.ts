import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BILLING_FORMATS, trimmedTag } from '../../lib/attribution/billing-formats.ts';
import { defaultRules } from '../../lib/attribution/rules.ts';
import {
  type AttributionRun,
  billingSources,
  InvalidTelemetryError,
  renderCheck,
  renderStep,
  runAttribution,
  STORED_STEPS,
} from '../../lib/attribution/stages.ts';
import { AthenaRunLayout } from '../../lib/engine/athena-run-layout.ts';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import type { QueryEngine, Row } from '../../lib/engine/query-engine.ts';
import { TrinoEngine } from '../../lib/engine/trino-engine.ts';
import { sqlString } from '../../lib/sql/sql-template.ts';
import { isInputTable } from '../../lib/sql/tables.ts';
import { type TestCustomer, type TestLineItem, tempDir } from '../support/fixtures.ts';
import { expectSameRows, loadInputs, loadWithPath, writeInputs } from '../support/trino-agreement.ts';
import { startTrinoServer, type TrinoServer } from '../support/trino-server.ts';

// What the deployed run reads, on the engine Athena engine v3 is built on (a real Trino): only the
// manifest's files of the billing table ("$path" IN ...), and telemetry checked and trimmed by the
// same SQL as locally. Trino's memory connector has no hidden "$path" column, so the tables here have
// an ordinary column of that name (loadWithPath), holding what Athena's would: each row's object URI.

let server: TrinoServer;

beforeAll(async () => {
  server = await startTrinoServer();
  console.info(`Trino ${server.version} started in ${server.startupMs} ms`);
}, 240_000);

afterAll(async () => {
  await server?.stop();
}, 30_000);

const DAY = '2026-10-03';
const DATA = 's3://cpc-cur-111122223333/cur2/cpc-export/data/BILLING_PERIOD=2026-10';
const LISTED_A = `${DATA}/cpc-export-00001.snappy.parquet`;
const LISTED_B = `${DATA}/cpc-export-00002.snappy.parquet`;
/** In the partition but not in the manifest: a leftover of an earlier delivery, or a half-written one. */
const STRAY = `${DATA}/cpc-export-00003.snappy.parquet`;
const TELEMETRY_OBJECT = 's3://cpc-data-111122223333/telemetry/usage_day=2026-10-03/app/part-0001.json';

const customers: TestCustomer[] = [
  { id: 'acme', tenant: 'acme-eu', name: 'Acme', mrr: 100 },
  { id: 'globex', tenant: 'globex', name: 'Globex', mrr: 100 },
];

/** An engine whose inputs are read as the deployed run reads them: the layout prepare-run plans with. */
function deployedReads(trino: TrinoEngine, layout: AthenaRunLayout): QueryEngine {
  return {
    tableRef: (name) => (isInputTable(name) ? layout.tableRef(name) : trino.tableRef(name)),
    createTable: (name, select) => trino.createTable(name, select),
    createView: (name, select) => trino.createView(name, select),
    query: (select) => trino.query(select),
  };
}

const layoutOf = (schema: string, billingFiles?: readonly string[]) =>
  new AthenaRunLayout({
    database: schema,
    runId: 'inputs',
    resultsBucket: 'unused-by-trino',
    billingPeriod: '2026-10',
    ...(billingFiles === undefined ? {} : { billingFiles }),
    inputTables: { billing_source: 'cur2_glue', telemetry: 'telemetry_glue', customers: 'customers' },
  });

/**
 * The Glue tables' shape on Trino: the billing table with its `billing_period` partition column and
 * `"$path"` (each row's object, told by its cost), telemetry with its `usage_day` partition.
 */
async function glueShapedTables(trino: TrinoEngine, pathOfCost: string): Promise<void> {
  const schema = `"memory"."${trino.schema}"`;
  await trino.run(
    `CREATE TABLE ${schema}."cur2_glue" AS SELECT b.*, '2026-10' AS billing_period, ${pathOfCost} AS "$path"` +
      ` FROM ${schema}."billing_source" AS b`,
  );
  await trino.run(
    `CREATE TABLE ${schema}."telemetry_glue" AS SELECT t.*, CAST(t.usage_date AS varchar) AS usage_day` +
      ` FROM ${schema}."telemetry" AS t`,
  );
}

const run: AttributionRun = {
  runId: 'inputs',
  sources: billingSources(BILLING_FORMATS.cur2),
  rules: defaultRules(),
};

/** The stored steps from telemetry to the customers' costs, in the order the run creates them. */
const SHARING_STEPS = [
  'usage_rows',
  'classified_cost',
  'customer_versions',
  'allocated_cost',
  'customer_daily_cost',
  'unattributed_cost',
];

/** Creates the named stored steps of {@link run}, in order, as runAttribution would. */
async function runSteps(engine: QueryEngine, names: readonly string[]): Promise<void> {
  for (const name of names) {
    const step = STORED_STEPS.find((candidate) => candidate.name === name);
    if (step === undefined) throw new Error(`no stored step ${name}`);
    await engine.createTable(name, renderStep(step, engine.tableRef, run));
  }
}

describe('the deployed run reads only the files its manifest lists', () => {
  let trino: TrinoEngine;
  let duck: DuckDbEngine;

  beforeAll(async () => {
    // AWSSupport falls to the catch-all rule, shared evenly by the two active customers.
    const items: TestLineItem[] = [
      { date: DAY, service: 'AmazonRDS', cost: 10, tenant: 'acme-eu' }, // file A
      { date: DAY, service: 'AWSSupport', cost: 6 }, // file A
      { date: DAY, service: 'AmazonRDS', cost: 5, tenant: 'globex' }, // file B
      { date: DAY, service: 'AmazonRDS', cost: 1000, tenant: 'acme-eu' }, // stray
      { date: DAY, service: 'AWSSupport', cost: 600 }, // stray
    ];
    const files = await writeInputs({
      format: 'cur2',
      items,
      usage: [],
      customers,
      tenantTagKey: 'tenant_id',
    });
    trino = await TrinoEngine.create({ url: server.url, schema: 'exact_files' });
    duck = await DuckDbEngine.create({ threads: 1 });
    await loadInputs(duck, trino, files);
    await glueShapedTables(
      trino,
      `CASE WHEN line_item_unblended_cost IN (1000, 600) THEN '${STRAY}'` +
        ` WHEN line_item_unblended_cost = 5 THEN '${LISTED_B}' ELSE '${LISTED_A}' END`,
    );
  }, 120_000);
  afterAll(() => duck?.close());

  /** The billing cost by tenant as the run classifies it (the first statement that reads the bill). */
  const classifiedCost = async (engine: QueryEngine) => {
    await runSteps(engine, ['classified_cost']);
    return engine.query(
      `SELECT tenant, sum(cost) AS cost FROM ${engine.tableRef('classified_cost')} GROUP BY tenant ORDER BY tenant`,
    );
  };

  it("counts the listed files' rows and none of the stray object's", async () => {
    // Files A and B: 10 + 6 + 5 = 21.
    expect(await classifiedCost(deployedReads(trino, layoutOf('exact_files', [LISTED_A, LISTED_B])))).toEqual(
      [
        { tenant: '', cost: 6 },
        { tenant: 'acme-eu', cost: 10 },
        { tenant: 'globex', cost: 5 },
      ],
    );
  });

  it('would count the stray rows if the whole partition were read (what the filter prevents)', async () => {
    expect(await classifiedCost(deployedReads(trino, layoutOf('exact_files')))).toEqual([
      { tenant: '', cost: 606 },
      { tenant: 'acme-eu', cost: 1010 },
      { tenant: 'globex', cost: 5 },
    ]);
  });

  it('reads nothing of a delivery whose manifest lists no file', async () => {
    expect(await classifiedCost(deployedReads(trino, layoutOf('exact_files', [])))).toEqual([]);
  });
});

describe('two source accounts of an Organization: one combined result per period', () => {
  let trino: TrinoEngine;
  // Each payer's export in its own folder (docs/aws-pipeline.md, "Organizations"); prepare-run lists the
  // latest delivery's files of both (test/unit/pipeline-organizations.test.ts).
  const folderOf = (account: string) =>
    `s3://cpc-cur-111122223333/cur/${account}/cost-per-customer/data/BILLING_PERIOD=2026-10`;
  const A_FILE = `${folderOf('210987654321')}/cost-per-customer-00001.snappy.parquet`;
  const B_FILE = `${folderOf('333344445555')}/cost-per-customer-00001.snappy.parquet`;
  const B_OLD = `${folderOf('333344445555')}/cost-per-customer-00009.snappy.parquet`;

  beforeAll(async () => {
    const items: TestLineItem[] = [
      { date: DAY, service: 'AmazonRDS', cost: 10, tenant: 'acme-eu' }, // account A
      { date: DAY, service: 'AmazonEC2', cost: 12 }, // account A, shared by requests
      { date: DAY, service: 'AmazonRDS', cost: 4, tenant: 'acme-eu' }, // account B
      { date: DAY, service: 'AmazonRDS', cost: 5, tenant: 'globex' }, // account B
      { date: DAY, service: 'AmazonEC2', cost: 6 }, // account B, shared by requests
      { date: DAY, service: 'AmazonRDS', cost: 1000, tenant: 'acme-eu' }, // account B, not in its manifest
    ];
    // Streamed telemetry: globex's record was delivered twice by Firehose (same event_id).
    const usage = [
      { date: DAY, tenant: 'acme-eu', metric: 'requests', quantity: 1, eventId: 'e1' },
      { date: DAY, tenant: 'globex', metric: 'requests', quantity: 2, eventId: 'e2' },
      { date: DAY, tenant: 'globex', metric: 'requests', quantity: 2, eventId: 'e2' },
    ];
    const files = await writeInputs({ format: 'cur2', items, usage, customers, tenantTagKey: 'tenant_id' });
    trino = await TrinoEngine.create({ url: server.url, schema: 'organization' });
    const duck = await DuckDbEngine.create({ threads: 1 });
    try {
      await loadInputs(duck, trino, files);
    } finally {
      duck.close();
    }
    const schema = `"memory"."${trino.schema}"`;
    const path =
      `CASE WHEN line_item_unblended_cost = 1000 THEN '${B_OLD}'` +
      ` WHEN line_item_unblended_cost IN (10, 12) THEN '${A_FILE}' ELSE '${B_FILE}' END`;
    // The Glue table of several accounts: its source_account partition before billing_period.
    await trino.run(
      `CREATE TABLE ${schema}."cur2_glue" AS SELECT b.*,` +
        ` CASE WHEN line_item_unblended_cost IN (10, 12) THEN '210987654321' ELSE '333344445555' END AS source_account,` +
        ` '2026-10' AS billing_period, ${path} AS "$path" FROM ${schema}."billing_source" AS b`,
    );
    await trino.run(
      `CREATE TABLE ${schema}."telemetry_glue" AS SELECT t.*, CAST(t.usage_date AS varchar) AS usage_day` +
        ` FROM ${schema}."telemetry" AS t`,
    );
    await runSteps(deployedReads(trino, layoutOf('organization', [A_FILE, B_FILE])), SHARING_STEPS);
  }, 120_000);

  it("gives each customer one row a day, with its cost from both accounts' bills", async () => {
    // EC2 12 + 6 = 18 by requests, globex's duplicate counted once: acme 1/3 = 6, globex 2/3 = 12.
    // acme: 10 (A) + 4 (B) + 6 = 20; globex: 5 (B) + 12 = 17. Account B's stale 1000 is not read.
    const rows = await trino.query(
      `SELECT customer_id, CAST(usage_date AS varchar) AS day, total_cost FROM ${trino.tableRef('customer_daily_cost')}` +
        ' ORDER BY customer_id',
    );
    expect(rows).toEqual([
      { customer_id: 'acme', day: DAY, total_cost: 20 },
      { customer_id: 'globex', day: DAY, total_cost: 17 },
    ]);
    // Conservation: the two accounts' listed bills, 22 + 15, all reached a customer.
    const unattributed = await trino.query(
      `SELECT count(*) AS n FROM ${trino.tableRef('unattributed_cost')}`,
    );
    expect(unattributed).toEqual([{ n: 0 }]);
  });
});

describe('bad telemetry fails the deployed run, naming the object key and the row', () => {
  let trino: TrinoEngine;

  beforeAll(async () => {
    trino = await TrinoEngine.create({ url: server.url, schema: 'bad_telemetry' });
  });

  /**
   * Telemetry rows of one object, and a good row of another, as the Glue table holds them. The
   * quantities go in as text and are cast in Trino: NaN and infinity have no SQL literal.
   */
  async function telemetry(rows: Record<string, string | null>[]): Promise<QueryEngine> {
    const good = 's3://cpc-data-111122223333/telemetry/usage_day=2026-10-03/app/part-0000.json';
    await loadWithPath(
      trino,
      'telemetry_text',
      [
        { name: 'usage_date', type: 'date' },
        { name: 'tenant_id', type: 'varchar' },
        { name: 'metric', type: 'varchar' },
        { name: 'quantity', type: 'varchar' },
      ],
      [
        { usage_date: DAY, tenant_id: 'acme-eu', metric: 'requests', quantity: '1', source_file: good },
        ...rows.map((row) => ({ source_file: TELEMETRY_OBJECT, ...row })),
      ],
    );
    await trino.run('DROP TABLE IF EXISTS "memory"."bad_telemetry"."telemetry_glue"');
    await trino.run(
      'CREATE TABLE "memory"."bad_telemetry"."telemetry_glue" AS SELECT usage_date, tenant_id, metric,' +
        ` CAST(quantity AS double) AS quantity, CAST(NULL AS varchar) AS event_id, "$path", '${DAY}' AS usage_day` +
        ' FROM "memory"."bad_telemetry"."telemetry_text"',
    );
    return deployedReads(trino, layoutOf('bad_telemetry'));
  }

  it('a negative quantity fails the run before billing is read, with the key and the values', async () => {
    const engine = await telemetry([
      { usage_date: DAY, tenant_id: ' acme-eu ', metric: 'requests', quantity: '-5' },
    ]);
    // The billing table does not exist in this schema: the run stops at the telemetry check first.
    const failure = await runAttribution(engine, run).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InvalidTelemetryError);
    expect((failure as Error).message).toBe(
      `telemetry object ${TELEMETRY_OBJECT}: quantity is negative, in the row with usage_date 2026-10-03,` +
        ' tenant_id "acme-eu", metric "requests", quantity -5 (named by its values: Athena gives no line numbers)',
    );
  });

  it('finds every kind of bad row, counted, the good rows left out', async () => {
    const engine = await telemetry([
      { usage_date: null, tenant_id: 'a', metric: 'requests', quantity: '1' },
      { usage_date: DAY, tenant_id: ' \t', metric: 'requests', quantity: '1' },
      { usage_date: DAY, tenant_id: 'b', metric: null, quantity: '1' },
      { usage_date: DAY, tenant_id: 'c', metric: 'requests', quantity: null },
      { usage_date: DAY, tenant_id: 'd', metric: 'requests', quantity: 'NaN' },
      { usage_date: DAY, tenant_id: 'e', metric: 'requests', quantity: 'Infinity' },
      { usage_date: DAY, tenant_id: 'f', metric: 'requests', quantity: '-0.5' },
    ]);
    await runSteps(engine, ['usage_rows']);
    const rows = await engine.query(renderCheck('invalid_telemetry', engine.tableRef));
    expect(rows.map((row: Row) => [row.tenant_id, row.problem, row.bad_rows, row.source_file])).toEqual([
      ['a', 'usage_date is missing or not a date (YYYY-MM-DD)', 7, TELEMETRY_OBJECT],
      ['', 'tenant_id is empty', 7, TELEMETRY_OBJECT],
      ['b', 'metric is empty', 7, TELEMETRY_OBJECT],
      ['c', 'quantity is missing', 7, TELEMETRY_OBJECT],
      ['d', 'quantity is not a finite number', 7, TELEMETRY_OBJECT],
      ['e', 'quantity is not a finite number', 7, TELEMETRY_OBJECT],
      ['f', 'quantity is negative', 7, TELEMETRY_OBJECT],
    ]);
  });
});

describe('tenant ids and metrics are trimmed the same on Trino (Athena) as on DuckDB (local)', () => {
  let trino: TrinoEngine;
  let duck: DuckDbEngine;

  // Padded with a space, a tab, a line feed, a no-break space (which a bare trim keeps on Trino and
  // removes on DuckDB), an ideographic space; a zero-width space is not padding (JavaScript keeps it).
  const raw = [
    { usage_date: DAY, tenant_id: ' acme-eu ', metric: 'requests', quantity: 30 },
    { usage_date: DAY, tenant_id: 'globex\t', metric: ' requests\n', quantity: 10 },
    { usage_date: DAY, tenant_id: '\nacme-eu\u3000', metric: 'requests', quantity: 20 },
    { usage_date: DAY, tenant_id: '\u00a0globex', metric: 'requests\u00a0', quantity: 20 },
    { usage_date: DAY, tenant_id: 'globex\u200b', metric: 'requests', quantity: 40 },
  ];

  beforeAll(async () => {
    const files = await writeInputs({
      format: 'cur2',
      // A tag value padded with a tab and a no-break space: direct cost of acme on both engines.
      items: [
        { date: DAY, service: 'AmazonEC2', cost: 12 },
        { date: DAY, service: 'AmazonRDS', cost: 2, tenant: '\tacme-eu\u00a0' },
      ],
      usage: [],
      customers,
      tenantTagKey: 'tenant_id',
    });
    const ndjson = join(tempDir('cpc-trim-'), 'telemetry.ndjson');
    writeFileSync(ndjson, `${raw.map((row) => JSON.stringify(row)).join('\n')}\n`);
    trino = await TrinoEngine.create({ url: server.url, schema: 'trimming' });
    duck = await DuckDbEngine.create({ threads: 1 });
    // DuckDB reads the file as a local run does; Trino gets the untrimmed values, as Athena reads them.
    await loadInputs(duck, trino, { ...files, telemetry: [ndjson] });
    await loadWithPath(
      trino,
      'telemetry',
      [
        { name: 'usage_date', type: 'date' },
        { name: 'tenant_id', type: 'varchar' },
        { name: 'metric', type: 'varchar' },
        { name: 'quantity', type: 'double' },
        { name: 'event_id', type: 'varchar' },
      ],
      raw.map((row) => ({ ...row, event_id: null, source_file: TELEMETRY_OBJECT })),
    );
    // Only the steps the comparison reads: a shorter test on a shared machine.
    await Promise.all([runSteps(trino, SHARING_STEPS), runSteps(duck, SHARING_STEPS)]);
  }, 120_000);
  afterAll(() => duck?.close());

  it('gives the same usage rows and the same shares', async () => {
    const usage = (engine: QueryEngine) =>
      engine.query(`SELECT tenant_id, metric, quantity FROM ${engine.tableRef('usage_rows')}`);
    const [trinoUsage, duckUsage] = await Promise.all([usage(trino), usage(duck)]);
    expectSameRows(trinoUsage, duckUsage, 'usage_rows');
    expect(trinoUsage.map((row) => row.tenant_id).sort()).toEqual([
      'acme-eu',
      'acme-eu',
      'globex',
      'globex',
      'globex\u200b',
    ]);
    // The same as JavaScript's trim, which the customers file is read with.
    expect(raw.map((row) => row.tenant_id.trim()).sort()).toEqual(
      trinoUsage.map((row) => row.tenant_id).sort(),
    );
    expect(new Set(trinoUsage.map((row) => row.metric))).toEqual(new Set(['requests']));

    // EC2 12 by requests: acme-eu 50, globex 30, "globex<zero-width space>" 40 (no customer) of 120.
    const costs = (engine: QueryEngine) =>
      engine.query(`SELECT customer_id, total_cost FROM ${engine.tableRef('customer_daily_cost')}`);
    const [trinoCosts, duckCosts] = await Promise.all([costs(trino), costs(duck)]);
    expectSameRows(trinoCosts, duckCosts, 'customer_daily_cost');
    expect(trinoCosts.sort((a, b) => String(a.customer_id).localeCompare(String(b.customer_id)))).toEqual([
      { customer_id: 'acme', total_cost: 7 },
      { customer_id: 'globex', total_cost: 3 },
    ]);
    const unattributed = await trino.query(`SELECT reason, cost FROM ${trino.tableRef('unattributed_cost')}`);
    expect(unattributed).toEqual([{ reason: 'unknown_tenant', cost: 4 }]);
  });
});

describe('a tag value is trimmed the same on Trino as on DuckDB and as JavaScript trims', () => {
  // Printable ASCII at both ends skips the trim; everything else is trimmed: blanks at either end,
  // a one-character value, '' (NULL), non-ASCII letters at the edges (kept), a zero-width space (kept).
  const values = [
    'acme',
    'a',
    '!',
    '~x',
    ' acme',
    'acme ',
    '\tacme-eu\u00a0',
    '\u3000acme',
    '\ufeffacme',
    'acme\u2028',
    'été',
    'zürich\u00a0',
    'globex\u200b',
    '',
    '   ',
  ];
  const expected = values.map((value) => value.trim() || null);

  it('keeps or trims each value as JavaScript would, on both engines', async () => {
    const trino = await TrinoEngine.create({ url: server.url, schema: 'tag_trim' });
    const duck = await DuckDbEngine.create({ threads: 1 });
    try {
      const select = `SELECT n, ${trimmedTag('v')} AS trimmed FROM (VALUES ${values
        .map((value, n) => `(${n}, ${sqlString(value).sql})`)
        .join(', ')}) AS t(n, v) ORDER BY n`;
      const [onTrino, onDuck] = await Promise.all([trino.query(select), duck.query(select)]);
      expect(onTrino.map((row) => row.trimmed)).toEqual(expected);
      expect(onDuck.map((row) => row.trimmed)).toEqual(expected);
      // The values the fast path takes as they are, and the ones it trims.
      expect(expected.slice(0, 4)).toEqual(['acme', 'a', '!', '~x']);
      expect(expected.slice(4, 10)).toEqual(['acme', 'acme', 'acme-eu', 'acme', 'acme', 'acme']);
      expect(expected.slice(10)).toEqual(['été', 'zürich', 'globex\u200b', null, null]);
    } finally {
      duck.close();
    }
  });
});
