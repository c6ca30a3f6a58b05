import { AthenaClient } from '@aws-sdk/client-athena';
import { TrinoSQL } from 'dt-sql-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BILLING_FORMAT_NAMES, BILLING_FORMATS } from '../../lib/attribution/billing-formats.ts';
import { defaultRules, parseRules } from '../../lib/attribution/rules.ts';
import {
  type AttributionRun,
  billingSources,
  type RunCheckName,
  renderCheck,
  renderStep,
  STORED_STEPS,
} from '../../lib/attribution/stages.ts';
import { AthenaEngine } from '../../lib/engine/athena-engine.ts';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import type { QueryReader } from '../../lib/engine/query-engine.ts';
import {
  type PlannedStatement,
  planAthenaCleanup,
  planAthenaRun,
} from '../../lib/pipeline/athena-run-plan.ts';
import { INPUT_TABLES, type TableRef } from '../../lib/sql/tables.ts';

const OPTIONS = {
  database: 'cost_per_customer',
  resultsBucket: 'cpc-results',
  billingPeriod: '2026-10',
} as const;

const run = (format: (typeof BILLING_FORMAT_NAMES)[number], runId = 'r20261001a', rules = defaultRules()) =>
  ({ runId, sources: billingSources(BILLING_FORMATS[format]), rules }) satisfies AttributionRun;

/** The engine whose tableRef the plan must use: the deployed engine for the same run. */
const athenaEngine = (attributionRun: AttributionRun) =>
  new AthenaEngine({
    client: new AthenaClient({ region: 'eu-west-1' }),
    workgroup: 'cost-per-customer',
    runId: attributionRun.runId,
    ...OPTIONS,
  });

const CTAS = /^CREATE TABLE (\S+)\nWITH \((.*)\)\nAS\n([\s\S]*)$/;

/** Header, properties and SELECT of a planned CTAS. */
function splitCtas(sql: string): { table: string; properties: string; select: string } {
  const match = CTAS.exec(sql);
  if (!match) throw new Error(`not a CTAS: ${sql.slice(0, 80)}`);
  return { table: match[1] as string, properties: match[2] as string, select: match[3] as string };
}

/** What a statement runs: a CTAS's SELECT, or the check as run-check renders it with the run's tables. */
const selectOf = (statement: PlannedStatement, tableRef: TableRef): string =>
  statement.kind === 'check' ? renderCheck(statement.name, tableRef) : splitCtas(statement.sql).select;

/** The same statement rendered directly from the steps, for an engine. */
const rendered = (name: string, tableRef: TableRef, attributionRun: AttributionRun): string => {
  const step = STORED_STEPS.find((s) => s.name === name);
  return step ? renderStep(step, tableRef, attributionRun) : renderCheck(name as RunCheckName, tableRef);
};

const sqlOfCtas = (statement: PlannedStatement | undefined): string =>
  statement?.kind === 'ctas' ? statement.sql : '';

// Rules with values that need quoting, as in sql-portability.test.ts.
const trickyRules = parseRules(
  {
    version: "v1 'quoted'",
    costBasis: 'net_amortized',
    tenantTagKey: 'tenant:id',
    rules: [
      { id: 'tax', match: { lineItemTypes: ['Tax'] }, action: 'exclude' },
      {
        id: 'network',
        match: { services: ["O'Service"], usageTypeLike: ['%DataTransfer%'] },
        driver: 'requests',
      },
      { id: 'rest', match: {}, driver: 'even' },
    ],
  },
  'test',
);

