import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import { DEMO_ALERTS_CONFIG } from '../../lib/generator/alert-showcase.ts';
import { generateSyntheticMonth } from '../../lib/generator/synthetic-month.ts';
import { runDemo } from '../../lib/local/demo.ts';
import { runLocal } from '../../lib/local/run-local.ts';
import type { ReportData } from '../../lib/report/report-data.ts';
import { sqlString } from '../../lib/sql/sql-template.ts';
import { tempDir, writeCustomersCsv, writeTelemetryCsv } from '../support/fixtures.ts';
import { type CsvRow, readCsv } from '../support/run-scenario.ts';

const FOCUS_SAMPLE = resolve(import.meta.dirname, '../fixtures/focus-1.0-sample.csv');

/** Sum of a numeric column over rows, by key. */
function sumBy(
  rows: readonly CsvRow[],
  key: (r: CsvRow) => string,
  value: (r: CsvRow) => number,
): Map<string, number> {
  const totals = new Map<string, number>();
  for (const r of rows) totals.set(key(r), (totals.get(key(r)) ?? 0) + value(r));
  return totals;
}

/** Per day: customers + unattributed + excluded must equal the day's total (docs/attribution.md section 5). */
function expectConservation(outDir: string): void {
  const customers = sumBy(
    readCsv(join(outDir, 'customer_daily_cost.csv')),
    (r) => r.usage_date as string,
    (r) => Number(r.total_cost),
  );
  const unattributed = sumBy(
    readCsv(join(outDir, 'unattributed.csv')),
    (r) => r.usage_date as string,
    (r) => Number(r.cost),
  );
  for (const day of readCsv(join(outDir, 'daily_summary.csv'))) {
    const total = Number(day.total_cost);
    const parts =
      (customers.get(day.usage_date as string) ?? 0) +
      (unattributed.get(day.usage_date as string) ?? 0) +
      Number(day.excluded_cost);
    expect(Math.abs(parts - total)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(total)));
  }
}

describe('the real FOCUS 1.0 sample, with business_unit as the tenant tag', () => {
  it('attributes it end to end; the numbers match sums computed independently from the CSV', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'rules.json'),
      JSON.stringify({
        version: 'bu-1',
        tenantTagKey: 'business_unit',
        rules: [
          { id: 'exclude-tax', match: { lineItemTypes: ['Tax'] }, action: 'exclude' },
          { id: 'all', match: {}, driver: 'even' },
        ],
      }),
    );
    const result = await runLocal({
      billing: [FOCUS_SAMPLE],
      telemetry: [writeTelemetryCsv(join(dir, 'usage.csv'), [])],
      customers: writeCustomersCsv(join(dir, 'customers.csv'), [
        { id: 'peoria', tenant: 'PeoriaData' },
        { id: 'tempe', tenant: 'TempeAI' },
      ]),
      rulesFile: join(dir, 'rules.json'),
      outDir: join(dir, 'out'),
    });
    expect(result.format).toBe('focus');

    // The answer, from the raw file: EffectiveCost per day, split into tagged-by-unit and untagged.
    const raw = parse(readFileSync(FOCUS_SAMPLE, 'utf8'), { columns: true }) as CsvRow[];
    const cost = (r: CsvRow) => (r.EffectiveCost === 'NULL' ? 0 : Number(r.EffectiveCost));
    const day = (r: CsvRow) => (r.ChargePeriodStart as string).slice(0, 10);
    const unit = (r: CsvRow) =>
      r.Tags === 'NULL' ? '' : String(JSON.parse(r.Tags as string).business_unit ?? '').trim();
    const totalByDay = sumBy(raw, day, cost);
    const untaggedByDay = sumBy(
      raw.filter((r) => unit(r) === ''),
      day,
      cost,
    );
    const peoriaDirect = raw.filter((r) => unit(r) === 'PeoriaData').reduce((s, r) => s + cost(r), 0);
    expect(raw).toHaveLength(1000);

    const summary = readCsv(join(dir, 'out', 'daily_summary.csv'));
    expect(summary).toHaveLength(totalByDay.size);
    for (const row of summary) {
      expect(Number(row.total_cost)).toBeCloseTo(totalByDay.get(row.usage_date as string) ?? Number.NaN, 9);
    }
    // Each untagged day's cost is split evenly between the two customers (both always active).
    const daily = readCsv(join(dir, 'out', 'customer_daily_cost.csv'));
    const peoria = daily.filter((r) => r.customer_id === 'peoria');
    const peoriaShared = peoria.reduce((s, r) => s + Number(r.shared_cost), 0);
    const halfOfUntagged = [...untaggedByDay.values()].reduce((s, v) => s + v, 0) / 2;
    expect(peoriaShared).toBeCloseTo(halfOfUntagged, 9);
    expect(peoria.reduce((s, r) => s + Number(r.direct_cost), 0)).toBeCloseTo(peoriaDirect, 9);
    expect(peoriaDirect).toBeGreaterThan(0);
    expectConservation(join(dir, 'out'));

    // The report shows September, the month with the data: the only line billed in October is an
    // Oracle line for 30 September, a day September's bill covers, so it counts in September and no
    // nearly empty October appears.
    const period = (r: CsvRow) => (r.BillingPeriodStart as string).slice(0, 7);
    expect([...new Set(raw.map(period))].sort()).toEqual(['2024-09', '2024-10']);
    expect([...new Set(raw.filter((r) => period(r) === '2024-10').map(day))]).toEqual(['2024-09-30']);
    const html = readFileSync(join(dir, 'out', 'report.html'), 'utf8');
    const data = JSON.parse(
      /<script type="application\/json" id="report-data"[^>]*>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '{}',
    ) as ReportData;
    expect(data.defaultPeriod).toBe('2024-09');
    expect(data.months.map((month) => month.billingPeriod)).toEqual(['2024-09']);
    // September's total is its days' in daily_summary.csv: the sample's $14.98, all of its bill.
    const september = readCsv(join(dir, 'out', 'daily_summary.csv'))
      .filter((row) => row.usage_date?.startsWith('2024-09'))
      .reduce((sum, row) => sum + Number(row.total_cost), 0);
    expect(september).toBeCloseTo(14.98, 2);
    // The file embeds amounts to a millionth.
    expect(Math.abs((data.months[0]?.totals.totalCost ?? 0) - september)).toBeLessThanOrEqual(5e-7);
  });
});

