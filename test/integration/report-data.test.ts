import { TrinoSQL } from 'dt-sql-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert, AlertType, Severity } from '../../lib/alerts/alert.ts';
import type { UnitCostTarget } from '../../lib/alerts/types/unit_cost_target.ts';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import type { QueryEngine } from '../../lib/engine/query-engine.ts';
import { PublishedResultsReader } from '../../lib/pipeline/published-results.ts';
import {
  billingPeriodsOf,
  buildReportData,
  monthBefore,
  type ReportData,
  type ReportMonth,
  renderBillingPeriodsQuery,
  renderReportQueries,
} from '../../lib/report/report-data.ts';
import { writeTable } from '../support/results-tables.ts';

// Small results tables written by hand; every expected number is worked out in the comments.

interface CustomerDay {
  readonly date: string;
  readonly id: string;
  readonly tier: string;
  readonly plan: 'paid' | 'free' | 'trial';
  readonly mrr: number;
  readonly direct: number;
  readonly shared?: number;
  readonly name?: string;
}

interface SummaryDay {
  readonly date: string;
  readonly direct: number;
  readonly shared: number;
  readonly unattributed: number;
  readonly excluded: number;
  readonly total: number;
  /** daily_summary.currency; NULL (read as USD) when not given. */
  readonly currency?: string;
}

async function load(
  engine: DuckDbEngine,
  customerDays: readonly CustomerDay[],
  summaryDays: readonly SummaryDay[],
): Promise<void> {
  await writeTable(
    engine,
    'customer_daily_cost',
    customerDays.map((d) => [
      d.date,
      d.date.slice(0, 7),
      d.id,
      d.name ?? `Name of ${d.id}`,
      d.tier,
      d.plan,
      d.mrr,
      d.direct,
      d.shared ?? 0,
      d.direct + (d.shared ?? 0),
      'v1',
      'run-1',
    ]),
  );
  await writeTable(
    engine,
    'daily_summary',
    summaryDays.map((d) => [
      d.date,
      d.date.slice(0, 7),
      d.total,
      d.direct,
      d.shared,
      d.unattributed,
      d.excluded,
      d.total - d.excluded === 0 ? 0 : d.unattributed / (d.total - d.excluded),
      'v1',
      'run-1',
      d.currency ?? null,
    ]),
  );
  // Each customer-day's direct cost is EC2 tagged to it; its shared cost is S3 shared by the rule
  // `storage`, whose driver is the metric storage_bytes. So they add up to customer_daily_cost.
  await writeTable(
    engine,
    'customer_daily_service_cost',
    customerDays.flatMap((d) => [
      [d.date, d.date.slice(0, 7), d.id, 'AmazonEC2', 'direct', 'tag', d.direct, 'v1', 'run-1', 'AWS'],
      ...(d.shared
        ? [
            [
              d.date,
              d.date.slice(0, 7),
              d.id,
              'AmazonS3',
              'storage',
              'storage_bytes',
              d.shared,
              'v1',
              'run-1',
              'AWS',
            ],
          ]
        : []),
    ]),
  );
  await writeTable(
    engine,
    'customer_daily_usage',
    USAGE.map(([date, id, metric, quantity]) => [
      date,
      date.slice(0, 7),
      id,
      metric,
      quantity,
      'v1',
      'run-1',
    ]),
  );
  // The unattributed cost by reason: September 30's 500, and October's 13 + 17 of SUMMARY_DAYS.
  const unattributed: [date: string, reason: string, cost: number][] = [
    ['2026-09-30', 'unknown_tenant', 500],
    [D1, 'unknown_tenant', 8],
    [D1, 'no_rule', 5],
    [D2, 'no_usage_signal', 17],
  ];
  await writeTable(
    engine,
    'unattributed_cost',
    unattributed.map(([date, reason, cost]) => [
      date,
      date.slice(0, 7),
      reason,
      'AmazonS3',
      cost,
      'v1',
      'run-1',
    ]),
  );
}

