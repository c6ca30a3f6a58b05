import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../lib/alerts/alert.ts';
import { parseAlertConfig } from '../../lib/alerts/alert-config.ts';
import { ALERT_TYPES } from '../../lib/alerts/alert-types.ts';
import {
  alertPlaceholderValues,
  defaultAsOf,
  evaluateAlerts,
  renderAlertSql,
  WINDOW_CURRENCY_FILE,
} from '../../lib/alerts/evaluate-alerts.ts';
import type { UnitCostTarget } from '../../lib/alerts/types/unit_cost_target.ts';
import { BILLING_FORMATS } from '../../lib/attribution/billing-formats.ts';
import { defaultRules } from '../../lib/attribution/rules.ts';
import {
  type AttributionRun,
  billingSources,
  RESULT_TABLES,
  RUN_CHECK_NAMES,
  renderCheck,
  runAttribution,
} from '../../lib/attribution/stages.ts';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import type { QueryEngine, Row } from '../../lib/engine/query-engine.ts';
import { TrinoEngine, TrinoQueryError } from '../../lib/engine/trino-engine.ts';
import {
  FINANCE_VIEW_NAMES,
  type FinanceViewName,
  runFinanceView,
} from '../../lib/finance/finance-registry.ts';
import { generateSyntheticMonth } from '../../lib/generator/synthetic-month.ts';
import { billingPeriodsOf, buildReportData, renderReportQueries } from '../../lib/report/report-data.ts';
import { loadSqlFile, renderSql, SQL_ROOT, sqlStringList } from '../../lib/sql/sql-template.ts';
import { GIB, loadDuckDb, loadTrino, UNIT_RESULTS } from '../support/finance-results.ts';
import type { TestCustomer, TestLineItem, TestUsage } from '../support/fixtures.ts';
import { tempDir } from '../support/fixtures.ts';
import {
  type AgreementFiles,
  expectSameRows,
  expectSameValue,
  loadInputs,
  writeInputs,
} from '../support/trino-agreement.ts';
import { startTrinoServer, type TrinoServer } from '../support/trino-server.ts';

// The shared SQL on the engine Athena engine v3 is built on (a real Trino, test/support/trino-server.ts)
// and on DuckDB, from identical inputs: every result table, check, alert, finance view and report
// query must give the same rows. One server for the whole file: it takes a while to start.

let server: TrinoServer;

beforeAll(async () => {
  server = await startTrinoServer();
  console.info(`Trino ${server.version} started in ${server.startupMs} ms`);
}, 240_000);

afterAll(async () => {
  const resident = server?.residentBytes();
  if (resident) console.info(`Trino resident memory at the end: ${Math.round(resident / 2 ** 20)} MiB`);
  await server?.stop();
}, 30_000);

// A month end, a year end and two billing periods (2025-12, 2026-01), with November's last day too.
const NOV30 = '2025-11-30';
const D1 = '2025-12-30';
const D2 = '2025-12-31';
const D3 = '2026-01-01';
const D4 = '2026-01-02';

/**
 * Quoted and non-ASCII tenant ids, a customer whose tenant id is empty (= its customer id), a trial
 * that ends on D1, a free account, one that starts on D3, and a whale whose cost dwarfs its MRR.
 */
const customers: TestCustomer[] = [
  { id: 'acme', tenant: 'acme-eu', name: 'Acme, Inc.', tier: 'enterprise', mrr: 10_000, team: 'team-ä' },
  { id: 'acme', tenant: 'acme-us', name: 'Acme, Inc.', tier: 'enterprise', mrr: 10_000, team: 'team-ä' },
  { id: "o'brien", tenant: "o'brien", name: 'O\'Brien & "Söhne"', tier: 'growth', mrr: 2_000 },
  { id: 'zurich', tenant: '"zürich"', name: 'Zürich AG ✓', tier: 'self-serve', mrr: 100, start: D3 },
  { id: 'beta', name: 'Beta', tier: 'growth', mrr: 1_500, start: NOV30 },
  { id: 'delta', tenant: 'delta-1', tier: 'self-serve', plan: 'trial', mrr: 0, end: D1 },
  { id: 'free', tenant: 'free-1', name: '', tier: 'self-serve', plan: 'free' },
  { id: 'whale', tenant: 'whale', name: '鯨', tier: 'enterprise', mrr: 50 },
];

