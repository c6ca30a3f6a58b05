import { describe, expect, it } from 'vitest';
import { parseCustomersCsv } from '../../lib/inputs/customers.ts';
import { checkCustomersFile } from '../../lib/pipeline/prepare-run.ts';
import {
  type CustomerNow,
  customersInForce,
  customersWithVersions,
  monthlyRevenue,
  type StripePrice,
  type StripeSubscription,
  stripeSync,
} from '../../lib/pipeline/stripe-mrr.ts';

const price = (
  unitAmount: number | null,
  interval: 'week' | 'month' | 'year',
  intervalCount = 1,
  extra: Partial<StripePrice> = {},
): StripePrice => ({
  unit_amount: unitAmount,
  currency: 'usd',
  recurring: { interval, interval_count: intervalCount, usage_type: 'licensed' },
  ...extra,
});

let next = 0;
const subscription = (
  customerId: string | undefined,
  items: { quantity?: number; price: StripePrice }[],
  extra: Partial<StripeSubscription> = {},
): StripeSubscription => ({
  id: `sub_${++next}`,
  status: 'active',
  customer: { id: `cus_${customerId ?? next}`, metadata: customerId ? { cpc_customer_id: customerId } : {} },
  items: { data: items },
  ...extra,
});

describe('monthly revenue of a Stripe subscription', () => {
  it('normalises each interval to a month: quantity x unit amount, week x 52/12, year / 12, / interval_count', () => {
    // 3 seats at $50.00 a month: 150. $1,200.00 a year: 100. $10.00 a week: 10 x 52 / 12 = 43.33...
    // $300.00 every 3 months: 100. Amounts are in cents.
    expect(monthlyRevenue(subscription('a', [{ quantity: 3, price: price(5000, 'month') }]))).toBe(150);
    expect(monthlyRevenue(subscription('a', [{ price: price(120_000, 'year') }]))).toBe(100);
    expect(monthlyRevenue(subscription('a', [{ price: price(1000, 'week') }]))).toBeCloseTo(520 / 12, 10);
    expect(monthlyRevenue(subscription('a', [{ price: price(30_000, 'month', 3) }]))).toBe(100);
    // Two years for $4,800.00: 4800 / 24 = 200.
    expect(monthlyRevenue(subscription('a', [{ price: price(480_000, 'year', 2) }]))).toBe(200);
  });

  it('lowers MRR by a forever coupon only, percent or amount', () => {
    const monthly = [{ price: price(10_000, 'month') }];
    const coupon = (
      duration: 'forever' | 'once' | 'repeating',
      percentOff: number | null,
      amountOff: number | null,
    ) => ({
      coupon: { duration, percent_off: percentOff, amount_off: amountOff },
    });
    expect(monthlyRevenue(subscription('a', monthly, { discount: coupon('forever', 20, null) }))).toBe(80);
    expect(monthlyRevenue(subscription('a', monthly, { discount: coupon('repeating', 50, null) }))).toBe(100);
    expect(monthlyRevenue(subscription('a', monthly, { discount: coupon('once', null, 5000) }))).toBe(100);
    // $10.00 off every yearly invoice of $1,200.00: 100 - 10 / 12.
    const yearly = [{ price: price(120_000, 'year') }];
    expect(
      monthlyRevenue(subscription('a', yearly, { discount: coupon('forever', null, 1000) })),
    ).toBeCloseTo(100 - 10 / 12, 10);
  });

  it('leaves out trials, metered items and free prices; counts past-due; reads yen as whole units', () => {
    const paid = { price: price(10_000, 'month') };
    expect(monthlyRevenue(subscription('a', [paid], { status: 'trialing' }))).toBe(0);
    expect(monthlyRevenue(subscription('a', [paid], { status: 'canceled' }))).toBe(0);
    expect(monthlyRevenue(subscription('a', [paid], { status: 'past_due' }))).toBe(100);
    const metered = {
      price: price(2, 'month', 1, {
        recurring: { interval: 'month', interval_count: 1, usage_type: 'metered' },
      }),
    };
    const free = { price: price(0, 'month') };
    expect(monthlyRevenue(subscription('a', [paid, metered, free]))).toBe(100);
    expect(monthlyRevenue(subscription('a', [{ price: price(5000, 'month', 1, { currency: 'jpy' }) }]))).toBe(
      5000,
    );
  });
});

