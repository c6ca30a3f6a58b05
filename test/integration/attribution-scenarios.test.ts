import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import { sqlString } from '../../lib/sql/sql-template.ts';
import type { TestCustomer, TestLineItem, TestUsage } from '../support/fixtures.ts';
import {
  type BillingFixture,
  costByCustomer,
  readCsv,
  runScenario,
  unattributedByReason,
} from '../support/run-scenario.ts';

const D1 = '2026-10-01';
const D2 = '2026-10-02';
const D3 = '2026-10-03';

/**
 * acme owns two tenants; beta's tenant id is left empty (= customer id); gamma starts on D3; delta (a
 * trial) ends on D1. Active: D1 acme, beta, delta; D2 acme, beta; D3 acme, beta, gamma.
 */
const customers: TestCustomer[] = [
  { id: 'acme', tenant: 'acme-eu', tier: 'enterprise', mrr: 10_000 },
  { id: 'acme', tenant: 'acme-us', tier: 'enterprise', mrr: 10_000 },
  { id: 'beta', tier: 'growth', mrr: 2_000, start: D1 },
  { id: 'gamma', tier: 'self-serve', mrr: 100, start: D3 },
  { id: 'delta', tier: 'self-serve', plan: 'trial', mrr: 0, end: D1 },
];

const items: TestLineItem[] = [
  // D1 direct: acme 10 + 5 over two tenants, beta 4 (+1 with a padded tag), 3 to an unknown tenant.
  { date: D1, service: 'AmazonEC2', cost: 10, tenant: 'acme-eu' },
  { date: D1, service: 'AmazonEC2', cost: 5, tenant: 'acme-us' },
  { date: D1, service: 'AmazonRDS', cost: 4, tenant: 'beta' },
  { date: D1, service: 'AmazonRDS', cost: 1, tenant: '  beta  ' },
  { date: D1, service: 'AmazonEC2', cost: 3, tenant: 'ghost' },
  // D1 pools: requests 12, storage_bytes 9, even 30; tax 5 is excluded even though it is tagged.
  { date: D1, service: 'AmazonEC2', cost: 12 },
  { date: D1, service: 'AmazonS3', cost: 9 },
  { date: D1, service: 'AmazonCloudWatch', cost: 30 },
  { date: D1, service: 'AmazonEC2', cost: 5, type: 'Tax', tenant: 'acme-eu' },
  // D2: storage has no telemetry at all, requests sum to zero, even 4 over acme and beta.
  { date: D2, service: 'AmazonS3', cost: 8 },
  { date: D2, service: 'AmazonEC2', cost: 6 },
  { date: D2, service: 'AmazonCloudWatch', cost: 4 },
  // D3: even 9 over acme, beta, gamma; Lambda 7 by requests, beta 1 : gamma 1.
  { date: D3, service: 'AmazonCloudWatch', cost: 9 },
  { date: D3, service: 'AWSLambda', cost: 7 },
];

const usage: TestUsage[] = [
  { date: D1, tenant: 'acme-eu', metric: 'requests', quantity: 30 },
  { date: D1, tenant: 'acme-us', metric: 'requests', quantity: 10 },
  { date: D1, tenant: 'beta', metric: 'requests', quantity: 20 },
  { date: D1, tenant: 'canary', metric: 'requests', quantity: 60 },
  { date: D1, tenant: 'acme-eu', metric: 'storage_bytes', quantity: 1 },
  // Two observations of one (day, tenant, metric) are summed: beta stores 2.
  { date: D1, tenant: 'beta', metric: 'storage_bytes', quantity: 1.5 },
  { date: D1, tenant: 'beta', metric: 'storage_bytes', quantity: 0.5 },
  { date: D2, tenant: 'acme-us', metric: 'requests', quantity: 0 },
  { date: D2, tenant: 'beta', metric: 'requests', quantity: 0 },
  { date: D3, tenant: 'beta', metric: 'requests', quantity: 1 },
  { date: D3, tenant: 'gamma', metric: 'requests', quantity: 1 },
];