function alert(type: AlertType, severity: Severity, customerId: string | null): Alert {
  return {
    type,
    severity,
    asOf: '2026-10-01',
    subject: customerId ?? 'trial_vs_paid',
    customerId,
    value: 0.5,
    threshold: 0.25,
    customerName: customerId === null ? null : `Name of ${customerId}`,
    tier: null,
    planStatus: null,
    mrr: null,
    cost30d: null,
    topServices: [],
    team: 'finops',
    currency: 'USD',
    explanation: `${type} about ${customerId ?? 'the account'}`,
    moneyAtStake: 0,
  };
}

const G = 'growth';
const E = 'enterprise';
const S = 'self-serve';
const D1 = '2026-10-01';
const D2 = '2026-10-02';
const TRICKY_NAME = 'O\'Brien "Zürich" </script> Ünïcode';

// October, two days. Monthly cost per customer:
//   b (growth, paid): 50 + (30 + 10) = 90; MRR 150 on D1 but 200 on D2, the latest: ratio 90 / 200 = 0.45
//   a (enterprise, paid, MRR 1000): (30 + 10) + 20 = 60; ratio 0.06
//   f1 (free): 8 + 12 = 20;  t1 (trial): 15;  c (growth, paid, MRR 100): 10, ratio 0.1
//   f2 (free): 5;  f3 (free): 4;  f4 (free): 3;  t2 (trial): 3  (f4 and t2 tie: ordered by id)
// Customers 9, customer cost 90 + 60 + 20 + 15 + 10 + 5 + 4 + 3 + 3 = 210.
// Per day: D1 a 40, b 50, c 10, f1 8, t1 15, f3 4 = 127 (shared 10: a's), so direct 117;
//          D2 a 20, b 40, f1 12, f2 5, f4 3, t2 3 = 83 (shared 10: b's), so direct 73.
// September holds one day that the report of October must not count.
const CUSTOMER_DAYS: CustomerDay[] = [
  { date: '2026-09-30', id: 'a', tier: E, plan: 'paid', mrr: 1000, direct: 1000 },
  { date: D1, id: 'a', tier: E, plan: 'paid', mrr: 1000, direct: 30, shared: 10 },
  { date: D2, id: 'a', tier: E, plan: 'paid', mrr: 1000, direct: 20 },
  { date: D1, id: 'b', tier: G, plan: 'paid', mrr: 150, direct: 50, name: TRICKY_NAME },
  { date: D2, id: 'b', tier: G, plan: 'paid', mrr: 200, direct: 30, shared: 10, name: TRICKY_NAME },
  { date: D1, id: 'c', tier: G, plan: 'paid', mrr: 100, direct: 10 },
  { date: D1, id: 'f1', tier: S, plan: 'free', mrr: 0, direct: 8 },
  { date: D2, id: 'f1', tier: S, plan: 'free', mrr: 0, direct: 12 },
  { date: D1, id: 't1', tier: S, plan: 'trial', mrr: 0, direct: 15 },
  { date: D2, id: 'f2', tier: S, plan: 'free', mrr: 0, direct: 5 },
  { date: D1, id: 'f3', tier: S, plan: 'free', mrr: 0, direct: 4 },
  { date: D2, id: 'f4', tier: S, plan: 'free', mrr: 0, direct: 3 },
  { date: D2, id: 't2', tier: S, plan: 'trial', mrr: 0, direct: 3 },
];
// D1: customers 127 + unattributed 13 + excluded 10 = 150, share 13 / (150 - 10) = 0.092857...
// D2: customers 83 + unattributed 17 = 100, share 0.17.
const SUMMARY_DAYS: SummaryDay[] = [
  { date: '2026-09-30', direct: 1000, shared: 0, unattributed: 500, excluded: 0, total: 1500 },
  { date: D1, direct: 117, shared: 10, unattributed: 13, excluded: 10, total: 150 },
  { date: D2, direct: 73, shared: 10, unattributed: 17, excluded: 0, total: 100 },
];