const items: TestLineItem[] = [
  { date: NOV30, service: 'AmazonEC2', cost: 7, tenant: 'beta', billingPeriod: '2025-11-01' },
  { date: NOV30, service: 'AmazonCloudWatch', cost: 2 },
  // D1: direct, padded and quoted tags, an unknown tenant, an empty tag, pools by metric and even.
  { date: D1, service: 'AmazonEC2', cost: 10, tenant: 'acme-eu', usageType: 'EU-Übertragung' },
  { date: D1, service: 'AmazonEC2', cost: 5, tenant: 'acme-us' },
  { date: D1, service: 'AmazonRDS', cost: 4, tenant: "o'brien" },
  { date: D1, service: 'AmazonRDS', cost: 1, tenant: "  o'brien  " },
  { date: D1, service: 'AmazonEC2', cost: 3, tenant: 'ghost' },
  { date: D1, service: 'AmazonEC2', cost: 2, tenant: '' },
  { date: D1, service: 'AmazonEC2', cost: 12 },
  { date: D1, service: 'AmazonS3', cost: 9 },
  { date: D1, service: 'AmazonCloudWatch', cost: 30 },
  { date: D1, service: 'AmazonEC2', cost: 5, type: 'Tax', tenant: 'acme-eu' },
  { date: D1, service: 'delta-service', cost: 1.25, tenant: 'delta-1' },
  // Credits: negative costs, tagged and not.
  { date: D1, service: 'AmazonEC2', cost: -2.5, type: 'Credit', tenant: 'acme-eu' },
  { date: D2, service: 'AmazonCloudWatch', cost: -1, type: 'Credit' },
  // Values near 1e-12 and 1e9.
  { date: D2, service: 'AmazonS3', cost: 1e-12, tenant: "o'brien" },
  { date: D2, service: 'AmazonS3', cost: 3e-12 },
  { date: D2, service: 'AmazonEC2', cost: 1e9, tenant: 'whale' },
  { date: D2, service: 'AmazonEC2', cost: 999_999_999.987654 },
  { date: D2, service: 'AmazonCloudWatch', cost: 4 },
  // Amortization: a Savings Plan covered line and its negation; NULL net costs everywhere else.
  {
    date: D2,
    service: 'AmazonEC2',
    cost: 8,
    type: 'SavingsPlanCoveredUsage',
    tenant: 'acme-us',
    savingsPlanEffectiveCost: 6.5,
  },
  { date: D2, service: 'AmazonEC2', cost: -8, type: 'SavingsPlanNegation', tenant: 'acme-us' },
  // D3 and D4 in the next billing period: the new customer, a quoted non-ASCII tenant.
  { date: D3, service: 'AmazonCloudWatch', cost: 9 },
  { date: D3, service: 'AWSLambda', cost: 7 },
  { date: D3, service: 'AmazonDynamoDB', cost: 2.75, tenant: '"zürich"' },
  { date: D3, service: 'AmazonDynamoDB', cost: 0.25, tenant: ' "zürich" ' },
  { date: D4, service: 'AmazonEC2', cost: 123.456, tenant: 'whale' },
  { date: D4, service: 'AmazonS3', cost: 0.1 },
  { date: D4, service: 'AmazonCloudWatch', cost: 0.2 },
];