describe('customer versions from Stripe', () => {
  const customers: CustomerNow[] = [
    { customerId: 'acme', tier: 'enterprise', planStatus: 'paid', mrr: 150 },
    { customerId: 'beta', tier: 'growth', planStatus: 'paid', mrr: 100 },
    { customerId: 'gamma', tier: 'self-serve', planStatus: 'trial', mrr: 0 },
  ];

  it('writes a version only for what changed, summing a customer subscriptions', () => {
    const sync = stripeSync(
      [
        // acme: 150 as before, across two subscriptions (100 + 50): unchanged, no version.
        subscription('acme', [{ price: price(10_000, 'month') }]),
        subscription('acme', [{ price: price(60_000, 'year') }]),
        // beta: 2 seats of $60: 120, changed.
        subscription('beta', [{ quantity: 2, price: price(6000, 'month') }]),
        // gamma converts from its trial, on a price that names its tier.
        subscription('gamma', [{ price: price(4900, 'month', 1, { metadata: { cpc_tier: 'growth' } }) }]),
        subscription(undefined, [{ price: price(100, 'month') }]),
        subscription('zeta', [{ price: price(100, 'month') }]),
      ],
      customers,
      '2026-12-02',
    );
    expect(sync.changes).toEqual([
      { customerId: 'beta', effectiveFrom: '2026-12-02', tier: 'growth', planStatus: 'paid', mrr: 120 },
      { customerId: 'gamma', effectiveFrom: '2026-12-02', tier: 'growth', planStatus: 'paid', mrr: 49 },
    ]);
    expect(sync.unknown).toEqual(['zeta']);
    expect(sync.unmapped).toHaveLength(1);
  });

  it('writes nothing when Stripe says what the customers file says', () => {
    const sync = stripeSync(
      [
        subscription('acme', [{ quantity: 3, price: price(5000, 'month') }]),
        subscription('beta', [{ price: price(120_000, 'year') }]),
        subscription('gamma', [{ price: price(4900, 'month') }], { status: 'trialing' }),
      ],
      customers,
      '2026-12-02',
    );
    expect(sync.changes).toEqual([]);
  });
});

describe('the customers file with Stripe versions', () => {
  const file = [
    'customer_id,tenant_id,name,tier,plan_status,mrr,start_date,end_date,owner_team',
    'acme,acme-eu,"Acme, Inc.",enterprise,paid,1000,2026-01-01,,team-data',
    'acme,acme-us,"Acme, Inc.",enterprise,paid,1000,2026-01-01,,team-data',
    'globex,,Globex,growth,trial,0,,,',
  ].join('\n');
  const tenants = parseCustomersCsv(file, 'customers.csv');

  it('takes the version in force today', () => {
    const versioned = parseCustomersCsv(
      [
        'customer_id,name,tier,plan_status,mrr,effective_from',
        'a,A,growth,paid,100,',
        'a,A,growth,paid,150,2026-10-15',
        'a,A,growth,paid,200,2026-12-01',
        'b,B,growth,paid,50,2026-12-01',
      ].join('\n'),
      'c.csv',
    );
    expect(customersInForce(versioned, '2026-11-20')).toEqual([
      { customerId: 'a', tier: 'growth', planStatus: 'paid', mrr: 150 },
    ]);
    expect(customersInForce(versioned, '2026-12-01').map((c) => c.mrr)).toEqual([200, 50]);
  });

  it('appends a version from today for each change, one row per tenant, and the file stays valid', () => {
    const text = customersWithVersions(tenants, [
      {
        customerId: 'acme',
        effectiveFrom: '2026-12-03',
        tier: 'enterprise',
        planStatus: 'paid',
        mrr: 1250.5,
      },
      { customerId: 'globex', effectiveFrom: '2026-12-03', tier: 'growth', planStatus: 'paid', mrr: 99 },
    ]);
    expect(text).toBe(
      [
        'customer_id,tenant_id,name,tier,plan_status,mrr,start_date,end_date,owner_team,effective_from',
        'acme,acme-eu,"Acme, Inc.",enterprise,paid,1000,2026-01-01,,team-data,',
        'acme,acme-us,"Acme, Inc.",enterprise,paid,1000,2026-01-01,,team-data,',
        'globex,globex,Globex,growth,trial,0,,,,',
        'acme,acme-eu,"Acme, Inc.",enterprise,paid,1250.5,2026-01-01,,team-data,2026-12-03',
        'acme,acme-us,"Acme, Inc.",enterprise,paid,1250.5,2026-01-01,,team-data,2026-12-03',
        'globex,globex,Globex,growth,paid,99,,,,2026-12-03',
        '',
      ].join('\n'),
    );
    // The runs read it: October still at 1000, December at 1250.50.
    const again = checkCustomersFile(text, 'new.csv');
    expect(again.tenants).toBe(6);
    const parsed = parseCustomersCsv(text, 'new.csv');
    expect(customersInForce(parsed, '2026-10-31').find((c) => c.customerId === 'acme')?.mrr).toBe(1000);
    expect(customersInForce(parsed, '2026-12-03').find((c) => c.customerId === 'acme')?.mrr).toBe(1250.5);
  });

  it('replaces a version of the same day rather than adding a second one', () => {
    const first = parseCustomersCsv(
      customersWithVersions(tenants, [
        { customerId: 'globex', effectiveFrom: '2026-12-03', tier: 'growth', planStatus: 'paid', mrr: 99 },
      ]),
      'first.csv',
    );
    const second = customersWithVersions(first, [
      { customerId: 'globex', effectiveFrom: '2026-12-03', tier: 'growth', planStatus: 'paid', mrr: 120 },
    ]);
    expect(second.split('\n').filter((line) => line.startsWith('globex'))).toEqual([
      'globex,globex,Globex,growth,trial,0,,,,',
      'globex,globex,Globex,growth,paid,120,,,,2026-12-03',
    ]);
    expect(checkCustomersFile(second, 'second.csv').tenants).toBe(4);
  });
});