const GIB = 2 ** 30;
// Usage in October. storage_bytes: a stores 31 GiB on both days (62 GiB-days), b 31 GiB on D2 (31), so
// over October's 31 calendar days a holds 62 / 31 = 2 GB-months and b 31 / 31 = 1. c makes 5,000
// requests, a metric no rule shares by.
const USAGE: [date: string, id: string, metric: string, quantity: number][] = [
  [D1, 'a', 'storage_bytes', 31 * GIB],
  [D2, 'a', 'storage_bytes', 31 * GIB],
  [D2, 'b', 'storage_bytes', 31 * GIB],
  [D1, 'c', 'requests', 5000],
];

const TARGETS: UnitCostTarget[] = [
  // The storage rule's October cost 10 + 10 = 20 over 93 GiB-days of storage_bytes, per GiB-day:
  // 20 x 2^30 / (93 x 2^30) = 20 / 93 = 0.215..., above 0.1.
  {
    id: 'storage-per-gib',
    scope: { rule: 'storage' },
    per: { metric: 'storage_bytes', unit: GIB },
    target: 0.1,
    team: 'team-data',
  },
  // EC2 is every customer's direct cost, 190 in October, over the 9 customers with cost: 21.11, within 25.
  { id: 'ec2-per-customer', scope: { service: 'AmazonEC2' }, per: 'customer', target: 25 },
];

const ALERTS = [
  alert('cost_trend_7d', 'P2', 'b'),
  alert('freemium_cliff', 'WARNING', null),
  alert('cost_to_mrr', 'P2', 'c'),
  alert('cost_to_mrr', 'P1', 'b'),
];

const near = (value: number) => expect.closeTo(value, 9);

let engine: DuckDbEngine;
let queriesRun: string[];
/** What the deployed pipeline hands over: only tableRef and query, here counting the queries. */
let narrowEngine: Pick<QueryEngine, 'tableRef' | 'query'>;

beforeAll(async () => {
  engine = await DuckDbEngine.create({ threads: 2 });
  narrowEngine = {
    tableRef: (name) => engine.tableRef(name),
    query: (select) => {
      queriesRun.push(select);
      return engine.query(select);
    },
  };
});

afterAll(() => {
  engine.close();
});

/** The run's report of September and October, with the unit-cost targets. */
async function run(maxCustomers?: number): Promise<ReportData> {
  await load(engine, CUSTOMER_DAYS, SUMMARY_DAYS);
  queriesRun = [];
  return buildReportData(narrowEngine, {
    billingPeriods: ['2026-10', '2026-09'],
    defaultPeriod: '2026-10',
    runId: 'run-1',
    rulesVersion: 'v1',
    costBasis: 'amortized',
    alerts: ALERTS,
    unitCostTargets: TARGETS,
    warnings: ['a warning of the run'],
    ...(maxCustomers !== undefined ? { maxCustomers } : {}),
  });
}

function monthOf(data: ReportData, period: string): ReportMonth {
  const month = data.months.find((m) => m.billingPeriod === period);
  if (month === undefined) throw new Error(`no month ${period} in the report`);
  return month;
}

/** October of {@link run}. */
async function october(maxCustomers?: number): Promise<ReportMonth> {
  return monthOf(await run(maxCustomers), '2026-10');
}