describe('attribution of a hand-worked month', () => {
  const fixtures: BillingFixture[] = [
    'cur2-parquet',
    'cur2-csv',
    'legacy-parquet',
    'focus-csv',
    'focus-parquet',
  ];

  it.each(fixtures)('gives the hand-worked numbers from %s billing data', async (fixture) => {
    const out = await runScenario({ items, usage, customers, fixture });

    // D1. acme: direct 10 + 5 = 15; requests 12 x (30 + 10) / 120 = 4; storage 9 x 1 / 3 = 3;
    // even 30 / 3 active = 10; shared 17; total 32.
    // beta: direct 4 + 1 = 5; requests 12 x 20 / 120 = 2; storage 9 x 2 / 3 = 6; even 10; total 23.
    // delta (last day D1): even 10. gamma is not active yet: nothing.
    expect(costByCustomer(out.customerDaily, D1, 'direct_cost')).toEqual({ acme: 15, beta: 5, delta: 0 });
    expect(costByCustomer(out.customerDaily, D1, 'shared_cost')).toEqual({ acme: 17, beta: 18, delta: 10 });
    expect(costByCustomer(out.customerDaily, D1)).toEqual({ acme: 32, beta: 23, delta: 10 });
    // Unknown tenants: 3 tagged "ghost" + the canary's requests share 12 x 60 / 120 = 6.
    expect(unattributedByReason(out.unattributed, D1)).toEqual({ unknown_tenant: 9 });

    // D2. Storage 8 has no signal at all and requests 6 have a zero signal: 14 unattributed.
    // Even 4 / 2 active = 2 each.
    expect(costByCustomer(out.customerDaily, D2)).toEqual({ acme: 2, beta: 2 });
    expect(unattributedByReason(out.unattributed, D2)).toEqual({ no_usage_signal: 14 });

    // D3. Even 9 / 3 = 3 each; Lambda 7 / 2 = 3.5 to beta and to gamma.
    expect(costByCustomer(out.customerDaily, D3)).toEqual({ acme: 3, beta: 6.5, gamma: 6.5 });

    // Daily summary. D1: 10+5+4+1+3+12+9+30+5 = 79, excluded 5, unattributed 9 of 74.
    const d1 = out.summary.find((r) => r.usage_date === D1);
    expect(Number(d1?.total_cost)).toBe(79);
    expect(Number(d1?.direct_cost)).toBe(20);
    expect(Number(d1?.shared_cost)).toBe(45);
    expect(Number(d1?.unattributed_cost)).toBe(9);
    expect(Number(d1?.excluded_cost)).toBe(5);
    expect(Number(d1?.unattributed_pct)).toBeCloseTo(9 / 74, 15);
    const d2 = out.summary.find((r) => r.usage_date === D2);
    expect(Number(d2?.unattributed_pct)).toBeCloseTo(14 / 18, 15);
    expect(out.summary.map((r) => r.usage_date)).toEqual([D1, D2, D3]);
  });

  it('breaks each customer day down by service, rule and driver', async () => {
    const out = await runScenario({ items, usage, customers });
    const acmeD1 = out.serviceCost
      .filter((r) => r.usage_date === D1 && r.customer_id === 'acme')
      .map((r) => [r.service, r.rule_id, r.driver, Number(r.cost)]);
    expect(acmeD1).toEqual([
      ['AmazonCloudWatch', 'everything-else', 'even', 10],
      ['AmazonEC2', 'compute-network', 'requests', 4],
      ['AmazonEC2', 'direct', 'tag', 15],
      ['AmazonS3', 'data-stores', 'storage_bytes', 3],
    ]);
    // The breakdown adds up to the customer's day: 10 + 4 + 15 + 3 = 32.
    expect(acmeD1.reduce((sum, row) => sum + (row[3] as number), 0)).toBe(32);
  });

  it('writes the exact columns of the local-run spec, with rules version and run id', async () => {
    const out = await runScenario({ items, usage, customers });
    expect(Object.keys(out.customerDaily[0] ?? {})).toEqual([
      'usage_date',
      'customer_id',
      'customer_name',
      'tier',
      'plan_status',
      'mrr',
      'direct_cost',
      'shared_cost',
      'total_cost',
      'rules_version',
      'run_id',
    ]);
    expect(Object.keys(out.serviceCost[0] ?? {})).toEqual([
      'usage_date',
      'customer_id',
      'provider',
      'service',
      'rule_id',
      'driver',
      'cost',
    ]);
    expect(Object.keys(out.summary[0] ?? {})).toEqual([
      'usage_date',
      'total_cost',
      'direct_cost',
      'shared_cost',
      'unattributed_cost',
      'excluded_cost',
      'unattributed_pct',
    ]);
    expect(Object.keys(out.unattributed[0] ?? {})).toEqual([
      'usage_date',
      'reason',
      'provider',
      'service',
      'cost',
    ]);
    const acme = out.customerDaily.find((r) => r.customer_id === 'acme');
    expect(acme).toMatchObject({
      tier: 'enterprise',
      plan_status: 'paid',
      mrr: '10000',
      rules_version: '2026-11-default-1',
      run_id: 'test-run',
    });
  });

  it('leaves an even pool unattributed on a day with no active customer', async () => {
    const out = await runScenario({
      items: [
        { date: D1, service: 'AmazonCloudWatch', cost: 6 },
        { date: D2, service: 'AmazonCloudWatch', cost: 6 },
      ],
      customers: [{ id: 'late', start: D2 }],
    });
    expect(unattributedByReason(out.unattributed, D1)).toEqual({ no_active_customers: 6 });
    expect(costByCustomer(out.customerDaily, D1)).toEqual({});
    expect(costByCustomer(out.customerDaily, D2)).toEqual({ late: 6 });
  });

  it('counts a usage day in the billing month of its calendar month when any of its lines is billed there', async () => {
    // 30 September: 1 billed in September and 2 billed in October (a charge for that day billed late, as
    // the FOCUS sample's Oracle line is). 1 October: 3 billed in October. 31 August: 4 billed in
    // September only, so it keeps the period of its lines.
    const out = await runScenario({
      items: [
        { date: '2026-08-31', service: 'AmazonEC2', cost: 4, tenant: 'a', billingPeriod: '2026-09-01' },
        { date: '2026-09-30', service: 'AmazonEC2', cost: 1, tenant: 'a' },
        { date: '2026-09-30', service: 'AmazonS3', cost: 2, tenant: 'a', billingPeriod: '2026-10-01' },
        { date: '2026-10-01', service: 'AmazonEC2', cost: 3, tenant: 'a' },
      ],
      customers: [{ id: 'a', start: '2026-08-01' }],
    });
    const engine = await DuckDbEngine.create({ threads: 1 });
    try {
      const labels = async (file: string, cost: string) =>
        (
          await engine.query(
            `SELECT CAST(usage_date AS varchar) AS day, billing_period, sum(${cost}) AS cost FROM read_parquet(${sqlString(join(out.outDir, file)).sql}) GROUP BY ALL ORDER BY day`,
          )
        ).map((row) => [row.day, row.billing_period, Number(row.cost)]);
      const expected = [
        ['2026-08-31', '2026-09', 4],
        // All of 30 September's 3 counts in September, which bills part of it.
        ['2026-09-30', '2026-09', 3],
        ['2026-10-01', '2026-10', 3],
      ];
      expect(await labels('daily_summary.parquet', 'total_cost')).toEqual(expected);
      expect(await labels('customer_daily_cost.parquet', 'total_cost')).toEqual(expected);
      expect(await labels('customer_daily_service_cost.parquet', 'cost')).toEqual(expected);
    } finally {
      engine.close();
    }
  });

  it('counts a streamed record once however often it was delivered (event_id)', async () => {
    // EC2 12 shared by requests. a's record e1 was delivered twice (a retried put): a used 10, not 20.
    // b: e2 10 and 10 without an id (rows without one are all counted) = 20. So a 12 x 10/30 = 4, b 8.
    // Counted twice, a would have 20 of 40 and 6.
    const out = await runScenario({
      items: [{ date: D1, service: 'AmazonEC2', cost: 12 }],
      usage: [
        { date: D1, tenant: 'a', metric: 'requests', quantity: 10, eventId: 'e1' },
        { date: D1, tenant: 'a', metric: 'requests', quantity: 10, eventId: 'e1' },
        { date: D1, tenant: 'b', metric: 'requests', quantity: 10, eventId: 'e2' },
        { date: D1, tenant: 'b', metric: 'requests', quantity: 10 },
      ],
      customers: [{ id: 'a' }, { id: 'b' }],
    });
    expect(costByCustomer(out.customerDaily, D1)).toEqual({ a: 4, b: 8 });
    const usage = readCsv(join(out.outDir, 'customer_daily_usage.csv')).map((row) => [
      row.customer_id,
      Number(row.quantity),
    ]);
    expect(usage).toEqual([
      ['a', 10],
      ['b', 20],
    ]);
  });

  it('keeps money exact for shares that do not divide evenly', async () => {
    // 1.00 over three equal users: each 1/3; the three shares still add up to the pool.
    const out = await runScenario({
      items: [{ date: D1, service: 'AmazonEC2', cost: 1 }],
      usage: ['a', 'b', 'c'].map((tenant) => ({ date: D1, tenant, metric: 'requests', quantity: 7 })),
      customers: [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
    });
    const shares = out.customerDaily.map((r) => Number(r.total_cost));
    expect(shares).toHaveLength(3);
    for (const share of shares) expect(share).toBeCloseTo(1 / 3, 15);
    expect(Math.abs(shares.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-12);
    // Unrounded and plain: 0.3333333333333333, never 3.33e-1.
    expect(out.customerDaily[0]?.total_cost).toMatch(/^0\.3333333333333333\d*$/);
  });
});

describe('cost bases on savings plan and reserved instance line items', () => {
  const sp = 'arn:aws:savingsplans::111122223333:savingsplan/sp-1';
  const ri = 'arn:aws:rds:us-east-1:111122223333:ri:ri-1';
  const basisItems: TestLineItem[] = [
    {
      date: D1,
      service: 'AmazonEC2',
      type: 'SavingsPlanCoveredUsage',
      tenant: 'acme-eu',
      cost: 10,
      savingsPlanEffectiveCost: 7,
      savingsPlanNetEffectiveCost: 6.5,
    },
    { date: D1, service: 'AmazonEC2', type: 'SavingsPlanNegation', cost: -10 },
    {
      date: D1,
      service: 'ComputeSavingsPlans',
      type: 'SavingsPlanRecurringFee',
      cost: 8,
      savingsPlanTotalCommitment: 8,
      savingsPlanUsedCommitment: 7,
    },
    { date: D1, service: 'ComputeSavingsPlans', type: 'SavingsPlanUpfrontFee', cost: 50 },
    {
      date: D1,
      service: 'AmazonRDS',
      type: 'DiscountedUsage',
      tenant: 'beta',
      cost: 5,
      reservationArn: ri,
      reservationEffectiveCost: 3,
      reservationNetEffectiveCost: 2.5,
    },
    {
      date: D1,
      service: 'AmazonRDS',
      type: 'RIFee',
      cost: 20,
      reservationArn: ri,
      reservationUnusedUpfrontFee: 1.5,
      reservationNetUnusedUpfrontFee: 1.2,
      reservationUnusedRecurringFee: 0.5,
    },
    { date: D1, service: 'AmazonRDS', type: 'Fee', cost: 100, reservationArn: ri },
    { date: D1, service: 'AmazonRDS', type: 'Fee', cost: 0.25 },
    { date: D1, service: 'AmazonEC2', type: 'Usage', tenant: 'beta', cost: 4, netCost: 3.6 },
  ];
  const basisUsage: TestUsage[] = [
    { date: D1, tenant: 'acme-eu', metric: 'requests', quantity: 1 },
    { date: D1, tenant: 'beta', metric: 'storage_bytes', quantity: 1 },
  ];
  const basisCustomers: TestCustomer[] = [{ id: 'acme', tenant: 'acme-eu' }, { id: 'beta' }];
  const rulesWith = (costBasis: string) => ({
    version: `basis-${costBasis}`,
    costBasis,
    rules: [
      { id: 'compute', match: { services: ['AmazonEC2'] }, driver: 'requests' },
      { id: 'data', match: { services: ['AmazonRDS'] }, driver: 'storage_bytes' },
      { id: 'rest', match: {}, driver: 'even' },
    ],
  });
  void sp;

  it('amortized: effective costs, unused commitment, fees with a reservation at zero', async () => {
    const out = await runScenario({
      items: basisItems,
      usage: basisUsage,
      customers: basisCustomers,
      rules: rulesWith('amortized'),
    });
    // acme: SP covered 7 (direct); EC2 pool: negation 0; even pool: recurring 8 - 7 = 1 + upfront 0 -> 0.5 each.
    // beta: RI 3 + usage 4 = 7 direct; RDS pool: RIFee 1.5 + 0.5 = 2, RI fee 0, plain fee 0.25 -> 2.25; even 0.5.
    expect(costByCustomer(out.customerDaily, D1)).toEqual({ acme: 7.5, beta: 9.75 });
    expect(costByCustomer(out.customerDaily, D1, 'direct_cost')).toEqual({ acme: 7, beta: 7 });
    expect(Number(out.summary[0]?.total_cost)).toBe(17.25);
  });

  it('net_amortized: net columns, falling back to the non-net column when null', async () => {
    const out = await runScenario({
      items: basisItems,
      usage: basisUsage,
      customers: basisCustomers,
      rules: rulesWith('net_amortized'),
    });
    // acme: SP net 6.5 + even 0.5 = 7. beta: RI net 2.5 + usage net 3.6 = 6.1 direct;
    // RDS pool: RIFee net upfront 1.2 + recurring 0.5 (no net value) = 1.7, plain fee 0.25 (no net) -> 1.95; even 0.5.
    const totals = costByCustomer(out.customerDaily, D1);
    expect(totals.acme).toBeCloseTo(7, 12);
    expect(totals.beta).toBeCloseTo(8.55, 12);
    expect(Number(out.summary[0]?.total_cost)).toBeCloseTo(15.55, 12);
  });

  it('unblended: the billed cost of every line item', async () => {
    const out = await runScenario({
      items: basisItems,
      usage: basisUsage,
      customers: basisCustomers,
      rules: rulesWith('unblended'),
    });
    // acme: 10 direct; EC2 pool -10 (negation) all to acme by requests; even (8 + 50) / 2 = 29 -> 29.
    // beta: 5 + 4 = 9 direct; RDS pool 20 + 100 + 0.25 = 120.25; even 29 -> 158.25.
    expect(costByCustomer(out.customerDaily, D1)).toEqual({ acme: 29, beta: 158.25 });
    expect(Number(out.summary[0]?.total_cost)).toBe(187.25);
  });
});