const usage: TestUsage[] = [
  { date: NOV30, tenant: 'beta', metric: 'requests', quantity: 1 },
  { date: D1, tenant: 'acme-eu', metric: 'requests', quantity: 30 },
  { date: D1, tenant: 'acme-us', metric: 'requests', quantity: 10 },
  { date: D1, tenant: "o'brien", metric: 'requests', quantity: 20 },
  { date: D1, tenant: 'canary', metric: 'requests', quantity: 60 },
  { date: D1, tenant: 'acme-eu', metric: 'storage_bytes', quantity: 1 },
  { date: D1, tenant: "o'brien", metric: 'storage_bytes', quantity: 1.5 },
  { date: D1, tenant: "o'brien", metric: 'storage_bytes', quantity: 0.5 },
  { date: D2, tenant: 'whale', metric: 'requests', quantity: 1e9 },
  { date: D2, tenant: 'acme-us', metric: 'requests', quantity: 1e-12 },
  { date: D2, tenant: 'beta', metric: 'storage_bytes', quantity: 0 },
  { date: D3, tenant: '"zürich"', metric: 'requests', quantity: 1 },
  { date: D3, tenant: 'beta', metric: 'requests', quantity: 3 },
  // A streamed record delivered twice counts once; two different rows that share an id keep the same one
  // on both engines.
  { date: D3, tenant: 'acme-eu', metric: 'requests', quantity: 7, eventId: 'stream-1' },
  { date: D3, tenant: 'acme-eu', metric: 'requests', quantity: 7, eventId: 'stream-1' },
  { date: D3, tenant: 'acme-us', metric: 'requests', quantity: 2, eventId: 'stream-2' },
  { date: D3, tenant: 'beta', metric: 'requests', quantity: 9, eventId: 'stream-2' },
  { date: D4, tenant: 'whale', metric: 'requests', quantity: 5 },
  { date: D4, tenant: "o'brien", metric: 'storage_bytes', quantity: 2 },
];

interface Engines {
  readonly trino: TrinoEngine;
  readonly duck: DuckDbEngine;
  readonly run: AttributionRun;
}

/** Both engines on the same input files, the attribution run on each (which throws on a failed check). */
async function attributed(schema: string, files: AgreementFiles): Promise<Engines> {
  const rules = defaultRules();
  const run: AttributionRun = {
    runId: `agreement-${schema}`,
    sources: billingSources(BILLING_FORMATS[files.format]),
    rules,
  };
  const trino = await TrinoEngine.create({ url: server.url, schema });
  const duck = await DuckDbEngine.create({ threads: 1 });
  await loadInputs(duck, trino, files);
  // At the same time: DuckDB works in this process while Trino works in its own.
  await Promise.all([runAttribution(trino, run), runAttribution(duck, run)]);
  return { trino, duck, run };
}

/** The same statement, rendered for each engine, on both at once. */
async function bothQuery(engines: Engines, render: (engine: QueryEngine) => string, label: string) {
  const [trinoRows, duckRows] = await Promise.all([
    engines.trino.query(render(engines.trino)),
    engines.duck.query(render(engines.duck)),
  ]);
  expectSameRows(trinoRows, duckRows, label);
}

async function expectResultTablesAgree(engines: Engines): Promise<void> {
  for (const table of RESULT_TABLES) {
    await bothQuery(engines, (engine) => `SELECT * FROM ${engine.tableRef(table)}`, table);
  }
  for (const check of RUN_CHECK_NAMES) {
    await bothQuery(engines, (engine) => renderCheck(check, engine.tableRef), check);
  }
  const breaches = await engines.trino.query(renderCheck('conservation_check', engines.trino.tableRef));
  expect(breaches).toEqual([]);
}

/**
 * The default thresholds with two unit-cost targets of the default rules (at 0, so both fire on any run
 * with cost in them): one per customer, one per 1,000 requests.
 */
const ALERT_CONFIG = parseAlertConfig(
  {
    unitCostTargets: [
      { id: 'compute-per-customer', scope: { rule: 'compute-network' }, per: 'customer', target: 0 },
      {
        id: 'compute-per-1k-requests',
        scope: { rule: 'compute-network' },
        per: { metric: 'requests', unit: 1000 },
        target: 0,
        team: 'team-platform',
      },
    ],
  },
  'trino-agreement',
);