describe('buildReportData', () => {
  it('lists the billing periods of the results, oldest first', async () => {
    await load(engine, CUSTOMER_DAYS, SUMMARY_DAYS);
    expect(await billingPeriodsOf(engine)).toEqual(['2026-09', '2026-10']);
  });

  it('runs the queries of each month through nothing but tableRef and query', async () => {
    const data = await run();
    // Nine a month, the targets' in both, the movers' only in October (the run has no August).
    expect(queriesRun).toHaveLength(9 + 1 + (9 + 1 + 1));
    expect(data.months.map((m) => [m.billingPeriod, m.previousPeriod])).toEqual([
      ['2026-09', null],
      ['2026-10', '2026-09'],
    ]);
    expect(data).toMatchObject({ version: 2, defaultPeriod: '2026-10', warnings: ['a warning of the run'] });
  });

  it("gives each listed customer's drill-down: its daily line, its services summing to its cost, its unit costs", async () => {
    const data = await october();
    // The names the drill-downs refer to, written once for the month.
    const names = data.drillDownNames;
    const named = (id: string) => {
      const drill = data.drillDowns[id];
      return {
        dailyCost: drill?.dailyCost,
        dailyMrr: drill?.dailyMrr,
        services: drill?.services.map(([i, cost]) => [...(names.services[i] ?? []), cost]),
        rules: drill?.rules.map(([i, cost]) => [names.rules[i], cost]),
        unitCosts: drill?.unitCosts.map(([i, units, metricCost, costPerUnit, allIn]) => ({
          ...names.metrics[i],
          units,
          metricCost,
          costPerUnit,
          allIn,
        })),
      };
    };
    // b: D1 50, D2 30 + 10 = 40; its MRR changed from 150 to 200, so the days carry it. EC2 is all of its
    // direct cost (50 + 30), S3 its storage share (10).
    expect(named('b')).toEqual({
      dailyCost: [50, 40],
      dailyMrr: [150, 200],
      services: [
        ['AWS', 'AmazonEC2', 80],
        ['AWS', 'AmazonS3', 10],
      ],
      rules: [
        ['direct', 80],
        ['storage', 10],
      ],
      // 1 GB-month; its storage cost 10, so 10 per GB-month; the average 20 / 3 (a 2 and b 1 GB-month for
      // 20); all-in 90 / 1.
      unitCosts: [
        {
          metric: 'storage_bytes',
          unit: 'GB-month',
          averageCostPerUnit: near(20 / 3),
          units: near(1),
          metricCost: near(10),
          costPerUnit: near(10),
          allIn: near(90),
        },
      ],
    });
    // a: MRR 1000 on both days (left out); c: cost on D1 only, 5 x 1,000 requests that no rule charges.
    expect(named('a')).toMatchObject({ dailyCost: [40, 20], dailyMrr: null });
    expect(named('c')).toMatchObject({
      dailyCost: [10, null],
      unitCosts: [
        {
          metric: 'requests',
          unit: '1,000 requests',
          // No rule charges requests: 0 over all customers' 5 units.
          averageCostPerUnit: 0,
          units: near(5),
          metricCost: 0,
          costPerUnit: 0,
          allIn: near(2),
        },
      ],
    });
    // Every listed customer has one (fewer than DRILL_DOWN_CUSTOMERS), and its services and its rules
    // each add up to its month's cost.
    expect(Object.keys(data.drillDowns).sort()).toEqual(data.customers.map((c) => c.customerId).sort());
    for (const customer of data.customers) {
      const drill = data.drillDowns[customer.customerId];
      for (const part of [drill?.services ?? [], drill?.rules ?? []]) {
        expect(part.reduce((sum, [, cost]) => sum + cost, 0)).toEqual(near(customer.totalCost));
      }
    }
  });

  it('gives drill-downs to the costliest customers and the worst margins only', async () => {
    await load(engine, CUSTOMER_DAYS, SUMMARY_DAYS);
    const data = await buildReportData(engine, {
      billingPeriods: ['2026-10'],
      runId: 'run-1',
      rulesVersion: 'v1',
      costBasis: 'amortized',
      alerts: [],
      drillDownCustomers: 2,
    });
    // The 2 costliest are b and a; the worst cost / MRR are b 0.45, c 0.1, a 0.06: so b, a and c, and none
    // of the free and trial accounts that are listed too.
    const month = monthOf(data, '2026-10');
    expect(month.customers).toHaveLength(9);
    expect(Object.keys(month.drillDowns).sort()).toEqual(['a', 'b', 'c']);
  });

  it('gives the top movers from the previous month, new customers and falls included', async () => {
    const data = await october();
    // September: a 1000. October: a 60 (-940, -94%), b 90, f1 20, t1 15, c 10, f2 5, f3 4, f4 3, t2 3 (new).
    expect(
      data.movers.map((m) => [m.customerId, m.previousCost, m.totalCost, m.costChange, m.costGrowth]),
    ).toEqual([
      ['a', near(1000), near(60), near(-940), near(-0.94)],
      ['b', 0, near(90), near(90), null],
      ['f1', 0, near(20), near(20), null],
      ['t1', 0, near(15), near(15), null],
      ['c', 0, near(10), near(10), null],
      ['f2', 0, near(5), near(5), null],
      ['f3', 0, near(4), near(4), null],
      ['f4', 0, near(3), near(3), null],
      ['t2', 0, near(3), near(3), null],
    ]);
  });

  it('gives the unit costs of metric-driven rules and measures the targets over the month', async () => {
    const data = await october();
    // storage (AmazonS3): 20 over 2 + 1 = 3 GB-months; 9 customers with cost in October.
    expect(data.unitCosts).toEqual([
      {
        ruleId: 'storage',
        service: 'AmazonS3',
        driver: 'storage_bytes',
        metric: 'storage_bytes',
        unit: 'GB-month',
        cost: near(20),
        units: near(3),
        costPerUnit: near(20 / 3),
        activeCustomers: 9,
        costPerActiveCustomer: near(20 / 9),
      },
    ]);
    expect(data.unitTargets).toEqual([
      {
        targetId: 'ec2-per-customer',
        scopeKind: 'service',
        scope: 'AmazonEC2',
        metric: null,
        perUnit: 1,
        team: null,
        measured: near(190 / 9),
        target: 25,
      },
      {
        targetId: 'storage-per-gib',
        scopeKind: 'rule',
        scope: 'storage',
        metric: 'storage_bytes',
        perUnit: GIB,
        team: 'team-data',
        measured: near(20 / 93),
        target: 0.1,
      },
    ]);
  });

  it('gives the waterfall from the bill to paying customers, its steps adding up to the bill', async () => {
    const data = await october();
    // October's bill 150 + 100 = 250: excluded 10 (D1), unattributed 13 + 17 = 30 (unknown tenant 8, no
    // rule 5, no usage signal 17), free and trial f1 20 + t1 15 + f2 5 + f3 4 + f4 3 + t2 3 = 50 (6
    // accounts), paid a 60 + b 90 + c 10 = 160 (3). 10 + 30 + 50 + 160 = 250, nothing unreconciled.
    expect(data.reconciliation).toEqual({
      billTotal: near(250),
      excludedCost: near(10),
      unattributedCost: near(30),
      unattributedByReason: {
        unknownTenant: near(8),
        noRule: near(5),
        noUsageSignal: near(17),
        noActiveCustomers: 0,
        noRevenue: 0,
        other: 0,
      },
      freeTrialCost: near(50),
      freeTrialCustomers: 6,
      paidCost: near(160),
      paidCustomers: 3,
      unreconciledCost: 0,
    });
  });

  it('sums the header totals over the days of the billing period only', async () => {
    const report = await run();
    expect(report).toMatchObject({
      runId: 'run-1',
      rulesVersion: 'v1',
      // Not given: the evaluation day of the alerts.
      alertsAsOf: '2026-10-01',
    });
    expect(report.months.map((m) => m.billingPeriod)).toEqual(['2026-09', '2026-10']);
    // September: its one day, 1500, and a.
    expect(monthOf(report, '2026-09')).toMatchObject({
      firstDay: '2026-09-30',
      lastDay: '2026-09-30',
      // A later month exists.
      isComplete: true,
      customerCount: 1,
      totals: { totalCost: 1500, unattributedCost: 500 },
    });
    const data = monthOf(report, '2026-10');
    expect(data).toMatchObject({
      billingPeriod: '2026-10',
      firstDay: D1,
      lastDay: D2,
      // Two days of October and no later month: the month is still open.
      isComplete: false,
      customerCount: 9,
    });
    // total 150 + 100 = 250, excluded 10, unattributed 13 + 17 = 30, share 30 / (250 - 10) = 0.125.
    expect(data.totals).toEqual({
      totalCost: near(250),
      directCost: near(190),
      sharedCost: near(20),
      attributedCost: near(210),
      unattributedCost: near(30),
      excludedCost: near(10),
      unattributedShare: near(0.125),
    });
    expect(data.conservation).toEqual({
      holds: true,
      daysChecked: 2,
      breachDays: [],
      maxAbsDifference: near(0),
    });
  });

  it('gives the daily trend with the unattributed share of attributable cost', async () => {
    const data = await october();
    expect(
      data.days.map((d) => [d.date, d.totalCost, d.attributedCost, d.unattributedCost, d.excludedCost]),
    ).toEqual([
      [D1, near(150), near(127), near(13), near(10)],
      [D2, near(100), near(83), near(17), near(0)],
    ]);
    expect(data.days.map((d) => d.unattributedPct)).toEqual([near(13 / 140), near(0.17)]);
  });

  it('lists customers by monthly cost with cost / MRR (null without MRR) and their alerts', async () => {
    const data = await october();
    expect(data.customers.map((c) => [c.customerId, c.totalCost, c.costToMrr])).toEqual([
      ['b', near(90), near(0.45)],
      ['a', near(60), near(0.06)],
      ['f1', near(20), null],
      ['t1', near(15), null],
      ['c', near(10), near(0.1)],
      ['f2', near(5), null],
      ['f3', near(4), null],
      ['f4', near(3), null],
      ['t2', near(3), null],
    ]);
    const b = data.customers[0];
    expect(b).toMatchObject({
      name: TRICKY_NAME,
      tier: G,
      planStatus: 'paid',
      mrr: 200,
      directCost: near(80),
      sharedCost: near(10),
      daysWithCost: 2,
      // Most severe first.
      alerts: [
        { type: 'cost_to_mrr', severity: 'P1' },
        { type: 'cost_trend_7d', severity: 'P2' },
      ],
    });
    expect(data.customers.find((c) => c.customerId === 'c')?.alerts).toEqual([
      { type: 'cost_to_mrr', severity: 'P2' },
    ]);
    expect(data.customers.find((c) => c.customerId === 'a')?.alerts).toEqual([]);
    // Every alert is listed once, the account-level one too.
    expect((await run()).alerts.map((a) => [a.severity, a.type, a.customerId])).toEqual([
      ['P1', 'cost_to_mrr', 'b'],
      ['P2', 'cost_to_mrr', 'c'],
      ['P2', 'cost_trend_7d', 'b'],
      ['WARNING', 'freemium_cliff', null],
    ]);
  });

  it('gives the margin by tier and plan status', async () => {
    const data = await october();
    // enterprise/paid: a, cost 60, MRR 1000, margin 1 - 60/1000 = 0.94.
    // growth/paid: b 90 + c 10 = 100, MRR 200 + 100 = 300, margin 1 - 100/300 = 2/3, median (10 + 90) / 2 = 50.
    // self-serve/free: 20 + 5 + 4 + 3 = 32 over 4, median (4 + 5) / 2 = 4.5, no MRR: no margin.
    // self-serve/trial: 15 + 3 = 18 over 2, median 9.
    expect(
      data.tiers.map((t) => [
        t.tier,
        t.planStatus,
        t.customers,
        t.totalCost,
        t.totalMrr,
        t.medianCostPerCustomer,
        t.margin,
        t.fullyLoadedMargin,
      ]),
    ).toEqual([
      // Fully loaded: October's unattributed 13 + 17 = 30 and free/trial subsidy 32 + 18 = 50, so 80 to
      // share by paid MRR (1000 + 300). Enterprise: 60 + 80 x 1000 / 1300 = 1580 / 13, margin
      // 1 - 1580 / 13000. Growth: 100 + 80 x 300 / 1300 = 1540 / 13, margin 1 - 1540 / 3900.
      [E, 'paid', 1, near(60), near(1000), near(60), near(0.94), near(1 - 1580 / 13000)],
      [G, 'paid', 2, near(100), near(300), near(50), near(2 / 3), near(1 - 1540 / 3900)],
      [S, 'free', 4, near(32), near(0), near(4.5), null, null],
      [S, 'trial', 2, near(18), near(0), near(9), null, null],
    ]);
  });

  it('gives the free-tier concentration', async () => {
    const data = await october();
    // Free and trial: f1 20, t1 15, f2 5, f3 4, f4 3, t2 3: n = 6, cost 50 (free 32, trial 18),
    // share of customer cost 50 / 210. Top 10%: ceil(0.6) = 1 account (f1), 20 / 50 = 0.4.
    // Top 20%: ceil(1.2) = 2 accounts (f1, t1), 35 / 50 = 0.7.
    expect(data.freeTier).toEqual({
      accounts: 6,
      freeCost: near(32),
      trialCost: near(18),
      freeTrialCost: near(50),
      customerCost: near(210),
      shareOfCustomerCost: near(50 / 210),
      top10PctAccounts: 1,
      top10PctShare: near(0.4),
      top20PctAccounts: 2,
      top20PctShare: near(0.7),
    });
  });

  it('lists the maxCustomers costliest and the worst margins, and counts them all', async () => {
    // The 3 costliest are b 90, a 60, f1 20. The worst cost / MRR (at most WORST_MARGINS = 10) are the
    // paying customers b 0.45, c 0.1 and a 0.06, so c (cost 10) is listed too, in cost order, after f1.
    const data = await october(3);
    expect(data.customers.map((c) => c.customerId)).toEqual(['b', 'a', 'f1', 'c']);
    expect(data.customerCount).toBe(9);
    // With one: b, then a and c for their margins; the free and trial accounts have no ratio.
    const one = await october(1);
    expect(one.customers.map((c) => c.customerId)).toEqual(['b', 'a', 'c']);
  });

  it('reports the days on which conservation does not hold', async () => {
    // D2's parts add up to 100 but its total says 101: off by -1, beyond 1e-6 x 101.
    await load(engine, CUSTOMER_DAYS, [
      SUMMARY_DAYS[1] as SummaryDay,
      { date: D2, direct: 73, shared: 10, unattributed: 17, excluded: 0, total: 101 },
    ]);
    const data = await buildReportData(engine, {
      billingPeriods: ['2026-10'],
      runId: 'run-1',
      rulesVersion: 'v1',
      costBasis: 'amortized',
      alerts: [],
    });
    expect(monthOf(data, '2026-10').conservation).toEqual({
      holds: false,
      daysChecked: 2,
      breachDays: [D2],
      maxAbsDifference: near(1),
    });
    // The default month is the last given.
    expect(data.defaultPeriod).toBe('2026-10');
  });

  it('gives an empty report for a month without data and for a run without billing data', async () => {
    await load(engine, CUSTOMER_DAYS, SUMMARY_DAYS);
    const emptyMonth = await buildReportData(engine, {
      billingPeriods: ['2026-12'],
      runId: 'run-1',
      rulesVersion: 'v1',
      costBasis: 'amortized',
      alerts: [],
    });
    queriesRun = [];
    const noData = await buildReportData(narrowEngine, {
      billingPeriods: [],
      runId: 'run-1',
      rulesVersion: 'v1',
      costBasis: 'amortized',
      alerts: [],
    });
    expect(queriesRun).toEqual([]);
    expect(monthOf(emptyMonth, '2026-12')).toMatchObject({
      isComplete: null,
      firstDay: null,
      lastDay: null,
      customerCount: 0,
      customers: [],
      drillDowns: {},
      drillDownNames: { services: [], rules: [], metrics: [] },
      tiers: [],
      days: [],
      freeTier: null,
      reconciliation: null,
      movers: [],
      unitCosts: [],
      unitTargets: [],
      conservation: { holds: true, daysChecked: 0, breachDays: [] },
      totals: { totalCost: 0, unattributedCost: 0, unattributedShare: null },
    });
    expect(noData).toMatchObject({ months: [], defaultPeriod: null, alertsAsOf: null, warnings: [] });
    // No billing data names a currency: USD.
    expect([emptyMonth.currency, noData.currency]).toEqual(['USD', 'USD']);
  });

  it("takes the currency from the month's results, and refuses a month in two", async () => {
    await load(
      engine,
      CUSTOMER_DAYS,
      SUMMARY_DAYS.map((d) => ({ ...d, currency: 'EUR' })),
    );
    const options = {
      billingPeriods: ['2026-10'],
      runId: 'run-1',
      rulesVersion: 'v1',
      costBasis: 'amortized' as const,
      alerts: [],
    };
    const data = await buildReportData(engine, options);
    expect(data.currency).toBe('EUR');
    // The amounts themselves are unchanged by the currency (no conversion): 150 + 100.
    expect(monthOf(data, '2026-10').totals.totalCost).toEqual(near(250));
    // Days whose currency is empty read as USD.
    await load(engine, CUSTOMER_DAYS, SUMMARY_DAYS);
    expect((await buildReportData(engine, options)).currency).toBe('USD');
    await load(
      engine,
      CUSTOMER_DAYS,
      SUMMARY_DAYS.map((d) => ({ ...d, currency: d.date === D2 ? 'GBP' : 'EUR' })),
    );
    await expect(buildReportData(engine, options)).rejects.toThrow(
      'the results of billing month 2026-10 hold costs in EUR and GBP',
    );
  });

  it('refuses a billing period that is not YYYY-MM', async () => {
    await expect(
      buildReportData(engine, {
        billingPeriods: ["2026-10' OR '1"],
        runId: 'r',
        rulesVersion: 'v',
        costBasis: 'amortized',
        alerts: [],
      }),
    ).rejects.toThrow(/YYYY-MM/);
    await expect(
      buildReportData(engine, {
        billingPeriods: ['2026-10'],
        defaultPeriod: '2026-11',
        runId: 'r',
        rulesVersion: 'v',
        costBasis: 'amortized',
        alerts: [],
      }),
    ).rejects.toThrow("The default month 2026-11 is not one of the run's: 2026-10");
  });

  it('compares with the calendar month before, across a year too', () => {
    expect([monthBefore('2026-10'), monthBefore('2026-01')]).toEqual(['2026-09', '2025-12']);
  });
});

