import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import type { Row } from '../../lib/engine/query-engine.ts';
import { FINANCE_VIEW_NAMES, runFinanceView } from '../../lib/finance/finance-registry.ts';
import { createFinanceViews, queryCommand } from '../../lib/local/query-command.ts';
import { sqlIdentifier, sqlString } from '../../lib/sql/sql-template.ts';
import {
  type CustomerDay,
  GIB,
  loadDuckDb,
  type SummaryDay,
  UNIT_RESULTS,
} from '../support/finance-results.ts';
import { tempDir } from '../support/fixtures.ts';

// Small results tables written by hand (test/support/finance-results.ts); every expected number below is
// worked out in the comments.

const load = loadDuckDb;
const month = (date: string) => date.slice(0, 7);
const unitResults = UNIT_RESULTS;

const near = (value: number) => expect.closeTo(value, 9);

/** Only the named columns of each row, for compact expectations. */
function pick(rows: readonly Row[], columns: readonly string[]): Row[] {
  return rows.map((row) => Object.fromEntries(columns.map((column) => [column, row[column] ?? null])));
}

let engine: DuckDbEngine;

beforeAll(async () => {
  engine = await DuckDbEngine.create({ threads: 2 });
});

afterAll(() => {
  engine.close();
});

describe('customer_monthly_cost', () => {
  it('sums the month, takes MRR from the latest day, and gives cost / MRR and margin', async () => {
    await load(engine, {
      customerDays: [
        // acme, January: direct 100 + 150 = 250, shared 50 + 0 = 50, total 300. MRR moves from 1000 to 1200
        // on the 31st; the month takes the latest day's 1200: cost / MRR = 300 / 1200 = 0.25, margin 0.75.
        { date: '2026-01-30', id: 'acme', tier: 'enterprise', mrr: 1000, direct: 100, shared: 50 },
        { date: '2026-01-31', id: 'acme', tier: 'enterprise', mrr: 1200, direct: 150 },
        // acme, February: 60 / 1200 = 0.05, margin 0.95.
        { date: '2026-02-27', id: 'acme', tier: 'enterprise', mrr: 1200, direct: 60 },
        // acme, March: 30 / 1200 = 0.025, margin 0.975.
        { date: '2026-03-15', id: 'acme', tier: 'enterprise', mrr: 1200, direct: 30 },
        // bolt costs more than it pays: 150 / 100 = 1.5, margin 1 - 1.5 = -0.5.
        { date: '2026-01-31', id: 'bolt', mrr: 100, direct: 120, shared: 30 },
        // zed is free (MRR 0): no ratio, no margin.
        { date: '2026-01-31', id: 'zed', tier: 'self-serve', plan: 'free', shared: 5 },
      ],
    });
    const rows = await runFinanceView(engine, 'customer_monthly_cost');
    // January ends on its last day (31st) -> complete. February's data stops on the 27th but March exists
    // -> complete. March's data stops on the 15th and nothing follows -> open.
    expect(rows).toEqual([
      {
        billing_period: '2026-01',
        customer_id: 'acme',
        customer_name: 'Name of acme',
        tier: 'enterprise',
        plan_status: 'paid',
        days_with_cost: 2,
        direct_cost: 250,
        shared_cost: 50,
        total_cost: 300,
        mrr: 1200,
        cost_to_mrr: near(0.25),
        margin: near(0.75),
        is_complete: true,
      },
      expect.objectContaining({
        billing_period: '2026-01',
        customer_id: 'bolt',
        total_cost: 150,
        cost_to_mrr: near(1.5),
        margin: near(-0.5),
        is_complete: true,
      }),
      expect.objectContaining({
        billing_period: '2026-01',
        customer_id: 'zed',
        plan_status: 'free',
        total_cost: 5,
        mrr: 0,
        cost_to_mrr: null,
        margin: null,
        is_complete: true,
      }),
      expect.objectContaining({
        billing_period: '2026-02',
        customer_id: 'acme',
        days_with_cost: 1,
        total_cost: 60,
        cost_to_mrr: near(0.05),
        margin: near(0.95),
        is_complete: true,
      }),
      expect.objectContaining({
        billing_period: '2026-03',
        customer_id: 'acme',
        total_cost: 30,
        cost_to_mrr: near(0.025),
        margin: near(0.975),
        is_complete: false,
      }),
    ]);
  });

  // The month's last day is computed from its first day + 1 month - 1 day: 30-day months, leap years, December.
  it.each([
    ['2026-04-30', true],
    ['2026-04-29', false],
    ['2026-12-31', true],
    ['2026-12-30', false],
    ['2027-02-28', true],
    ['2028-02-28', false],
    ['2028-02-29', true],
  ])('is_complete for a last data day of %s is %s', async (date, complete) => {
    await load(engine, { customerDays: [{ date, id: 'acme', direct: 1 }] });
    const rows = await runFinanceView(engine, 'customer_monthly_cost');
    expect(pick(rows, ['billing_period', 'is_complete'])).toEqual([
      { billing_period: month(date), is_complete: complete },
    ]);
  });
});