/** Every alert SQL file as evaluateAlerts renders it, then evaluateAlerts itself; returns the alerts. */
async function expectAlertsAgree(engines: Engines): Promise<readonly Alert[]> {
  const asOf = await defaultAsOf(engines.trino);
  expect(asOf).toBe(await defaultAsOf(engines.duck));
  if (asOf === null) throw new Error('no evaluation day: the run has no results');
  const ids = await engines.duck.query(
    `SELECT DISTINCT customer_id FROM ${engines.duck.tableRef('customers')}`,
  );
  // Every alert type's SQL file, as evaluateAlerts renders it, and the shared top-services and currency queries.
  const files = readdirSync(join(SQL_ROOT, 'alerts')).filter((f) => f.endsWith('.sql'));
  expect(files.sort()).toEqual(
    [
      ...ALERT_TYPES.map((type) => `${type.name}.sql`),
      // A fragment every customer rule splices in: compared through them.
      'active_customers.sql',
      'cost_owner.sql',
      'top_services.sql',
      'window_currency.sql',
    ].sort(),
  );
  for (const type of ALERT_TYPES) {
    await bothQuery(engines, (engine) => renderAlertSql(type, engine, asOf, ALERT_CONFIG), type.name);
  }
  for (const file of ['top_services.sql', 'cost_owner.sql']) {
    await bothQuery(
      engines,
      (engine) =>
        renderSql(
          loadSqlFile(`alerts/${file}`),
          {
            ...alertPlaceholderValues(engine, asOf, ALERT_CONFIG),
            customer_ids: sqlStringList(ids.map((r) => String(r.customer_id))),
          },
          file,
        ),
      file,
    );
  }
  await bothQuery(
    engines,
    (engine) =>
      renderSql(
        loadSqlFile(WINDOW_CURRENCY_FILE),
        alertPlaceholderValues(engine, asOf, ALERT_CONFIG),
        WINDOW_CURRENCY_FILE,
      ),
    'window_currency.sql',
  );
  const [trinoAlerts, duckAlerts] = await Promise.all([
    evaluateAlerts(engines.trino, asOf, ALERT_CONFIG),
    evaluateAlerts(engines.duck, asOf, ALERT_CONFIG),
  ]);
  expectSameValue(trinoAlerts, duckAlerts, 'alerts');
  return trinoAlerts;
}

/** Every finance view; returns the rows each gave (Trino's, the same as DuckDB's). */
async function expectFinanceViewsAgree(engines: Engines): Promise<Record<FinanceViewName, Row[]>> {
  const rows = {} as Record<FinanceViewName, Row[]>;
  for (const view of FINANCE_VIEW_NAMES) {
    const [trinoRows, duckRows] = await Promise.all([
      runFinanceView(engines.trino, view),
      runFinanceView(engines.duck, view),
    ]);
    expectSameRows(trinoRows, duckRows, view);
    rows[view] = trinoRows;
  }
  return rows;
}

/**
 * What the finance v2 views must show on any real run, checked on Trino's rows: each month's waterfall
 * closes on the bill (the run passed its conservation check), unit costs exist for the default rules'
 * metric drivers (requests per 1,000, storage_bytes per GB-month), and paid tiers have a fully loaded
 * margin no better than the attributed one when unattributed or free/trial cost exists.
 */
function expectFinanceV2Holds(rows: Record<FinanceViewName, Row[]>): void {
  const num = (row: Row, column: string) => Number(row[column]);
  expect(rows.cost_reconciliation.length).toBeGreaterThan(0);
  for (const month of rows.cost_reconciliation) {
    const steps = ['excluded_cost', 'unattributed_cost', 'free_trial_cost', 'paid_cost'];
    const total = steps.reduce((sum, column) => sum + num(month, column), 0);
    const tolerance = 1e-6 * Math.max(1, Math.abs(num(month, 'bill_total')));
    expect(Math.abs(total - num(month, 'bill_total')), String(month.billing_period)).toBeLessThanOrEqual(
      tolerance,
    );
    expect(num(month, 'unreconciled_cost')).toBe(0);
  }
  expect(new Set(rows.unit_cost.map((r) => `${r.metric} ${r.unit}`))).toEqual(
    new Set(['requests 1,000 requests', 'storage_bytes GB-month']),
  );
  expect(rows.customer_unit_cost.some((r) => r.cost_per_unit !== null)).toBe(true);
  const paid = rows.tier_margin.filter((r) => r.plan_status === 'paid' && r.fully_loaded_margin !== null);
  expect(paid.length).toBeGreaterThan(0);
  for (const tier of paid) {
    const loads = num(tier, 'allocated_unattributed_cost') + num(tier, 'allocated_subsidy_cost');
    expect(num(tier, 'fully_loaded_cost')).toBeCloseTo(num(tier, 'total_cost') + loads, 6);
  }
}