describe('planAthenaRun', () => {
  it('plans the statements in levels, each reading only tables of earlier levels; checks by name only', async () => {
    const attributionRun = run('cur2');
    const levels = planAthenaRun(attributionRun, OPTIONS);
    // The levels themselves, worked out by hand, are in test/unit/pipeline-prepare-run.test.ts: five,
    // every statement in one of them, the two input checks before the ledger.
    expect(levels).toHaveLength(5);
    const levelOf = (name: string) => levels.findIndex((level) => level.some((s) => s.name === name));
    expect(levels.flat()).toHaveLength(12);
    expect(levelOf('allocated_cost')).toBeGreaterThan(
      Math.max(levelOf('invalid_telemetry'), levelOf('invalid_line_items')),
    );
    // Independently of how the levels were made: no statement reads the table of a statement of its own
    // level or a later one (a run table's reference is unique: database, run prefix and step name).
    const { tableRef } = athenaEngine(attributionRun);
    for (const [index, level] of levels.entries()) {
      const sameOrLater = levels.slice(index).flat();
      for (const statement of level) {
        const select = selectOf(statement, tableRef);
        for (const other of sameOrLater) {
          const found = select.includes(tableRef(other.name));
          expect({ statement: statement.name, reads: other.name, found }).toEqual({
            statement: statement.name,
            reads: other.name,
            found: false,
          });
        }
      }
    }
    // A check carries no SQL: run-check renders it from the run's tables, so no SQL travels in a state.
    expect(levels.flat().filter((s) => s.kind === 'check')).toEqual([
      { name: 'invalid_telemetry', kind: 'check' },
      { name: 'invalid_line_items', kind: 'check' },
      { name: 'conservation_check', kind: 'check' },
    ]);
  });

  for (const format of BILLING_FORMAT_NAMES) {
    it(`selects exactly what the steps render for the Athena engine (${format})`, async () => {
      const attributionRun = run(format);
      const engine = athenaEngine(attributionRun);
      for (const statement of planAthenaRun(attributionRun, OPTIONS).flat()) {
        expect({ name: statement.name, sql: selectOf(statement, engine.tableRef) }).toEqual({
          name: statement.name,
          sql: rendered(statement.name, engine.tableRef, attributionRun),
        });
      }
    });
  }

  describe('against the DuckDB rendering', () => {
    let duckdb: DuckDbEngine;
    beforeAll(async () => {
      duckdb = await DuckDbEngine.create({ threads: 1, memoryLimit: '256MB' });
    });
    afterAll(() => duckdb.close());

    /** Replaces every table reference of `from` with the same table's reference in `to`. */
    const mapRefs = (sql: string, from: QueryReader, to: QueryReader): string =>
      [...INPUT_TABLES, ...STORED_STEPS.map((s) => s.name)]
        .map((name) => [from.tableRef(name), to.tableRef(name)] as const)
        .sort(([a], [b]) => b.length - a.length)
        .reduce((text, [ref, replacement]) => text.replaceAll(ref, replacement), sql);

    for (const format of BILLING_FORMAT_NAMES) {
      it(`differs from what DuckDB runs only in table references (${format})`, async () => {
        const attributionRun = run(format, 'r20261001a', trickyRules);
        const engine = athenaEngine(attributionRun);
        for (const statement of planAthenaRun(attributionRun, OPTIONS).flat()) {
          const athenaSql = selectOf(statement, engine.tableRef);
          const duckSql = rendered(statement.name, duckdb.tableRef, attributionRun);
          expect(athenaSql, statement.name).not.toBe(duckSql);
          expect(mapRefs(athenaSql, engine, duckdb), statement.name).toBe(duckSql);
        }
      });
    }
  });

  for (const format of BILLING_FORMAT_NAMES) {
    for (const rules of [defaultRules(), trickyRules]) {
      it(`plans only Trino SQL, cleanup included (${format}, rules ${rules.version})`, async () => {
        const parser = new TrinoSQL();
        for (const options of [OPTIONS, { database: 'cpc', resultsBucket: 'cpc-results' }]) {
          const attributionRun = run(format, '2026-10_Exec-1', rules);
          const tableRef = athenaEngine(attributionRun).tableRef;
          for (const statement of [
            ...planAthenaRun(attributionRun, options)
              .flat()
              .map((planned) => ({
                name: planned.name,
                sql: planned.kind === 'check' ? renderCheck(planned.name, tableRef) : planned.sql,
              })),
            ...planAthenaCleanup(attributionRun, options),
          ]) {
            expect({ name: statement.name, errors: parser.validate(statement.sql) }).toEqual({
              name: statement.name,
              errors: [],
            });
          }
        }
      });
    }
  }

  it('the syntax check can fail', () => {
    const parser = new TrinoSQL();
    expect(parser.validate('CREATE TABLE t WITH (format = ) AS SELECT 1').length).toBeGreaterThan(0);
    expect(parser.validate("CREATE TABLE t WITH (format = 'PARQUET') SELECT 1").length).toBeGreaterThan(0);
  });

  it('writes each table as ZSTD Parquet to the run-scoped location', async () => {
    const ctas = planAthenaRun(run('cur2'), OPTIONS)
      .flat()
      .flatMap((s) => (s.kind === 'ctas' ? [s] : []));
    expect(ctas.map((s) => splitCtas(s.sql).table)).toEqual([
      '"cost_per_customer"."run_r20261001a_usage_rows"',
      '"cost_per_customer"."run_r20261001a_classified_cost"',
      '"cost_per_customer"."run_r20261001a_customer_versions"',
      '"cost_per_customer"."run_r20261001a_allocated_cost"',
      '"cost_per_customer"."run_r20261001a_customer_daily_usage"',
      '"cost_per_customer"."run_r20261001a_customer_daily_cost"',
      '"cost_per_customer"."run_r20261001a_customer_daily_service_cost"',
      '"cost_per_customer"."run_r20261001a_unattributed_cost"',
      '"cost_per_customer"."run_r20261001a_daily_summary"',
    ]);
    expect(splitCtas(ctas[1]?.sql ?? '').properties).toBe(
      "format = 'PARQUET', write_compression = 'ZSTD', " +
        "external_location = 's3://cpc-results/runs/run=r20261001a/classified_cost/'",
    );
    expect(ctas.map((s) => /external_location = '([^']*)'/.exec(s.sql)?.[1])).toEqual([
      's3://cpc-results/runs/run=r20261001a/usage_rows/',
      's3://cpc-results/runs/run=r20261001a/classified_cost/',
      's3://cpc-results/runs/run=r20261001a/customer_versions/',
      's3://cpc-results/runs/run=r20261001a/allocated_cost/',
      's3://cpc-results/runs/run=r20261001a/customer_daily_usage/',
      's3://cpc-results/runs/run=r20261001a/customer_daily_cost/',
      's3://cpc-results/runs/run=r20261001a/customer_daily_service_cost/',
      's3://cpc-results/runs/run=r20261001a/unattributed_cost/',
      's3://cpc-results/runs/run=r20261001a/daily_summary/',
    ]);
  });

  it('reads the run tables it created and the one billing period of the inputs', async () => {
    const attributionRun = run('cur2');
    const plan = planAthenaRun(attributionRun, OPTIONS).flat();
    const tableRef = athenaEngine(attributionRun).tableRef;
    const sqlOf = (name: string) => {
      const statement = plan.find((s) => s.name === name);
      return statement === undefined ? '' : selectOf(statement, tableRef);
    };
    expect(sqlOf('classified_cost')).toContain(
      `FROM (SELECT * FROM "cost_per_customer"."cur2" WHERE billing_period = '2026-10')`,
    );
    expect(sqlOf('usage_rows')).toContain(
      `FROM (SELECT usage_date, tenant_id, metric, quantity, event_id, "$path" AS source_file FROM "cost_per_customer"."telemetry" WHERE usage_day BETWEEN '2026-09-01' AND '2026-10-31')`,
    );
    // The sharing reads the telemetry the run stored and checked, never the input table again.
    expect(sqlOf('allocated_cost')).toContain('FROM "cost_per_customer"."run_r20261001a_usage_rows" AS u');
    expect(sqlOf('allocated_cost')).not.toContain('"cost_per_customer"."telemetry"');
    expect(sqlOf('invalid_telemetry')).toContain('FROM "cost_per_customer"."run_r20261001a_usage_rows"');
    expect(sqlOf('allocated_cost')).toContain('FROM "cost_per_customer"."run_r20261001a_classified_cost"');
    expect(sqlOf('conservation_check')).toContain('FROM "cost_per_customer"."run_r20261001a_allocated_cost"');
    for (const statement of plan) expect(selectOf(statement, tableRef)).not.toMatch(/\$\{/);
  });

  it('gives two runs different tables and locations, even when their ids differ only in case or punctuation', async () => {
    const runIds = ['r1', 'r2', '2026-10_exec-1', '2026_10_exec_1', '2026-10_EXEC-1'];
    const targets = await Promise.all(
      runIds.map(async (runId) =>
        planAthenaRun(run('cur2', runId), OPTIONS)
          .flat()
          .flatMap((s) => (s.kind === 'ctas' ? [splitCtas(s.sql)] : [])),
      ),
    );
    const tables = targets.flat().map((t) => t.table);
    const locations = targets.flat().map((t) => /external_location = '([^']*)'/.exec(t.properties)?.[1]);
    // 5 runs x 9 tables, all distinct.
    expect(new Set(tables).size).toBe(45);
    expect(new Set(locations).size).toBe(45);
    expect(locations).toContain('s3://cpc-results/runs/run=2026-10_EXEC-1/daily_summary/');
  });

  it('honours a custom run prefix and input tables', async () => {
    const plan = planAthenaRun(run('focus'), {
      ...OPTIONS,
      runPrefix: 'attribution/runs',
      inputTables: { billing_source: 'focus_export' },
    }).flat();
    const classified = plan.find((s) => s.name === 'classified_cost');
    expect(sqlOfCtas(classified)).toContain(
      "external_location = 's3://cpc-results/attribution/runs/run=r20261001a/",
    );
    expect(sqlOfCtas(classified)).toContain(`FROM (SELECT * FROM "cost_per_customer"."focus_export" WHERE`);
  });
});