describe('tier_margin', () => {
  it('counts customers and gives total, mean, exact median and margin per tier and plan status', async () => {
    const day = (date: string, id: string, tier: string, plan: string, cost: number, mrr: number) =>
      ({ date, id, tier, plan, mrr, direct: cost }) satisfies CustomerDay;
    await load(engine, {
      customerDays: [
        // January, enterprise/paid: one customer -> median = mean = 7, margin 1 - 7 / 70 = 0.9.
        day('2026-01-31', 'e1', 'enterprise', 'paid', 7, 70),
        // January, growth/paid: costs 10, 60, 20 (odd count): sorted 10, 20, 60 -> median 20, mean 90 / 3 = 30.
        // MRR 100 + 100 + 200 = 400, cost / MRR = 90 / 400 = 0.225, margin 0.775.
        day('2026-01-31', 'g1', 'growth', 'paid', 10, 100),
        day('2026-01-31', 'g2', 'growth', 'paid', 60, 100),
        day('2026-01-31', 'g3', 'growth', 'paid', 20, 200),
        // January, self-serve/free: costs 4 and 6 (even count) -> median (4 + 6) / 2 = 5; no MRR -> no margin.
        day('2026-01-31', 'f1', 'self-serve', 'free', 4, 0),
        day('2026-01-31', 'f2', 'self-serve', 'free', 6, 0),
        // January, self-serve/trial is its own row: one customer, cost 3.
        day('2026-01-31', 't1', 'self-serve', 'trial', 3, 0),
        // February, growth/paid: costs 100, 10, 40, 20 (even count): sorted 10, 20, 40, 100 -> median
        // (20 + 40) / 2 = 30, mean 170 / 4 = 42.5; MRR 4 x 100 = 400, margin 1 - 170 / 400 = 0.575.
        // February's data ends on the 28th, its last day -> complete.
        day('2026-02-28', 'g1', 'growth', 'paid', 100, 100),
        day('2026-02-28', 'g2', 'growth', 'paid', 10, 100),
        day('2026-02-28', 'g3', 'growth', 'paid', 40, 100),
        day('2026-02-28', 'g4', 'growth', 'paid', 20, 100),
      ],
    });
    const rows = await runFinanceView(engine, 'tier_margin');
    // Fully loaded, January: no unattributed cost; the free/trial subsidy is 4 + 6 + 3 = 13, shared by the
    // paid rows' MRR (70 + 400 = 470): enterprise 13 x 70 / 470, growth 13 x 400 / 470, so each paid row's
    // fully loaded cost / MRR is its attributed one + 13 / 470. February has no subsidy: both margins agree.
    expect(rows).toEqual([
      {
        billing_period: '2026-01',
        tier: 'enterprise',
        plan_status: 'paid',
        customers: 1,
        total_cost: 7,
        total_mrr: 70,
        mean_cost_per_customer: near(7),
        median_cost_per_customer: near(7),
        cost_to_mrr: near(0.1),
        margin: near(0.9),
        allocated_unattributed_cost: near(0),
        allocated_subsidy_cost: near((13 * 70) / 470),
        fully_loaded_cost: near(7 + (13 * 70) / 470),
        fully_loaded_cost_to_mrr: near(0.1 + 13 / 470),
        fully_loaded_margin: near(0.9 - 13 / 470),
        is_complete: true,
      },
      {
        billing_period: '2026-01',
        tier: 'growth',
        plan_status: 'paid',
        customers: 3,
        total_cost: 90,
        total_mrr: 400,
        mean_cost_per_customer: near(30),
        median_cost_per_customer: near(20),
        cost_to_mrr: near(0.225),
        margin: near(0.775),
        allocated_unattributed_cost: near(0),
        allocated_subsidy_cost: near((13 * 400) / 470),
        fully_loaded_cost: near(90 + (13 * 400) / 470),
        fully_loaded_cost_to_mrr: near(0.225 + 13 / 470),
        fully_loaded_margin: near(0.775 - 13 / 470),
        is_complete: true,
      },
      {
        billing_period: '2026-01',
        tier: 'self-serve',
        plan_status: 'free',
        customers: 2,
        total_cost: 10,
        total_mrr: 0,
        mean_cost_per_customer: near(5),
        median_cost_per_customer: near(5),
        cost_to_mrr: null,
        margin: null,
        // Free and trial rows carry none of the load: their cost is the subsidy the paid rows carry.
        allocated_unattributed_cost: near(0),
        allocated_subsidy_cost: near(0),
        fully_loaded_cost: null,
        fully_loaded_cost_to_mrr: null,
        fully_loaded_margin: null,
        is_complete: true,
      },
      expect.objectContaining({
        billing_period: '2026-01',
        tier: 'self-serve',
        plan_status: 'trial',
        customers: 1,
        median_cost_per_customer: near(3),
      }),
      {
        billing_period: '2026-02',
        tier: 'growth',
        plan_status: 'paid',
        customers: 4,
        total_cost: 170,
        total_mrr: 400,
        mean_cost_per_customer: near(42.5),
        median_cost_per_customer: near(30),
        cost_to_mrr: near(0.425),
        margin: near(0.575),
        allocated_unattributed_cost: near(0),
        allocated_subsidy_cost: near(0),
        fully_loaded_cost: near(170),
        fully_loaded_cost_to_mrr: near(0.425),
        fully_loaded_margin: near(0.575),
        is_complete: true,
      },
    ]);
  });
});

describe('tier_margin, fully loaded', () => {
  it('adds unattributed cost and the free/trial subsidy to the paid tiers in proportion to their MRR', async () => {
    await load(engine, {
      customerDays: [
        // March: enterprise 100 on MRR 600; growth 50 + 30 = 80 on MRR 300 + 100 = 400; the subsidy is
        // free 20 + trial 30 = 50. Paid MRR 1000: enterprise's weight 0.6, growth's 0.4.
        { date: '2026-03-31', id: 'e1', tier: 'enterprise', mrr: 600, direct: 100 },
        { date: '2026-03-31', id: 'g1', mrr: 300, direct: 50 },
        { date: '2026-03-31', id: 'g2', mrr: 100, direct: 30 },
        { date: '2026-03-31', id: 'f1', tier: 'self-serve', plan: 'free', direct: 20 },
        { date: '2026-03-31', id: 't1', tier: 'self-serve', plan: 'trial', direct: 30 },
        // April: only a free account; no paid MRR to carry anything.
        { date: '2026-04-30', id: 'f1', tier: 'self-serve', plan: 'free', direct: 5 },
      ],
      summaryDays: [
        // March: customers 230 + unattributed 70 + excluded (tax) 15 = 365. Tax is not loaded.
        { date: '2026-03-31', total: 365, excluded: 15, unattributed: 70 },
        { date: '2026-04-30', total: 7, unattributed: 2 },
      ],
    });
    const rows = await runFinanceView(engine, 'tier_margin');
    const columns = [
      'billing_period',
      'tier',
      'plan_status',
      'margin',
      'allocated_unattributed_cost',
      'allocated_subsidy_cost',
      'fully_loaded_cost',
      'fully_loaded_cost_to_mrr',
      'fully_loaded_margin',
    ];
    // biome-ignore format: one hand-worked row per line
    expect(pick(rows, columns)).toEqual([
      // enterprise: 70 x 0.6 = 42 and 50 x 0.6 = 30 -> 172; 172 / 600 = 0.28666..., margin 0.71333...
      // against the attributed 1 - 100 / 600 = 0.8333...
      row('2026-03', 'enterprise', 'paid', near(1 - 100 / 600), near(42), near(30), near(172), near(172 / 600), near(1 - 172 / 600)),
      // growth: 70 x 0.4 = 28 and 50 x 0.4 = 20 -> 128; 128 / 400 = 0.32, margin 0.68 (attributed 0.8).
      row('2026-03', 'growth', 'paid', near(0.8), near(28), near(20), near(128), near(0.32), near(0.68)),
      row('2026-03', 'self-serve', 'free', null, near(0), near(0), null, null, null),
      row('2026-03', 'self-serve', 'trial', null, near(0), near(0), null, null, null),
      // April: paid MRR 0, so nothing can be allocated.
      row('2026-04', 'self-serve', 'free', null, null, null, null, null, null),
    ]);
    // The paid rows' fully loaded cost is all customer cost (230) plus unattributed cost (70).
    const loaded = rows.filter((r) => r.billing_period === '2026-03' && r.fully_loaded_cost !== null);
    expect(loaded.reduce((sum, r) => sum + Number(r.fully_loaded_cost), 0)).toBeCloseTo(300, 9);

    function row(...values: unknown[]): Record<string, unknown> {
      return Object.fromEntries(columns.map((column, i) => [column, values[i]]));
    }
  });
});