describe('generated CUR 2.0 data through the CLI', () => {
  it('npx cpc run writes every output file, conserving money on every day', async () => {
    const dir = tempDir();
    const files = await generateSyntheticMonth({
      outDir: join(dir, 'in'),
      month: '2026-10',
      seed: 3,
      lineItems: 20_000,
      customers: 40,
    });
    const out = join(dir, 'out');
    const cli = spawnSync(
      process.execPath,
      [
        'bin/cpc.js',
        'run',
        '--cur',
        join(dir, 'in', 'cur'),
        '--telemetry',
        ...files.telemetryFiles,
        '--customers',
        files.customersFile,
        '--out',
        out,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(cli.stderr).toBe('');
    expect(cli.status).toBe(0);
    expect(cli.stdout).toContain('Conservation    holds on every day');
    for (const file of [
      'customer_daily_cost.csv',
      'customer_daily_service_cost.csv',
      'customer_daily_usage.csv',
      'daily_summary.csv',
      'unattributed.csv',
      'alerts.json',
      'run.json',
    ]) {
      expect(existsSync(join(out, file))).toBe(true);
    }
    const alerts = JSON.parse(readFileSync(join(out, 'alerts.json'), 'utf8')) as Record<string, unknown>[];
    expect(Array.isArray(alerts)).toBe(true);
    for (const alert of alerts) {
      expect(Object.keys(alert)).toEqual(
        expect.arrayContaining([
          'type',
          'severity',
          'asOf',
          'customerId',
          'value',
          'threshold',
          'team',
          'explanation',
        ]),
      );
      // As of the latest usage day minus one: the generated month is October 2026.
      expect(alert.asOf).toBe('2026-10-30');
    }
    expectConservation(out);

    // The month's total, computed straight from the Parquet files with the amortized formula of
    // docs/attribution.md section 2 (written out here, independently of the product's SQL).
    const engine = await DuckDbEngine.create({ threads: 1 });
    try {
      const list = files.curFiles.map((f) => sqlString(f).sql).join(', ');
      const [expected] = await engine.query(`
        SELECT sum(CASE line_item_line_item_type
          WHEN 'SavingsPlanCoveredUsage' THEN coalesce(savings_plan_savings_plan_effective_cost, 0)
          WHEN 'SavingsPlanRecurringFee' THEN coalesce(savings_plan_total_commitment_to_date, 0) - coalesce(savings_plan_used_commitment, 0)
          WHEN 'SavingsPlanNegation' THEN 0
          WHEN 'SavingsPlanUpfrontFee' THEN 0
          WHEN 'DiscountedUsage' THEN coalesce(reservation_effective_cost, 0)
          WHEN 'RIFee' THEN coalesce(reservation_unused_amortized_upfront_fee_for_billing_period, 0) + coalesce(reservation_unused_recurring_fee, 0)
          ELSE coalesce(line_item_unblended_cost, 0) END) AS total,
          sum(CASE WHEN line_item_line_item_type = 'Tax' THEN line_item_unblended_cost ELSE 0 END) AS tax
        FROM read_parquet([${list}])`);
      const summary = readCsv(join(out, 'daily_summary.csv'));
      expect(summary.reduce((s, r) => s + Number(r.total_cost), 0)).toBeCloseTo(Number(expected?.total), 6);
      expect(summary.reduce((s, r) => s + Number(r.excluded_cost), 0)).toBeCloseTo(Number(expected?.tax), 6);
    } finally {
      engine.close();
    }
  });

  it('npm start (the demo) writes the results and keeps its generated inputs beside them', async () => {
    const out = join(tempDir(), 'out');
    // The sizes npm start uses.
    const result = await runDemo({
      outDir: out,
      seed: 7,
      customers: 60,
      lineItems: 40_000,
      month: '2026-10',
    });
    expect(existsSync(join(out, 'input', 'customers.csv'))).toBe(true);
    expect(existsSync(join(out, 'customer_daily_cost.csv'))).toBe(true);
    // Every kind of cost the generator makes shows up: direct, shared, unattributed (unknown tenants and the
    // day without storage telemetry), excluded tax.
    expect(result.summary.directCost).toBeGreaterThan(0);
    expect(result.summary.sharedCost).toBeGreaterThan(0);
    expect(result.summary.excludedCost).toBeGreaterThan(0);
    expect(Object.keys(result.summary.unattributedByReason)).toEqual(
      expect.arrayContaining(['unknown_tenant', 'no_usage_signal']),
    );
    expect(result.summary.totalCost).toBeCloseTo(
      result.summary.directCost +
        result.summary.sharedCost +
        result.summary.unattributedCost +
        result.summary.excludedCost,
      6,
    );
    expectConservation(out);
    // The demo shows every kind of alert (issue: at least one of each type).
    expect(new Set(result.alerts.map((a) => `${a.type}/${a.severity}`))).toEqual(
      new Set([
        'cost_to_mrr/P1',
        'cost_to_mrr/P2',
        'cost_trend_7d/WARNING',
        'cost_anomaly/WARNING',
        'freemium_cliff/WARNING',
        'unattributed_share/WARNING',
        'unit_cost_target/P2',
      ]),
    );
    // Pages only for material cases: every cost_to_mrr alert is of a customer costing at least the
    // demo's floor a month.
    const costAlerts = result.alerts.filter((a) => a.type === 'cost_to_mrr');
    expect(costAlerts.length).toBeGreaterThan(0);
    for (const alert of costAlerts) {
      expect(alert.cost30d).toBeGreaterThanOrEqual(DEMO_ALERTS_CONFIG.minMonthlyCost);
    }
    expect(result.asOf).toBe('2026-10-30');
    const rampart = result.alerts.find((a) => a.customerName === 'Rampart Analytics');
    expect(rampart?.type).toBe('cost_trend_7d');
  });

  // The alert showcase must not depend on the month: npm start runs on the previous month, whatever it is.
  it.each([
    ['2026-02', '2026-02-27'],
    ['2026-11', '2026-11-29'],
  ])(
    'the demo of %s raises the showcase alerts (trend, freemium cliff, unattributed share)',
    async (month, asOf) => {
      const result = await runDemo({
        outDir: join(tempDir(), 'out'),
        seed: 7,
        // 60, not 20: the three EKS namespace customers are costly paid ones, which would lift the paid
        // median above the trial median of a 20-customer month and hide the freemium cliff.
        customers: 60,
        lineItems: 4_000,
        month,
      });
      expect(result.asOf).toBe(asOf);
      const types = new Set(result.alerts.map((a) => a.type));
      expect(types).toContain('freemium_cliff');
      expect(types).toContain('unattributed_share');
      const rampart = result.alerts.find((a) => a.customerName === 'Rampart Analytics');
      expect(rampart).toMatchObject({ type: 'cost_trend_7d', severity: 'WARNING' });
      // Spikeway's $80 jump on D over its $100 days, whatever the month.
      const spike = result.alerts.filter((a) => a.customerName === 'Spikeway Media');
      expect(spike.map((a) => [a.type, a.severity])).toEqual([['cost_anomaly', 'WARNING']]);
      expect(spike[0]?.impact).toBeGreaterThan(50);
      // Its direct cost doubles ($70 -> $140 over the two weeks); its share of the even pools moves a little.
      expect(rampart?.value).toBeGreaterThan(0.5);
    },
  );
});