/** Every report query and the report data of every billing period; returns the periods. */
async function expectReportAgrees(engines: Engines): Promise<string[]> {
  const periods = await billingPeriodsOf(engines.trino);
  expect(periods).toEqual(await billingPeriodsOf(engines.duck));
  // A target of each kind, so that the targets' query runs with rows on both engines.
  const unitCostTargets: UnitCostTarget[] = [
    { id: 'per-customer', scope: { service: 'AmazonEC2' }, per: 'customer', target: 1 },
    {
      id: 'per-request',
      scope: { rule: 'compute-network' },
      per: { metric: 'requests', unit: 1000 },
      target: 0,
    },
  ];
  for (const period of periods) {
    const queries = {
      trino: renderReportQueries((table) => engines.trino.tableRef(table), period, { unitCostTargets }),
      duck: renderReportQueries((table) => engines.duck.tableRef(table), period, { unitCostTargets }),
    };
    for (const name of Object.keys(queries.trino) as (keyof typeof queries.trino)[]) {
      const [trinoRows, duckRows] = await Promise.all([
        engines.trino.query(queries.trino[name]),
        engines.duck.query(queries.duck[name]),
      ]);
      expectSameRows(trinoRows, duckRows, `report ${name} ${period}`);
    }
  }
  // Every month of the run, as the local report holds them.
  const options = {
    billingPeriods: periods,
    runId: engines.run.runId,
    rulesVersion: 'v',
    costBasis: 'amortized' as const,
    alerts: [],
    unitCostTargets,
  };
  const [trinoData, duckData] = await Promise.all([
    buildReportData(engines.trino, options),
    buildReportData(engines.duck, options),
  ]);
  expectSameValue(trinoData, duckData, 'report data');
  expect(trinoData.months.map((month) => month.billingPeriod)).toEqual(periods);
  return periods;
}

describe.each(['cur2', 'legacy', 'focus'] as const)(
  'Trino and DuckDB agree on hand-made %s billing data',
  (format) => {
    let engines: Engines;
    beforeAll(async () => {
      const files = await writeInputs({ format, items, usage, customers, tenantTagKey: 'tenant_id' });
      engines = await attributed(`hand_${format}`, files);
    }, 180_000);
    afterAll(() => engines?.duck.close());

    it('on every result table and check of the attribution run', async () => {
      await expectResultTablesAgree(engines);
      // The scenario reaches every path: each customer, and more than one unattributed reason.
      const daily = await engines.trino.query(
        `SELECT * FROM ${engines.trino.tableRef('customer_daily_cost')}`,
      );
      expect(new Set(daily.map((r) => r.customer_id))).toEqual(
        new Set(['acme', "o'brien", 'zurich', 'beta', 'delta', 'free', 'whale']),
      );
      const reasons = await engines.trino.query(
        `SELECT DISTINCT reason FROM ${engines.trino.tableRef('unattributed_cost')}`,
      );
      expect(reasons.length).toBeGreaterThanOrEqual(2);
    });

    // The alerts, finance views and report read only the result tables; they run on every format's.
    it('on every alert, finance view and report query', async () => {
      const alerts = await expectAlertsAgree(engines);
      // The whale's cost is far above its MRR: an alert fires, so the comparison compares something.
      expect(alerts.length).toBeGreaterThan(0);
      // Both unit-cost targets at 0 fire wherever compute-network has cost and requests were sent.
      expect(alerts.filter((a) => (a as Alert).type === 'unit_cost_target').length).toBeGreaterThan(0);
      const finance = await expectFinanceViewsAgree(engines);
      expectFinanceV2Holds(finance);
      // Three billing months, each reconciled; November's bill is beta's EC2 7 and CloudWatch 2.
      expect(finance.cost_reconciliation.map((r) => r.billing_period)).toEqual([
        '2025-11',
        '2025-12',
        '2026-01',
      ]);
      expect(finance.cost_reconciliation[0]).toMatchObject({ bill_total: 9, excluded_cost: 0 });
      expect(await expectReportAgrees(engines)).toEqual(['2025-11', '2025-12', '2026-01']);
      // Every alert query, finance view and report query of three months on both engines: about 45 s
      // alone on two cores.
    }, 180_000);
  },
);