describe('cost_outliers', () => {
  it('flags a ratio above Q3 + 1.5 x IQR of the tier, and not one just under it', async () => {
    // growth tier, 10 paid customers, MRR 100 each, so ratio = cost / 100. Sorted ratios (0-based):
    //   v0..v9 = 0.05, 0.10, 0.20, 0.40, 0.45, 0.50, 0.60, 0.80, 1.49, 1.51
    // Q1: h = 9 x 0.25 = 2.25 -> v2 + 0.25 x (v3 - v2) = 0.20 + 0.25 x 0.20 = 0.25
    // Q3: h = 9 x 0.75 = 6.75 -> v6 + 0.75 x (v7 - v6) = 0.60 + 0.75 x 0.20 = 0.75
    // IQR = 0.5, upper fence = 0.75 + 1.5 x 0.5 = 1.5: 1.51 is an outlier, 1.49 is not.
    const growth = [5, 10, 20, 40, 45, 50, 60, 80, 149, 151];
    // enterprise tier: ratios 1.40, 1.50, 1.51, 1.60 (n = 4). Q1: h = 0.75 -> 1.40 + 0.75 x 0.10 = 1.475;
    // Q3: h = 2.25 -> 1.51 + 0.25 x 0.09 = 1.5325; IQR 0.0575; fence 1.5325 + 0.08625 = 1.61875 > 1.60:
    // no outlier, although 1.51 is one in the growth tier.
    const enterprise = [140, 150, 151, 160];
    await load(engine, {
      customerDays: [
        ...growth.map((cost, i) => ({ date: '2026-01-31', id: `g${i}`, tier: 'growth', direct: cost })),
        ...enterprise.map((cost, i) => ({
          date: '2026-01-31',
          id: `e${i}`,
          tier: 'enterprise',
          direct: cost,
        })),
        // A free customer of the growth tier with a large cost has no ratio and is not in the population.
        { date: '2026-01-31', id: 'free-big', tier: 'growth', plan: 'free', direct: 5000 },
      ],
    });
    const rows = await runFinanceView(engine, 'cost_outliers');
    expect(rows).toEqual([
      {
        billing_period: '2026-01',
        customer_id: 'g9',
        customer_name: 'Name of g9',
        tier: 'growth',
        plan_status: 'paid',
        total_cost: 151,
        mrr: 100,
        cost_to_mrr: near(1.51),
        q1: near(0.25),
        q3: near(0.75),
        iqr: near(0.5),
        upper_fence: near(1.5),
        paid_customers: 10,
        is_complete: true,
      },
    ]);
  });

  it('interpolates between positions with n = 4, and a tier of 3 cannot produce an outlier', async () => {
    // growth, n = 4, ratios sorted 1, 1, 1, 100 (rows inserted out of order): Q1 (h = 0.75) = 1,
    // Q3 (h = 2.25) = 1 + 0.25 x 99 = 25.75, IQR 24.75, fence 25.75 + 37.125 = 62.875 -> 100 is an outlier.
    // small, n = 3, ratios 1, 1, 100: Q1 (h = 0.5) = 1, Q3 (h = 1.5) = 1 + 0.5 x 99 = 50.5, IQR 49.5,
    // fence 50.5 + 74.25 = 124.75 > 100 -> none.
    await load(engine, {
      customerDays: [
        { date: '2026-01-31', id: 'd', direct: 10000 },
        { date: '2026-01-31', id: 'a', direct: 100 },
        { date: '2026-01-31', id: 'c', direct: 100 },
        { date: '2026-01-31', id: 'b', direct: 100 },
        { date: '2026-01-31', id: 'x', tier: 'small', direct: 100 },
        { date: '2026-01-31', id: 'y', tier: 'small', direct: 100 },
        { date: '2026-01-31', id: 'z', tier: 'small', direct: 10000 },
      ],
    });
    const rows = await runFinanceView(engine, 'cost_outliers');
    expect(pick(rows, ['customer_id', 'q1', 'q3', 'upper_fence'])).toEqual([
      { customer_id: 'd', q1: near(1), q3: near(25.75), upper_fence: near(62.875) },
    ]);
  });
});

describe('free_tier_economics', () => {
  it('gives the cost of free and trial accounts, its share, and the share of the top 10% and 20%', async () => {
    const days: CustomerDay[] = [];
    const add = (date: string, id: string, plan: string, cost: number) =>
      days.push({ date, id, plan, tier: 'self-serve', direct: cost });
    // January: 12 free and trial accounts. Costs: trial 100, free 50, trial 30, then 9 free at 20.
    // Total 100 + 50 + 30 + 180 = 360 (trial 130, free 230). A paid customer costs 640, so all customer
    // cost is 1000 and the share is 0.36. Top 10%: ceil(1.2) = 2 accounts, 150 / 360; top 20%:
    // ceil(2.4) = 3 accounts, 180 / 360 = 0.5.
    add('2026-01-31', 'j-t1', 'trial', 100);
    add('2026-01-31', 'j-f1', 'free', 50);
    add('2026-01-31', 'j-t2', 'trial', 30);
    for (let i = 0; i < 9; i++) add('2026-01-31', `j-f${i + 2}`, 'free', 20);
    add('2026-01-31', 'j-paid', 'paid', 640);
    // February: exactly 10 accounts, so 10% is exactly 1 account and 20% exactly 2. Costs 50, 20, then 8
    // at 10: total 150. Top 1: 50 / 150 = 1/3; top 2: 70 / 150 = 7/15. Paid 150: share 150 / 300 = 0.5.
    add('2026-02-28', 'f-1', 'free', 50);
    add('2026-02-28', 'f-2', 'free', 20);
    for (let i = 0; i < 8; i++) add('2026-02-28', `f-${i + 3}`, 'free', 10);
    add('2026-02-28', 'f-paid', 'paid', 150);
    // March: 30 accounts costing 1, 2, ..., 30 (total 465); no paid customer, so the share is 1. 10% of 30
    // is exactly 3 (in DOUBLE, 30 x 0.1 = 3.0000000000000004, whose ceil would wrongly be 4): top 3 =
    // 30 + 29 + 28 = 87; top 20% = 6 accounts = 30 + 29 + ... + 25 = 165.
    for (let i = 1; i <= 30; i++) add('2026-03-31', `m-${i}`, i % 2 === 0 ? 'free' : 'trial', i);
    // April (open, data to the 10th): only a paid customer. No free or trial cost, no concentration.
    add('2026-04-10', 'a-paid', 'paid', 10);
    await load(engine, { customerDays: days });
    const rows = await runFinanceView(engine, 'free_tier_economics');
    expect(rows).toEqual([
      {
        billing_period: '2026-01',
        free_trial_accounts: 12,
        free_cost: 230,
        trial_cost: 130,
        free_trial_cost: 360,
        customer_cost: 1000,
        share_of_customer_cost: near(0.36),
        top_10pct_accounts: 2,
        top_10pct_share: near(150 / 360),
        top_20pct_accounts: 3,
        top_20pct_share: near(0.5),
        is_complete: true,
      },
      expect.objectContaining({
        billing_period: '2026-02',
        free_trial_accounts: 10,
        free_trial_cost: 150,
        share_of_customer_cost: near(0.5),
        top_10pct_accounts: 1,
        top_10pct_share: near(1 / 3),
        top_20pct_accounts: 2,
        top_20pct_share: near(7 / 15),
        is_complete: true,
      }),
      expect.objectContaining({
        billing_period: '2026-03',
        free_trial_accounts: 30,
        free_trial_cost: 465,
        share_of_customer_cost: near(1),
        top_10pct_accounts: 3,
        top_10pct_share: near(87 / 465),
        top_20pct_accounts: 6,
        top_20pct_share: near(165 / 465),
        is_complete: true,
      }),
      {
        billing_period: '2026-04',
        free_trial_accounts: 0,
        free_cost: 0,
        trial_cost: 0,
        free_trial_cost: 0,
        customer_cost: 10,
        share_of_customer_cost: near(0),
        top_10pct_accounts: 0,
        top_10pct_share: null,
        top_20pct_accounts: 0,
        top_20pct_share: null,
        is_complete: false,
      },
    ]);
  });
});

