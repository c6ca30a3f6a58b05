import { readFileSync } from 'node:fs';
import { HiveSQL, TrinoSQL } from 'dt-sql-parser';
import { describe, expect, it } from 'vitest';
import { BILLING_FORMAT_NAMES, BILLING_FORMATS } from '../../lib/attribution/billing-formats.ts';
import { parseRules, tagRequest } from '../../lib/attribution/rules.ts';
import {
  type AttributionRun,
  billingSources,
  RESULT_TABLES,
  RUN_CHECK_NAMES,
  renderCheck,
} from '../../lib/attribution/stages.ts';
import { AthenaRunLayout } from '../../lib/engine/athena-run-layout.ts';
import { planAthenaCleanup, planAthenaRun } from '../../lib/pipeline/athena-run-plan.ts';
import { csvDeliveryTable } from '../../lib/pipeline/csv-delivery.ts';
import { deliveryDataFiles, parseManifest } from '../../lib/pipeline/manifest.ts';
import { createPublishedViewStatements } from '../../lib/pipeline/published-views.ts';

/*
 * Every statement a deployed run sends to Athena, as the plan renders it (the CTAS with the Glue
 * tables' reads: billing period, "$path" list, typed customers) and as run-check renders the checks,
 * parsed as Trino (Athena engine v3). Rules use every v2 match field and every driver kind, with
 * values that need quoting.
 */

const OPTIONS = {
  database: 'cost_per_customer',
  resultsBucket: 'cpc-results',
  billingPeriod: '2026-10',
  billingFiles: ['s3://cpc-cur/cur/cpc-export/data/BILLING_PERIOD=2026-10/part-0.parquet'],
} as const;

const v2Rules = parseRules(
  {
    version: "v2 'quoted'",
    costBasis: 'amortized',
    tenantTagKey: ['tenant:id', "o'tenant"],
    rules: [
      { id: 'tax', match: { lineItemTypes: ['Tax'] }, action: 'exclude' },
      {
        id: 'tagged',
        match: {
          tags: { "team'name": ['data', "o'brien"], env: '*', legacy: '' },
          costCategories: { "Cost'Center": ['shared'], Unit: '*' },
        },
        driver: { weights: { requests: 0.6, storage_bytes: 0.3, even: 0.1 } },
      },
      {
        id: 'network',
        match: {
          services: ["O'Service"],
          accounts: ['111122223333'],
          usageTypeLike: ['%DataTransfer%'],
          resourceIdLike: ["arn:aws:s3:::o'bucket%"],
          regions: ['eu-west-1', 'us-east-1'],
          providers: ['AWS', "Micro'soft"],
        },
        driver: { metric: 'requests', windowDays: 7 },
      },
      { id: 'support', match: { services: ['AWSSupport'] }, driver: { fixed: { acme: 0.75, "o'co": 0.25 } } },
      { id: 'platform', match: { services: ['AmazonEKS'] }, driver: 'mrr' },
      { id: 'metered', match: { services: ['AmazonS3'] }, driver: 'storage_bytes' },
      { id: 'rest', match: {}, driver: 'even' },
    ],
  },
  'test',
);

const parser = new TrinoSQL();
const errorsOf = (name: string, sql: string) => ({ name, errors: parser.validate(sql) });

describe('a deployed run plan is Trino SQL', () => {
  it('the rules exercise every v2 field', () => {
    const fields = new Set(v2Rules.rules.flatMap((rule) => Object.keys(rule.match)));
    expect([...fields].sort()).toEqual(
      [
        'accounts',
        'costCategories',
        'lineItemTypes',
        'providers',
        'regions',
        'resourceIdLike',
        'services',
        'tags',
        'usageTypeLike',
      ].sort(),
    );
  });

  // One source per run: what prepare-run plans. (A run over several sources needs each branch of the
  // UNION ALL wrapped in `SELECT * FROM (...)`, since line_items_cur.sql starts with WITH: see stages.ts.)
  const sourceSets = [...BILLING_FORMAT_NAMES.map((format) => [format]), [...BILLING_FORMAT_NAMES]];
  it.each(sourceSets.map((formats) => [formats.join('+'), formats]))(
    'parses every CTAS and check of a run over %s',
    (_name, formats) => {
      const run: AttributionRun = {
        runId: 'r20261001a',
        sources: billingSources(...formats.map((format) => BILLING_FORMATS[format])),
        rules: v2Rules,
      };
      const plan = planAthenaRun(run, OPTIONS).flat();
      const ctas = plan.flatMap((statement) => (statement.kind === 'ctas' ? [statement] : []));
      // Every result table is created by the plan, customer_daily_usage included.
      expect(ctas.map((statement) => statement.name)).toEqual(expect.arrayContaining([...RESULT_TABLES]));
      for (const statement of ctas) {
        expect(errorsOf(statement.name, statement.sql)).toEqual({ name: statement.name, errors: [] });
      }
      const layout = new AthenaRunLayout({ ...OPTIONS, runId: run.runId });
      for (const check of RUN_CHECK_NAMES) {
        expect(errorsOf(check, renderCheck(check, layout.tableRef))).toEqual({ name: check, errors: [] });
      }
    },
  );

  it('the rendered reads of the Glue inputs are in the statements (not a parse of nothing)', () => {
    const run: AttributionRun = {
      runId: 'r20261001a',
      sources: billingSources(BILLING_FORMATS.cur2),
      rules: v2Rules,
    };
    const sql = planAthenaRun(run, OPTIONS)
      .flat()
      .flatMap((statement) => (statement.kind === 'ctas' ? [statement.sql] : []))
      .join('\n');
    expect(sql).toContain(`"$path" IN ('${OPTIONS.billingFiles[0]}')`);
    expect(sql).toContain("CAST(nullif(trim(effective_from), '') AS date) AS effective_from");
    expect(sql).toContain("'Micro''soft'");
  });

  it('parses every published view, customer_daily_usage included', () => {
    const views = createPublishedViewStatements('cost_per_customer');
    expect(views.map((view) => view.view)).toEqual([...RESULT_TABLES]);
    for (const { view, sql } of views) expect(errorsOf(view, sql)).toEqual({ name: view, errors: [] });
  });

  it('the parser refuses what Athena would refuse (the check can fail)', () => {
    expect(parser.validate('SELECT a FROM t WHERE').length).toBeGreaterThan(0);
    expect(parser.validate("SELECT MAP {'a': 1} AS m").length).toBeGreaterThan(0);
    expect(hive.validate('CREATE EXTERNAL TABLE `d`.`t` (`a` string,) LOCATION').length).toBeGreaterThan(0);
  });
});