describe('Trino and DuckDB agree on a generated month (2026-12, 25 customers)', () => {
  let engines: Engines;
  beforeAll(async () => {
    const files = await generateSyntheticMonth({
      outDir: join(tempDir(), 'in'),
      month: '2026-12',
      seed: 13,
      lineItems: 2_000,
      customers: 25,
    });
    engines = await attributed('generated', {
      format: 'cur2',
      billing: files.curFiles,
      telemetry: files.telemetryFiles,
      customers: files.customersFile,
      tenantTagKey: 'tenant_id',
    });
  }, 180_000);
  afterAll(() => engines?.duck.close());

  it('on every result table, check, alert, finance view and report query', async () => {
    await expectResultTablesAgree(engines);
    await expectAlertsAgree(engines);
    const finance = await expectFinanceViewsAgree(engines);
    // A whole month of 25 customers: the views that rank and take quantiles have rows to compare.
    expect(finance.customer_monthly_cost.length).toBeGreaterThanOrEqual(20);
    expect(finance.tier_margin.length).toBeGreaterThan(0);
    expect(finance.customer_service_breakdown.length).toBeGreaterThan(finance.customer_monthly_cost.length);
    expectFinanceV2Holds(finance);
    // Every customer with usage has a row per metric it used.
    expect(finance.customer_unit_cost.length).toBeGreaterThanOrEqual(finance.customer_monthly_cost.length);
    expect(await expectReportAgrees(engines)).toEqual(['2026-12']);
    // Some 150 queries on each engine: on 2 cores beside the other Trino tests, well over a minute.
  }, 240_000);
});

describe('Trino and DuckDB agree on the hand-worked unit-cost results of test/integration/finance-views', () => {
  let trino: TrinoEngine;
  let duck: DuckDbEngine;
  beforeAll(async () => {
    trino = await TrinoEngine.create({ url: server.url, schema: 'finance_hand' });
    duck = await DuckDbEngine.create({ threads: 1 });
    await Promise.all([loadTrino(trino, UNIT_RESULTS), loadDuckDb(duck, UNIT_RESULTS)]);
  }, 120_000);
  afterAll(() => duck?.close());

  // A windowed driver (requests/7d), a blend and an even rule, which the default rules of the runs above
  // do not have: the metric of a driver label is read the same way on both engines.
  it.each(['unit_cost', 'customer_unit_cost', 'cost_reconciliation', 'tier_margin'] as const)(
    'on %s',
    async (view) => {
      const [trinoRows, duckRows] = await Promise.all([
        runFinanceView(trino, view),
        runFinanceView(duck, view),
      ]);
      expectSameRows(trinoRows, duckRows, view);
      expect(trinoRows.length).toBeGreaterThan(0);
    },
  );

  it('gives the hand-worked answers on Trino', async () => {
    const units = await runFinanceView(trino, 'unit_cost');
    // The same numbers as finance-views.test.ts: EC2 16 / 6 per 1,000 requests, S3 8 / 3 per GB-month,
    // the 7-day search window priced per 1,000 requests at 3 / 6; no row for the blend or the even rule.
    expect(units.map((r) => [r.billing_period, r.rule_id, r.service, r.metric])).toEqual([
      ['2026-01', 'compute-network', 'AWSLambda', 'requests'],
      ['2026-01', 'compute-network', 'AmazonEC2', 'requests'],
      ['2026-01', 'data-stores', 'AmazonS3', 'storage_bytes'],
      ['2026-01', 'search', 'AmazonES', 'requests'],
      ['2026-02', 'data-stores', 'AmazonS3', 'storage_bytes'],
      ['2026-02', 'search', 'AmazonES', 'requests'],
    ]);
    expect(units[1]?.cost_per_unit).toBeCloseTo(16 / 6, 9);
    expect(units[2]?.cost_per_unit).toBeCloseTo(8 / 3, 9);
    expect(units[3]?.cost_per_unit).toBeCloseTo(0.5, 9);
    expect(units[2]?.quantity).toBe(93 * GIB);
    const customers = await runFinanceView(trino, 'customer_unit_cost');
    // a's requests: 15.5 over 4 x 1,000.
    expect(customers[0]).toMatchObject({ customer_id: 'a', metric: 'requests', metric_cost: 15.5, units: 4 });
  });
});