describe('customer_service_breakdown', () => {
  it("gives each service's cost and share of the customer's month, shares summing to 1", async () => {
    await load(engine, {
      serviceDays: [
        // acme, January, total 100: EC2 30 direct + 10 shared = 40 (0.4), S3 40 shared (0.4), RDS 20 direct (0.2).
        { date: '2026-01-30', id: 'acme', service: 'AmazonEC2', cost: 30 },
        { date: '2026-01-30', id: 'acme', service: 'AmazonEC2', rule: 'compute-network', cost: 10 },
        { date: '2026-01-30', id: 'acme', service: 'AmazonS3', rule: 'data-stores', cost: 25 },
        { date: '2026-01-30', id: 'acme', service: 'AmazonS3', rule: 'data-stores', cost: 15 },
        { date: '2026-01-30', id: 'acme', service: 'AmazonRDS', cost: 20 },
        // bolt, January: one service, share 1.
        { date: '2026-01-30', id: 'bolt', service: 'AWSLambda', cost: 5 },
        // cora's 31 January spans two billing periods: the day belongs to the later one, so EC2 6 and S3 4
        // both count in February (shares 0.6 and 0.4), as customer_daily_cost labels the day.
        { date: '2026-01-31', period: '2026-01', id: 'cora', service: 'AmazonEC2', cost: 6 },
        { date: '2026-01-31', period: '2026-02', id: 'cora', service: 'AmazonS3', cost: 4 },
      ],
      // daily_summary labels 31 January with February too. January: data to the 30th, but a later month
      // exists -> complete. February: data only to 31 January, nothing later -> open.
      summaryDays: [
        { date: '2026-01-30', total: 105 },
        { date: '2026-01-31', period: '2026-02', total: 10 },
      ],
    });
    const rows = await runFinanceView(engine, 'customer_service_breakdown');
    expect(rows).toEqual([
      {
        billing_period: '2026-01',
        customer_id: 'acme',
        service: 'AmazonEC2',
        direct_cost: 30,
        shared_cost: 10,
        cost: 40,
        customer_cost: 100,
        share_of_customer_cost: near(0.4),
        is_complete: true,
      },
      expect.objectContaining({
        customer_id: 'acme',
        service: 'AmazonRDS',
        cost: 20,
        share_of_customer_cost: near(0.2),
      }),
      expect.objectContaining({
        customer_id: 'acme',
        service: 'AmazonS3',
        direct_cost: 0,
        shared_cost: 40,
        share_of_customer_cost: near(0.4),
      }),
      expect.objectContaining({ customer_id: 'bolt', service: 'AWSLambda', share_of_customer_cost: near(1) }),
      expect.objectContaining({
        billing_period: '2026-02',
        customer_id: 'cora',
        service: 'AmazonEC2',
        customer_cost: 10,
        share_of_customer_cost: near(0.6),
        is_complete: false,
      }),
      expect.objectContaining({
        billing_period: '2026-02',
        customer_id: 'cora',
        service: 'AmazonS3',
        share_of_customer_cost: near(0.4),
        is_complete: false,
      }),
    ]);
    const sums = new Map<string, number>();
    for (const row of rows) {
      const key = `${row.billing_period} ${row.customer_id}`;
      sums.set(key, (sums.get(key) ?? 0) + Number(row.share_of_customer_cost));
    }
    expect([...sums.values()]).toEqual([near(1), near(1), near(1)]);
  });
});

describe('customer_cost_trend', () => {
  it('gives month-over-month cost and MRR growth against the previous calendar month', async () => {
    await load(engine, {
      customerDays: [
        // acme: Dec 80, Jan 100 (MRR 1000), Feb 150 (MRR 1100), Mar 120 (MRR 1100, open month).
        // Jan: 100 / 80 - 1 = 0.25 across the year boundary; MRR 1000 / 1000 - 1 = 0 -> outgrows.
        // Feb: 150 / 100 - 1 = 0.5, MRR 1100 / 1000 - 1 = 0.1 -> outgrows.
        // Mar: 120 / 150 - 1 = -0.2, MRR 0 -> does not outgrow.
        { date: '2025-12-31', id: 'acme', mrr: 1000, direct: 80 },
        { date: '2026-01-31', id: 'acme', mrr: 1000, direct: 100 },
        { date: '2026-02-28', id: 'acme', mrr: 1100, direct: 150 },
        { date: '2026-03-15', id: 'acme', mrr: 1100, direct: 120 },
        // bolt skips February: March has no previous month, so no growth (not a lag to January).
        { date: '2026-01-31', id: 'bolt', mrr: 500, direct: 50 },
        { date: '2026-03-15', id: 'bolt', mrr: 500, direct: 80 },
        // cred's January nets to 0 (a credit): February's growth has no base.
        { date: '2026-01-30', id: 'cred', direct: 5 },
        { date: '2026-01-31', id: 'cred', direct: -5 },
        { date: '2026-02-28', id: 'cred', direct: 10 },
        // zed is free: cost 10 -> 20 is growth 1, MRR 0 -> 0 has no growth, so no comparison.
        { date: '2026-01-31', id: 'zed', plan: 'free', direct: 10 },
        { date: '2026-02-28', id: 'zed', plan: 'free', direct: 20 },
      ],
    });
    const rows = await runFinanceView(engine, 'customer_cost_trend');
    const columns = [
      'billing_period',
      'customer_id',
      'total_cost',
      'previous_cost',
      'cost_growth',
      'mrr',
      'previous_mrr',
      'mrr_growth',
      'cost_outgrows_mrr',
      'is_complete',
    ];
    expect(pick(rows, columns)).toEqual([
      row('2025-12', 'acme', 80, null, null, 1000, null, null, null, true),
      row('2026-01', 'acme', 100, 80, near(0.25), 1000, 1000, near(0), true, true),
      row('2026-01', 'bolt', 50, null, null, 500, null, null, null, true),
      row('2026-01', 'cred', 0, null, null, 100, null, null, null, true),
      row('2026-01', 'zed', 10, null, null, 0, null, null, null, true),
      row('2026-02', 'acme', 150, 100, near(0.5), 1100, 1000, near(0.1), true, true),
      row('2026-02', 'cred', 10, 0, null, 100, 100, near(0), null, true),
      row('2026-02', 'zed', 20, 10, near(1), 0, 0, null, null, true),
      row('2026-03', 'acme', 120, 150, near(-0.2), 1100, 1100, near(0), false, false),
      row('2026-03', 'bolt', 80, null, null, 500, null, null, null, false),
    ]);

    function row(...values: unknown[]): Record<string, unknown> {
      return Object.fromEntries(columns.map((column, i) => [column, values[i]]));
    }
  });
});