describe("planAthenaRun with the manifest's data files", () => {
  const DATA = 's3://cpc-cur-111122223333/cur2/cost-per-customer/data/BILLING_PERIOD=2026-10';
  const files = [
    `${DATA}/cost-per-customer-00001.snappy.parquet`,
    `${DATA}/cost-per-customer-00002.snappy.parquet`,
  ];
  const classifiedSql = (billingFiles: readonly string[]) =>
    sqlOfCtas(
      planAthenaRun(run('cur2'), { ...OPTIONS, billingFiles })
        .flat()
        .find((s) => s.name === 'classified_cost'),
    );

  it('reads the billing table in exactly the listed files, each quoted, and nowhere else', () => {
    const sql = classifiedSql(files);
    expect(sql).toContain(
      `FROM (SELECT * FROM "cost_per_customer"."cur2" WHERE billing_period = '2026-10' AND "$path" IN (` +
        `'${DATA}/cost-per-customer-00001.snappy.parquet', '${DATA}/cost-per-customer-00002.snappy.parquet'))`,
    );
    // The billing table is named only inside that filter: no statement reads it unfiltered. The line
    // items read it three times (split cost allocation, 2.2: the split rows, the parents' cost, the items).
    const filtered =
      `(SELECT * FROM "cost_per_customer"."cur2" WHERE billing_period = '2026-10' AND "$path" IN (` +
      `'${DATA}/cost-per-customer-00001.snappy.parquet', '${DATA}/cost-per-customer-00002.snappy.parquet'))`;
    const plan = planAthenaRun(run('cur2'), { ...OPTIONS, billingFiles: files }).flat();
    const reads = plan.flatMap((s) =>
      s.kind === 'ctas' ? [...s.sql.matchAll(/"cost_per_customer"\."cur2"/g)] : [],
    );
    expect(reads).toHaveLength(3);
    expect(sql.split(filtered)).toHaveLength(reads.length + 1);
    expect(new TrinoSQL().validate(sql)).toEqual([]);
  });

  it('reads nothing for a delivery that lists no files (an empty bill), rather than the whole partition', () => {
    expect(classifiedSql([])).toContain(
      `FROM (SELECT * FROM "cost_per_customer"."cur2" WHERE billing_period = '2026-10' AND FALSE)`,
    );
  });

  it.each([
    [`${DATA}/it's.parquet`, 'a quote'],
    [`${DATA}/a".parquet`, 'a double quote'],
    [`${DATA}/a\\b.parquet`, 'a backslash'],
    [`${DATA}/a\nb.parquet`, 'a line feed'],
    [`${DATA}/a\u0000b.parquet`, 'a NUL'],
    [`${DATA}/a\u007fb.parquet`, 'a DEL'],
    [`${DATA}/../other/x.parquet`, 'a ".." folder'],
    ['https://example.com/x.parquet', 'not s3://'],
    ['s3://cpc-cur-111122223333', 'no key'],
  ])('refuses %j (%s) before it becomes SQL', (file) => {
    expect(() => classifiedSql([files[0] as string, file])).toThrow(/Athena: invalid billing data file/);
  });
});