// Athena runs DDL (CREATE EXTERNAL TABLE, DROP TABLE) as Hive DDL: the run's table over a CSV delivery is
// parsed as Hive, the CTAS statements reading it as Trino.
const hive = new HiveSQL();

describe('the deployed runs of FOCUS and legacy CUR are Trino SQL (and Hive DDL)', () => {
  const run = (format: 'focus' | 'legacy'): AttributionRun => ({
    runId: 'r20261001a',
    sources: billingSources(BILLING_FORMATS[format]),
    rules: v2Rules,
  });
  const ctasOf = (plan: ReturnType<typeof planAthenaRun>[number]) =>
    plan.flatMap((statement) => (statement.kind === 'ctas' ? [statement] : []));

  it.each([
    [
      'focus',
      'cur/cpc-focus/data/BILLING_PERIOD=2026-10/cpc-focus-00001.snappy.parquet',
      "billing_period = '2026-10'",
    ],
    ['legacy', 'cur/r/r/year=2026/month=10/r-00001.snappy.parquet', "year = '2026' AND month = '10'"],
  ] as const)('parses every CTAS of a %s run over its Glue table and partition', (format, key, filter) => {
    const glueTable = BILLING_FORMATS[format].glueTable;
    const plan = planAthenaRun(run(format), {
      ...OPTIONS,
      inputTables: { billing_source: glueTable?.name ?? '' },
      billingFiles: [`s3://cpc-cur/${key}`],
      ...(glueTable ? { billingPartition: glueTable.partitionOf('2026-10') } : {}),
    }).flat();
    const sql = ctasOf(plan)
      .map((statement) => statement.sql)
      .join('\n');
    expect(sql).toContain(
      `FROM "cost_per_customer"."${format}" WHERE ${filter} AND "$path" IN ('s3://cpc-cur/${key}')`,
    );
    for (const statement of ctasOf(plan)) {
      expect(errorsOf(statement.name, statement.sql)).toEqual({ name: statement.name, errors: [] });
    }
  });

  it('parses the table over a legacy CSV delivery as Hive DDL, and the CTAS reading it as Trino', () => {
    const key = 'cur/cpc-report/20261001-20261101/cpc-report-Manifest.json';
    const text = readFileSync(
      new URL('../fixtures/manifests/legacy-csv-Manifest.json', import.meta.url),
      'utf8',
    );
    const manifest = parseManifest(text, key);
    const billingFiles = deliveryDataFiles(manifest, { bucket: 'cpc-cur-111122223333', key });
    const billingCsv = csvDeliveryTable(
      BILLING_FORMATS.legacy,
      tagRequest(v2Rules),
      manifest.columns,
      billingFiles,
      key,
    );
    const options = { ...OPTIONS, inputTables: { billing_source: 'legacy' }, billingFiles, billingCsv };
    const plan = planAthenaRun(run('legacy'), options).flat();
    const [ddl] = plan;
    expect(ddl?.kind).toBe('ddl');
    const ddlSql = ddl?.kind === 'ddl' ? ddl.sql : '';
    expect(hive.validate(ddlSql)).toEqual([]);
    expect(ddlSql).toContain('`resource_tags_user_customer_2` string');
    const ctas = ctasOf(plan);
    expect(ctas.filter((statement) => statement.sql.includes('"run_r20261001a_billing_csv"'))).toHaveLength(
      1,
    );
    for (const statement of ctas) {
      expect(errorsOf(statement.name, statement.sql)).toEqual({ name: statement.name, errors: [] });
    }
    const drops = planAthenaCleanup(run('legacy'), options);
    expect(drops.at(-1)?.sql).toBe('DROP TABLE IF EXISTS `cost_per_customer`.`run_r20261001a_billing_csv`');
    for (const drop of drops) expect(hive.validate(drop.sql)).toEqual([]);
  });
});