describe('cost_growth_vs_customer_growth', () => {
  it('compares rolling 90-day cost growth with active-customer growth', async () => {
    // Days 2026-01-01 (index 0) to 2026-06-30 (index 180). Jan-Mar (index 0-89) cost 10 a day. From
    // 1 April (index 90) total 17 of which 5 excluded: 12 a day. 15 May (index 134) has no data.
    const summaryDays: SummaryDay[] = [];
    for (let i = 0; i <= 180; i++) {
      const date = new Date(Date.UTC(2026, 0, 1 + i)).toISOString().slice(0, 10);
      if (date === '2026-05-15') continue;
      summaryDays.push(i < 90 ? { date, total: 10 } : { date, total: 17, excluded: 5 });
    }
    await load(engine, {
      summaryDays,
      customers: [
        { id: 'c1' }, // always active (open start and end)
        { id: 'c2', start: '2026-01-01' },
        { id: 'c3', start: '2026-04-15' },
        { id: 'c4', start: '2026-02-01', end: '2026-06-01' },
        { id: 'c5', start: '2026-03-31', end: '2026-06-29' },
        { id: 'c6', tenant: 'c6-eu', start: '2026-05-01' }, // two tenants, one customer
        { id: 'c6', tenant: 'c6-us', start: '2026-05-01' },
      ],
    });
    const rows = await runFinanceView(engine, 'cost_growth_vs_customer_growth');
    expect(rows).toHaveLength(180);
    const on = (date: string) => rows.find((r) => r.usage_date === date);

    // 29 June (index 179): windows 90-179 and 0-89, both fully inside the data (first day = index 0).
    // cost_90d = 89 days x 12 (15 May missing) = 1068; prior = 90 x 10 = 900; growth 1068 / 900.
    // Active on 29 June: c1, c2, c3, c5 (last day), c6 = 5; on 31 March (d - 90): c1, c2, c4, c5 (first
    // day) = 4; growth 1.25. Efficiency (1068 / 900) / 1.25 = 0.94933...
    expect(on('2026-06-29')).toEqual({
      usage_date: '2026-06-29',
      cost_90d: near(1068),
      prior_cost_90d: near(900),
      window_complete: true,
      cost_growth: near(1068 / 900),
      active_customers: 5,
      active_customers_90d_earlier: 4,
      customer_growth: near(1.25),
      efficiency: near(1068 / 900 / 1.25),
    });
    // 30 June (index 180): windows 91-180 (89 days of 12 = 1068) and 1-90 (89 x 10 + 12 = 902).
    // Active on 30 June: c1, c2, c3, c6 = 4; on 1 April: c1, c2, c4, c5 = 4; growth 1, efficiency = cost growth.
    expect(on('2026-06-30')).toMatchObject({
      cost_90d: near(1068),
      prior_cost_90d: near(902),
      window_complete: true,
      cost_growth: near(1068 / 902),
      active_customers: 4,
      active_customers_90d_earlier: 4,
      customer_growth: near(1),
      efficiency: near(1068 / 902),
    });
    // 28 June (index 178): the prior window would start at index -1, before the data: sums shown as far as
    // the data goes (89 - 178: 10 + 88 x 12 = 1066; 0 - 88: 89 x 10 = 890), but no cost growth.
    // Active on 28 June: c1, c2, c3, c5, c6 = 5; on 30 March: c1, c2, c4 = 3 -> 5 / 3.
    expect(on('2026-06-28')).toMatchObject({
      cost_90d: near(1066),
      prior_cost_90d: near(890),
      window_complete: false,
      cost_growth: null,
      active_customers: 5,
      active_customers_90d_earlier: 3,
      customer_growth: near(5 / 3),
      efficiency: null,
    });
    // 1 January: cost_90d 10, nothing before. Active: c1, c2 = 2; on 3 October 2025: c1 = 1.
    expect(on('2026-01-01')).toMatchObject({
      cost_90d: near(10),
      prior_cost_90d: near(0),
      window_complete: false,
      cost_growth: null,
      active_customers: 2,
      active_customers_90d_earlier: 1,
      customer_growth: near(2),
      efficiency: null,
    });
  });
});

describe('unattributed_cost', () => {
  it("gives unattributed cost by day, reason and service with its share of the day's attributable cost", async () => {
    await load(engine, {
      summaryDays: [
        // 31 January: total 110, excluded 10 -> attributable 100; unattributed 3 + 2 + 1 = 6 (pct 0.06).
        { date: '2026-01-31', total: 110, excluded: 10, unattributed: 6 },
        // 1 February: everything excluded -> attributable 0, so no share.
        { date: '2026-02-01', total: 5, excluded: 5, unattributed: 2 },
      ],
      unattributed: [
        { date: '2026-01-31', reason: 'unknown_tenant', service: 'AmazonEC2', cost: 3 },
        // Two rows at the same grain are summed: 1.5 + 0.5 = 2.
        { date: '2026-01-31', reason: 'no_rule', service: 'AWSKMS', cost: 1.5 },
        { date: '2026-01-31', reason: 'no_rule', service: 'AWSKMS', cost: 0.5 },
        { date: '2026-01-31', reason: 'unknown_tenant', service: 'AmazonS3', cost: 1 },
        { date: '2026-02-01', reason: 'no_usage_signal', service: 'AmazonS3', cost: 2 },
      ],
    });
    const rows = await runFinanceView(engine, 'unattributed_cost');
    expect(rows).toEqual([
      {
        usage_date: '2026-01-31',
        billing_period: '2026-01',
        reason: 'no_rule',
        service: 'AWSKMS',
        cost: 2,
        attributable_cost: 100,
        share_of_attributable_cost: near(0.02),
      },
      expect.objectContaining({
        reason: 'unknown_tenant',
        service: 'AmazonEC2',
        share_of_attributable_cost: near(0.03),
      }),
      expect.objectContaining({
        reason: 'unknown_tenant',
        service: 'AmazonS3',
        share_of_attributable_cost: near(0.01),
      }),
      {
        usage_date: '2026-02-01',
        billing_period: '2026-02',
        reason: 'no_usage_signal',
        service: 'AmazonS3',
        cost: 2,
        attributable_cost: 0,
        share_of_attributable_cost: null,
      },
    ]);
    // The day's shares add up to its unattributed_pct (0.06).
    const shares = rows
      .filter((r) => r.usage_date === '2026-01-31')
      .map((r) => Number(r.share_of_attributable_cost));
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(0.06, 12);
  });
});