describe('the report queries are Trino (Athena engine v3) SQL', () => {
  const parser = new TrinoSQL();
  const athenaRef = (name: string) => `"cost_per_customer"."${name}"`;
  // The deployed pipeline reads the published results through this engine, whose table references are
  // subqueries of the `_runs` tables restricted to each period's visible run.
  const published = new PublishedResultsReader({
    inputs: { tableRef: athenaRef, query: async () => [] },
    database: 'cost_per_customer',
    runs: new Map([
      ['2026-09', 'run-september'],
      ['2026-10', 'run-october'],
    ]),
  });

  for (const [label, tableRef] of [
    ['tables', athenaRef],
    ['published results', (name: string) => published.tableRef(name)],
  ] as const) {
    it(`parses every rendered report query over ${label}`, () => {
      const queries = {
        ...renderReportQueries(tableRef, '2026-10', { maxCustomers: 500, unitCostTargets: TARGETS }),
        noTargets: renderReportQueries(tableRef, '2026-10').unitTargets,
        periods: renderBillingPeriodsQuery(tableRef),
      };
      expect(Object.keys(queries)).toEqual([
        'days',
        'customers',
        'tierMargin',
        'freeTier',
        'reconciliation',
        'customerDays',
        'customerServices',
        'customerUnitCosts',
        'unitCosts',
        'unitTargets',
        'movers',
        'noTargets',
        'periods',
      ]);
      for (const [name, sql] of Object.entries(queries)) {
        expect(sql).not.toContain('${');
        expect({ name, errors: parser.validate(sql) }).toEqual({ name, errors: [] });
      }
    });
  }

  it('the parse check can fail', () => {
    const [days] = Object.values(renderReportQueries(athenaRef, '2026-10'));
    expect(parser.validate(`${days} LIMIT`).length).toBeGreaterThan(0);
  });
});