describe('planAthenaCleanup', () => {
  it('drops every run table from the catalog, last created first, and no input', () => {
    expect(planAthenaCleanup(run('cur2'), OPTIONS)).toEqual(
      [
        'customer_daily_usage',
        'daily_summary',
        'unattributed_cost',
        'customer_daily_service_cost',
        'customer_daily_cost',
        'allocated_cost',
        'customer_versions',
        'classified_cost',
        'usage_rows',
      ].map((name) => ({
        name,
        kind: 'drop',
        sql: `DROP TABLE IF EXISTS \`cost_per_customer\`.\`run_r20261001a_${name}\``,
      })),
    );
  });

  it('drops exactly the tables the plan creates', async () => {
    const attributionRun = run('legacy', '2026-10_exec-1');
    const created = planAthenaRun(attributionRun, OPTIONS)
      .flat()
      .flatMap((s) => (s.kind === 'ctas' ? [splitCtas(s.sql).table.replaceAll('"', '`')] : []));
    const dropped = planAthenaCleanup(attributionRun, OPTIONS).map((s) =>
      s.sql.replace('DROP TABLE IF EXISTS ', ''),
    );
    // Every created table, each once (the drops need no order: nothing reads the run's tables by then).
    expect([...dropped].sort()).toEqual([...created].sort());
    expect(new Set(dropped).size).toBe(dropped.length);
  });
});