describe('unit_cost', () => {
  it('prices each metric-driven rule and service per 1,000 units or per GB-month, and per active customer', async () => {
    await load(engine, unitResults);
    const rows = await runFinanceView(engine, 'unit_cost');
    const january = {
      billing_period: '2026-01',
      metric_customers: 2,
      active_customers: 3,
      is_complete: true,
    };
    const requests = {
      metric: 'requests',
      metric_kind: 'count',
      unit: '1,000 requests',
      quantity: 6000,
      units: near(6),
    };
    expect(rows).toEqual([
      // Lambda 4 over 6 x 1,000 requests = 0.6667; per active customer (a, b, f) 4 / 3.
      {
        ...january,
        rule_id: 'compute-network',
        service: 'AWSLambda',
        driver: 'requests',
        ...requests,
        cost: 4,
        cost_per_unit: near(4 / 6),
        cost_per_active_customer: near(4 / 3),
      },
      // EC2 16 / 6 = 2.6667 per 1,000 requests (the direct 20 is not in it); 16 / 3 per active customer.
      {
        ...january,
        rule_id: 'compute-network',
        service: 'AmazonEC2',
        driver: 'requests',
        ...requests,
        cost: 16,
        cost_per_unit: near(16 / 6),
        cost_per_active_customer: near(16 / 3),
      },
      // S3 8 over (62 + 31) GiB-days / 31 days = 3 GB-months: 2.6667 per GB-month.
      {
        ...january,
        rule_id: 'data-stores',
        service: 'AmazonS3',
        driver: 'storage_bytes',
        metric: 'storage_bytes',
        metric_kind: 'bytes',
        unit: 'GB-month',
        cost: 8,
        quantity: 93 * GIB,
        units: near(3),
        cost_per_unit: near(8 / 3),
        cost_per_active_customer: near(8 / 3),
      },
      // The windowed driver prices requests: 3 / 6 = 0.5.
      {
        ...january,
        rule_id: 'search',
        service: 'AmazonES',
        driver: 'requests/7d',
        ...requests,
        cost: 3,
        cost_per_unit: near(0.5),
        cost_per_active_customer: near(1),
      },
      // February (open, 28 days): 28 GiB for one day is 1 GB-month; cost 1, one active customer.
      {
        billing_period: '2026-02',
        rule_id: 'data-stores',
        service: 'AmazonS3',
        driver: 'storage_bytes',
        metric: 'storage_bytes',
        metric_kind: 'bytes',
        unit: 'GB-month',
        cost: 1,
        quantity: 28 * GIB,
        units: near(1),
        cost_per_unit: near(1),
        metric_customers: 1,
        active_customers: 1,
        cost_per_active_customer: near(1),
        is_complete: false,
      },
      // The window charges 0.7 in a month without requests: no units, no price.
      expect.objectContaining({
        billing_period: '2026-02',
        rule_id: 'search',
        metric: 'requests',
        cost: 0.7,
        quantity: 0,
        units: 0,
        cost_per_unit: null,
        metric_customers: 0,
      }),
    ]);
  });
});

describe('customer_unit_cost', () => {
  it("prices each customer's own usage of each metric, against the average of all customers", async () => {
    await load(engine, unitResults);
    const rows = await runFinanceView(engine, 'customer_unit_cost');
    const columns = [
      'billing_period',
      'customer_id',
      'metric',
      'plan_status',
      'unit',
      'units',
      'metric_cost',
      'cost_per_unit',
      'average_cost_per_unit',
      'customer_cost',
      'customer_cost_per_unit',
      'is_complete',
    ];
    // January's averages: requests (16 + 4 + 3) / 6 = 23 / 6; storage 8 / 3 GB-months; active_users 0.
    // biome-ignore format: one hand-worked row per line
    expect(pick(rows, columns)).toEqual([
      // a's requests: EC2 10.5 + Lambda 2 + search 3 = 15.5 over 4 -> 3.875 (the blend's 5 and the even 1
      // are not requests cost); all of a's 47.5 over 4 = 11.875.
      row('2026-01', 'a', 'requests', 'paid', '1,000 requests', near(4), near(15.5), near(3.875), near(23 / 6), near(47.5), near(11.875), true),
      // a's storage: 6 over 2 GB-months = 3; 47.5 / 2 = 23.75.
      row('2026-01', 'a', 'storage_bytes', 'paid', 'GB-month', near(2), near(6), near(3), near(8 / 3), near(47.5), near(23.75), true),
      // b's requests: 5.5 + 2 = 7.5 over 2 = 3.75; 10.5 / 2 = 5.25.
      row('2026-01', 'b', 'requests', 'paid', '1,000 requests', near(2), near(7.5), near(3.75), near(23 / 6), near(10.5), near(5.25), true),
      // b's storage: 2 over 1 GB-month; 10.5 / 1.
      row('2026-01', 'b', 'storage_bytes', 'paid', 'GB-month', near(1), near(2), near(2), near(8 / 3), near(10.5), near(10.5), true),
      // f's active_users drive no rule: no metric cost; its cost 1 over 0.5 x 1,000 users = 2.
      row('2026-01', 'f', 'active_users', 'free', '1,000 active_users', near(0.5), near(0), near(0), near(0), near(1), near(2), true),
      // February: a was charged for requests (the window) without using any: no units, no price.
      row('2026-02', 'a', 'requests', 'paid', '1,000 requests', near(0), near(0.7), null, null, near(1.7), null, false),
      row('2026-02', 'a', 'storage_bytes', 'paid', 'GB-month', near(1), near(1), near(1), near(1), near(1.7), near(1.7), false),
    ]);
    // Over all customers, a metric's cost and units are unit_cost's (summed over rules and services).
    const units = await runFinanceView(engine, 'unit_cost');
    for (const metric of ['requests', 'storage_bytes']) {
      const total = (list: readonly Row[], column: string) =>
        list
          .filter((r) => r.billing_period === '2026-01' && r.metric === metric)
          .reduce((sum, r) => sum + Number(r[column]), 0);
      expect(total(rows, 'metric_cost'), metric).toBeCloseTo(total(units, 'cost'), 9);
    }

    function row(...values: unknown[]): Record<string, unknown> {
      return Object.fromEntries(columns.map((column, i) => [column, values[i]]));
    }
  });
});