describe('the harness catches SQL that is not portable', () => {
  let trino: TrinoEngine;
  let duck: DuckDbEngine;
  beforeAll(async () => {
    trino = await TrinoEngine.create({ url: server.url, schema: 'portability' });
    duck = await DuckDbEngine.create({ threads: 1 });
  });
  afterAll(() => duck?.close());

  it('fails on Trino where DuckDB quietly returns NULL: a map subscript of a missing key', async () => {
    const sql = "SELECT m['missing'] AS v FROM (SELECT map(ARRAY['a'], ARRAY['1']) AS m) AS t";
    expect(await duck.query(sql)).toEqual([{ v: null }]);
    await expect(trino.query(sql)).rejects.toThrow(/Key not present in map: missing/);
    await expect(trino.query(sql)).rejects.toBeInstanceOf(TrinoQueryError);
    // element_at is the portable form (DuckDB gets it from TRINO_COMPATIBILITY_MACROS).
    const portable =
      "SELECT element_at(m, 'missing') AS v FROM (SELECT map(ARRAY['a'], ARRAY['1']) AS m) AS t";
    expectSameRows(await trino.query(portable), await duck.query(portable), 'element_at');
  });

  it('sees that date_diff counts differently: boundaries crossed in DuckDB, whole units in Trino', async () => {
    const sql =
      "SELECT date_diff('month', DATE '2025-12-31', DATE '2026-01-01') AS months," +
      " date_diff('day', TIMESTAMP '2025-12-31 23:00:00', TIMESTAMP '2026-01-01 01:00:00') AS days";
    const [trinoRow] = await trino.query(sql);
    const [duckRow] = await duck.query(sql);
    expect(trinoRow).toEqual({ months: 0, days: 0 });
    expect({ months: Number(duckRow?.months), days: Number(duckRow?.days) }).toEqual({ months: 1, days: 1 });
    expect(() => expectSameRows([trinoRow ?? {}], [duckRow ?? {}], 'date_diff')).toThrow(/date_diff/);
  });

  it("reports Trino's own message for a function Trino does not have", async () => {
    await expect(trino.query('SELECT list_value(1, 2) AS l')).rejects.toThrow(/list_value/);
  });

  it('returns typed rows: dates as text, numbers as numbers, booleans, NULL, quotes and non-ASCII', async () => {
    const rows = await trino.query(
      "SELECT DATE '2025-12-31' AS d, CAST(1.25 AS decimal(10, 2)) AS dec, BIGINT '9' AS big, 1e-12 AS tiny," +
        " true AS flag, CAST(NULL AS varchar) AS nothing, '' AS empty, 'o''brien \"zürich\"' AS quoted",
    );
    expect(rows).toEqual([
      {
        d: '2025-12-31',
        dec: 1.25,
        big: 9,
        tiny: 1e-12,
        flag: true,
        nothing: null,
        empty: '',
        quoted: 'o\'brien "zürich"',
      },
    ]);
  });
});