describe('cost_reconciliation', () => {
  it('walks from the bill to paid customers, every step with its share, the steps summing to the bill', async () => {
    await load(engine, {
      summaryDays: [
        // January: 30 January only. Bill 100, excluded 10 (tax), unattributed 5 + 3 = 8, customers 82.
        { date: '2026-01-30', total: 100, excluded: 10, unattributed: 8 },
        // 31 January spans two billing periods: daily_summary labels it February, so all its steps count
        // in February (a customer row of the day labelled January follows the day).
        { date: '2026-01-31', period: '2026-02', total: 50, unattributed: 5 },
        { date: '2026-02-01', total: 20, unattributed: 2.5 },
      ],
      unattributed: [
        { date: '2026-01-30', reason: 'unknown_tenant', service: 'AmazonEC2', cost: 5 },
        { date: '2026-01-30', reason: 'no_rule', service: 'AWSKMS', cost: 3 },
        { date: '2026-01-31', reason: 'no_usage_signal', service: 'AmazonS3', cost: 4 },
        { date: '2026-01-31', reason: 'no_active_customers', service: 'AmazonCloudWatch', cost: 1 },
        { date: '2026-02-01', reason: 'no_revenue', service: 'AmazonCloudWatch', cost: 2 },
        // A reason this view does not name still counts, as other_reason.
        { date: '2026-02-01', reason: 'some_new_reason', service: 'AmazonCloudWatch', cost: 0.5 },
      ],
      customerDays: [
        // 30 January: paid p1 50, trial t1 20, free f1 12 = 82.
        { date: '2026-01-30', id: 'p1', direct: 50 },
        { date: '2026-01-30', id: 't1', plan: 'trial', direct: 20 },
        { date: '2026-01-30', id: 'f1', plan: 'free', direct: 12 },
        // 31 January (February's): p1 30, t1 5 (still trial), f1 10 = 45 = 50 - 5.
        { date: '2026-01-31', period: '2026-01', id: 'p1', direct: 30 },
        { date: '2026-01-31', period: '2026-02', id: 't1', plan: 'trial', direct: 5 },
        { date: '2026-01-31', period: '2026-02', id: 'f1', plan: 'free', direct: 10 },
        // 1 February: p1 10, t1 7.5 now paid = 17.5 = 20 - 2.5. t1 is paid in February (its latest day).
        { date: '2026-02-01', id: 'p1', direct: 10 },
        { date: '2026-02-01', id: 't1', plan: 'paid', direct: 7.5 },
      ],
    });
    const rows = await runFinanceView(engine, 'cost_reconciliation');
    expect(rows).toEqual([
      {
        billing_period: '2026-01',
        days: 1,
        bill_total: 100,
        excluded_cost: 10,
        excluded_share: near(0.1),
        attributable_cost: 90,
        attributable_share: near(0.9),
        unattributed_cost: 8,
        unattributed_share: near(0.08),
        unknown_tenant_cost: 5,
        unknown_tenant_share: near(0.05),
        no_rule_cost: 3,
        no_rule_share: near(0.03),
        no_usage_signal_cost: 0,
        no_usage_signal_share: near(0),
        no_active_customers_cost: 0,
        no_active_customers_share: near(0),
        no_revenue_cost: 0,
        no_revenue_share: near(0),
        other_reason_cost: 0,
        other_reason_share: near(0),
        // t1 20 + f1 12 = 32.
        free_trial_cost: 32,
        free_trial_share: near(0.32),
        free_trial_customers: 2,
        paid_cost: 50,
        paid_share: near(0.5),
        paid_customers: 1,
        unreconciled_cost: near(0),
        // Data ends on the 30th, but February follows.
        is_complete: true,
      },
      {
        // 31 January and 1 February: bill 70, nothing excluded; unattributed 4 + 1 + 2 + 0.5 = 7.5.
        billing_period: '2026-02',
        days: 2,
        bill_total: 70,
        excluded_cost: 0,
        excluded_share: near(0),
        attributable_cost: 70,
        attributable_share: near(1),
        unattributed_cost: 7.5,
        unattributed_share: near(7.5 / 70),
        unknown_tenant_cost: 0,
        unknown_tenant_share: near(0),
        no_rule_cost: 0,
        no_rule_share: near(0),
        no_usage_signal_cost: 4,
        no_usage_signal_share: near(4 / 70),
        no_active_customers_cost: 1,
        no_active_customers_share: near(1 / 70),
        no_revenue_cost: 2,
        no_revenue_share: near(2 / 70),
        other_reason_cost: 0.5,
        other_reason_share: near(0.5 / 70),
        // Free/trial: f1 10 (t1 turned paid). Paid: p1 30 + 10 = 40 and t1 5 + 7.5 = 12.5 -> 52.5.
        free_trial_cost: 10,
        free_trial_share: near(10 / 70),
        free_trial_customers: 1,
        paid_cost: 52.5,
        paid_share: near(52.5 / 70),
        paid_customers: 2,
        unreconciled_cost: near(0),
        is_complete: false,
      },
    ]);
    // The waterfall closes: excluded + unattributed + free/trial + paid = bill, and the shares make 1;
    // the reasons make the unattributed step.
    for (const r of rows) {
      const steps = ['excluded_cost', 'unattributed_cost', 'free_trial_cost', 'paid_cost'];
      const shares = ['excluded_share', 'unattributed_share', 'free_trial_share', 'paid_share'];
      const reasons = [
        'unknown_tenant',
        'no_rule',
        'no_usage_signal',
        'no_active_customers',
        'no_revenue',
        'other_reason',
      ];
      const sum = (columns: string[]) => columns.reduce((total, column) => total + Number(r[column]), 0);
      expect(sum(steps)).toBeCloseTo(Number(r.bill_total), 9);
      expect(sum(shares)).toBeCloseTo(1, 12);
      expect(sum(reasons.map((reason) => `${reason}_cost`))).toBeCloseTo(Number(r.unattributed_cost), 9);
    }
  });

  it('shows what does not reconcile instead of hiding it', async () => {
    // Results that break conservation (a run refuses to publish them): 100 billed, 90 reaches customers,
    // nothing else. The 10 missing shows as unreconciled_cost.
    await load(engine, {
      summaryDays: [{ date: '2026-01-31', total: 100 }],
      customerDays: [{ date: '2026-01-31', id: 'p1', direct: 90 }],
    });
    const rows = await runFinanceView(engine, 'cost_reconciliation');
    expect(pick(rows, ['billing_period', 'paid_cost', 'paid_share', 'unreconciled_cost'])).toEqual([
      { billing_period: '2026-01', paid_cost: 90, paid_share: near(0.9), unreconciled_cost: near(10) },
    ]);
  });
});

describe('cpc query over the Parquet files of a run', () => {
  /** Writes the current source tables as a run's output directory would hold them. */
  async function writeRun(dir: string, withCustomers: boolean, withUsage = true): Promise<void> {
    mkdirSync(dir, { recursive: true });
    const files: Record<string, string> = {
      customer_daily_cost: 'customer_daily_cost.parquet',
      customer_daily_service_cost: 'customer_daily_service_cost.parquet',
      unattributed_cost: 'unattributed.parquet',
      daily_summary: 'daily_summary.parquet',
      ...(withUsage ? { customer_daily_usage: 'customer_daily_usage.parquet' } : {}),
    };
    for (const [name, file] of Object.entries(files)) {
      await engine.run(
        `COPY ${sqlIdentifier(name).sql} TO ${sqlString(join(dir, file)).sql} (FORMAT parquet)`,
      );
    }
    if (withCustomers) {
      mkdirSync(join(dir, 'input'), { recursive: true });
      writeFileSync(
        join(dir, 'input', 'customers.csv'),
        'customer_id,name,tier,plan_status,mrr,start_date\nacme,Acme,growth,paid,1000,2026-01-01\n',
      );
    }
  }

  it('prints a view as a table and writes it as CSV with plain decimals', async () => {
    await load(engine, {
      customerDays: [
        // A tiny cost, 1e-7 against MRR 1: cost / MRR 1e-7, written 0.0000001, never in exponent form;
        // margin 1 - 1e-7 = 0.9999999.
        { date: '2026-01-31', id: 'acme', mrr: 1, direct: 1e-7 },
        // 250.75 / 1003 = 0.25 exactly, margin 0.75.
        { date: '2026-01-31', id: 'bolt', mrr: 1003, direct: 250.5, shared: 0.25 },
      ],
      unattributed: [{ date: '2026-01-31', reason: 'no_rule', service: 'AWSKMS', cost: 1 }],
      summaryDays: [{ date: '2026-01-31', total: 251.75 + 1e-7 }],
    });
    const dir = join(tempDir(), 'out');
    await writeRun(dir, false);

    const printed = await queryCommand({ view: 'customer_monthly_cost', outDir: dir });
    expect(printed.rowCount).toBe(2);
    // Rows stay unrounded; only the text rounds (to 2 decimals).
    expect(printed.rows[1]?.total_cost).toBeCloseTo(250.75, 12);
    const lines = printed.text.split('\n');
    expect(lines[0]).toMatch(
      /^billing_period\s+customer_id\s+customer_name\s+tier\s+plan_status\s+days_with_cost/,
    );
    expect(lines[2]).toContain('0.00');
    expect(lines[3]).toContain('250.75');
    expect(lines.at(-1)).toBe('(2 rows)');
    // The view unattributed_cost reads the results table of the same name.
    const unattributed = await queryCommand({ view: 'unattributed_cost', outDir: dir });
    expect(pick(unattributed.rows, ['reason', 'cost'])).toEqual([{ reason: 'no_rule', cost: 1 }]);

    const csv = join(dir, 'monthly.csv');
    const written = await queryCommand({ view: 'customer_monthly_cost', outDir: dir, csv });
    expect(written.rowCount).toBe(2);
    expect(written.text).toContain('Wrote 2 rows');
    expect(readFileSync(csv, 'utf8').trim().split('\n')).toEqual([
      'billing_period,customer_id,customer_name,tier,plan_status,days_with_cost,direct_cost,shared_cost,total_cost,mrr,cost_to_mrr,margin,is_complete',
      '2026-01,acme,Name of acme,growth,paid,1,0.0000001,0,0.0000001,1,0.0000001,0.9999999,true',
      '2026-01,bolt,Name of bolt,growth,paid,1,250.5,0.25,250.75,1003,0.25,0.75,true',
    ]);
  });

  it('needs the customer dimension for active customers, from --customers or the demo inputs', async () => {
    await load(engine, { summaryDays: [{ date: '2026-01-31', total: 10 }] });
    const bare = join(tempDir(), 'out');
    await writeRun(bare, false);
    await expect(queryCommand({ view: 'cost_growth_vs_customer_growth', outDir: bare })).rejects.toThrow(
      /needs the customer dimension: pass --customers/,
    );
    const demo = join(tempDir(), 'out');
    await writeRun(demo, true);
    // From <out>/input/customers.csv, as the demo leaves it: acme active on 31 January.
    const fromDemo = await queryCommand({ view: 'cost_growth_vs_customer_growth', outDir: demo });
    expect(pick(fromDemo.rows, ['usage_date', 'cost_90d', 'active_customers'])).toEqual([
      { usage_date: '2026-01-31', cost_90d: 10, active_customers: 1 },
    ]);
    // --customers names the file explicitly.
    const explicit = await queryCommand({
      view: 'cost_growth_vs_customer_growth',
      outDir: bare,
      customers: join(demo, 'input', 'customers.csv'),
    });
    expect(explicit.rows[0]?.active_customers).toBe(1);
  });

  it('runs the unit-cost views on the usage a run published, and names the file a run without it lacks', async () => {
    await load(engine, unitResults);
    const withUsage = join(tempDir(), 'out');
    await writeRun(withUsage, false);
    // unit_cost's first row, from the hand-worked test above: Lambda 4 over 6 x 1,000 requests.
    const units = await queryCommand({ view: 'unit_cost', outDir: withUsage });
    expect(units.rowCount).toBe(6);
    expect(units.rows[0]).toMatchObject({ service: 'AWSLambda', units: 6, cost_per_unit: near(4 / 6) });
    // A run written before customer_daily_usage was published: the views that do not read it still run.
    const before = join(tempDir(), 'out');
    await writeRun(before, false, false);
    await expect(queryCommand({ view: 'unit_cost', outDir: before })).rejects.toThrow(
      /customer_daily_usage\.parquet: view unit_cost reads customer_daily_usage, which this run did not write/,
    );
    await expect(queryCommand({ view: 'customer_unit_cost', outDir: before })).rejects.toThrow(
      /customer_daily_usage/,
    );
    const reconciliation = await queryCommand({ view: 'cost_reconciliation', outDir: before });
    expect(pick(reconciliation.rows, ['billing_period', 'paid_cost'])).toEqual([
      // a and b are paid: January 47.5 + 10.5 = 58, February 1.7.
      { billing_period: '2026-01', paid_cost: near(58) },
      { billing_period: '2026-02', paid_cost: near(1.7) },
    ]);
  });

  it('refuses an unknown view and a directory that is not a run', async () => {
    await expect(queryCommand({ view: 'margins', outDir: tempDir() })).rejects.toThrow(
      /unknown finance view "margins"; the views are customer_monthly_cost, tier_margin/,
    );
    await expect(queryCommand({ view: 'tier_margin', outDir: tempDir() })).rejects.toThrow(
      /customer_daily_cost\.parquet: results file not found/,
    );
  });

  it('creates every view in the finance schema over the loaded tables', async () => {
    await load(engine, {
      customerDays: [{ date: '2026-01-31', id: 'acme', direct: 1 }],
      customers: [{ id: 'acme' }],
    });
    await createFinanceViews(engine);
    for (const name of FINANCE_VIEW_NAMES) {
      const rows = await engine.query(`SELECT count(*) AS n FROM finance.${sqlIdentifier(name).sql}`);
      // No service rows, no unattributed rows, no usage, and one customer cannot be an outlier of its tier.
      const empty = [
        'customer_service_breakdown',
        'unattributed_cost',
        'cost_outliers',
        'unit_cost',
        'customer_unit_cost',
      ].includes(name);
      expect({ name, n: Number(rows[0]?.n) }).toEqual({ name, n: empty ? 0 : 1 });
    }
  });
});
