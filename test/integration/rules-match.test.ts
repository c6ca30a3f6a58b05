import { describe, expect, it } from 'vitest';
import type { TestCustomer, TestLineItem, TestUsage } from '../support/fixtures.ts';
import {
  type BillingFixture,
  costByCustomer,
  runScenario,
  type ScenarioOutput,
} from '../support/run-scenario.ts';

const D1 = '2026-10-01';

/** Two customers; acme sends 3 of the 4 requests, so a `requests` pool splits 3 : 1, an `even` one 1 : 1. */
const customers: TestCustomer[] = [
  { id: 'acme', tenant: 'acme' },
  { id: 'beta', tenant: 'beta' },
];
const usage: TestUsage[] = [
  { date: D1, tenant: 'acme', metric: 'requests', quantity: 3 },
  { date: D1, tenant: 'beta', metric: 'requests', quantity: 1 },
];

const ALL_FIXTURES: BillingFixture[] = [
  'cur2-parquet',
  'cur2-csv',
  'legacy-parquet',
  'focus-csv',
  'focus-parquet',
];

/** The rule under test shares by requests; whatever it does not match falls to an even catch-all. */
function rulesWith(match: unknown, extra: Record<string, unknown> = {}) {
  return {
    version: 'match-test',
    ...extra,
    rules: [
      { id: 'hit', match, driver: 'requests' },
      { id: 'rest', match: {}, driver: 'even' },
    ],
  };
}

/** The cost each rule shared out on D1, summed over customers. */
function costByRule(out: ScenarioOutput): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const row of out.serviceCost.filter((r) => r.usage_date === D1)) {
    totals[row.rule_id as string] = (totals[row.rule_id as string] ?? 0) + Number(row.cost);
  }
  return totals;
}

/** Conservation on D1: the bill's total is what customers, unattributed and excluded got. */
function expectConserved(out: ScenarioOutput, billTotal: number): void {
  const day = out.summary.find((r) => r.usage_date === D1);
  expect(Number(day?.total_cost)).toBe(billTotal);
  const parts = ['direct_cost', 'shared_cost', 'unattributed_cost', 'excluded_cost'];
  expect(parts.reduce((sum, part) => sum + Number(day?.[part]), 0)).toBe(billTotal);
}

const run = (items: TestLineItem[], rules: unknown, fixture: BillingFixture = 'cur2-parquet') =>
  runScenario({ items, usage, customers, rules, fixture });

describe('rules v2: tags', () => {
  // 8 search + 4 indexing + 2 web + 1 with no component tag = 15.
  const items: TestLineItem[] = [
    { date: D1, service: 'AmazonES', cost: 8, tags: { component: 'search' } },
    { date: D1, service: 'AmazonES', cost: 4, tags: { component: ' indexing ' } },
    { date: D1, service: 'AmazonES', cost: 2, tags: { component: 'web' } },
    { date: D1, service: 'AmazonES', cost: 1 },
  ];

  it.each(ALL_FIXTURES)('a list of values matches one of them (%s)', async (fixture) => {
    const out = await run(items, rulesWith({ tags: { component: ['search', 'indexing'] } }), fixture);
    // hit = 8 + 4 (the padded value is trimmed) = 12 by requests: acme 9, beta 3; rest 2 + 1 = 3 evenly.
    expect(costByRule(out)).toEqual({ hit: 12, rest: 3 });
    expect(costByCustomer(out.customerDaily, D1)).toEqual({ acme: 10.5, beta: 4.5 });
    expectConserved(out, 15);
  });

  it('"*" matches a present, non-empty tag', async () => {
    const out = await run(items, rulesWith({ tags: { component: '*' } }));
    // hit = 8 + 4 + 2 = 14: acme 10.5, beta 3.5; rest 1: 0.5 each.
    expect(costByRule(out)).toEqual({ hit: 14, rest: 1 });
    expect(costByCustomer(out.customerDaily, D1)).toEqual({ acme: 11, beta: 4 });
    expectConserved(out, 15);
  });

  it('"" matches an absent or empty tag', async () => {
    const withEmpty = [...items, { date: D1, service: 'AmazonES', cost: 16, tags: { component: '  ' } }];
    const out = await run(withEmpty, rulesWith({ tags: { component: '' } }));
    // hit = 1 (no tag) + 16 (blank after trimming) = 17: acme 12.75, beta 4.25; rest 14: 7 each.
    expect(costByRule(out)).toEqual({ hit: 17, rest: 14 });
    expect(costByCustomer(out.customerDaily, D1)).toEqual({ acme: 19.75, beta: 11.25 });
    expectConserved(out, 31);
  });

  it('tagged cost stays direct whatever tag rule it matches', async () => {
    const tagged = [
      ...items,
      { date: D1, service: 'AmazonES', cost: 32, tenant: 'beta', tags: { component: 'search' } },
    ];
    const out = await run(tagged, rulesWith({ tags: { component: ['search'] } }));
    // beta's 32 is direct; hit = 8 only: acme 6, beta 2; rest 4 + 2 + 1 = 7: 3.5 each.
    expect(costByRule(out)).toEqual({ direct: 32, hit: 8, rest: 7 });
    expect(costByCustomer(out.customerDaily, D1)).toEqual({ acme: 9.5, beta: 37.5 });
    expectConserved(out, 47);
  });
});

describe('rules v2: cost categories, regions, providers, resource ids', () => {
  it.each(ALL_FIXTURES)('costCategories match the cost category values (%s)', async (fixture) => {
    const items: TestLineItem[] = [
      { date: D1, service: 'AmazonEC2', cost: 8, costCategories: { Team: 'search' } },
      { date: D1, service: 'AmazonEC2', cost: 4, costCategories: { Team: 'web' } },
      { date: D1, service: 'AmazonEC2', cost: 2 },
    ];
    const out = await run(items, rulesWith({ costCategories: { Team: ['search'] } }), fixture);
    // hit 8: acme 6, beta 2; rest 4 + 2 = 6: 3 each.
    expect(costByRule(out)).toEqual({ hit: 8, rest: 6 });
    expect(costByCustomer(out.customerDaily, D1)).toEqual({ acme: 9, beta: 5 });
    expectConserved(out, 14);
  });

  it.each(['cur2-parquet', 'legacy-parquet', 'focus-csv'] as const)(
    'regions match the region code (%s)',
    async (fixture) => {
      const items: TestLineItem[] = [
        { date: D1, service: 'AmazonEC2', cost: 8, region: 'eu-west-1' },
        { date: D1, service: 'AmazonEC2', cost: 4 },
      ];
      const out = await run(items, rulesWith({ regions: ['eu-west-1'] }), fixture);
      // hit 8: acme 6, beta 2; rest 4 (us-east-1): 2 each.
      expect(costByRule(out)).toEqual({ hit: 8, rest: 4 });
      expect(costByCustomer(out.customerDaily, D1)).toEqual({ acme: 8, beta: 4 });
      expectConserved(out, 12);
    },
  );

  it('providers: CUR is AWS throughout; FOCUS names its provider', async () => {
    const items: TestLineItem[] = [
      { date: D1, service: 'AmazonEC2', cost: 8 },
      { date: D1, service: 'Logs', cost: 4, provider: 'Datadog' },
    ];
    const cur = await run(items, rulesWith({ providers: ['AWS'] }));
    // CUR: both lines are AWS: hit 12, acme 9, beta 3.
    expect(costByRule(cur)).toEqual({ hit: 12 });
    expect(costByCustomer(cur.customerDaily, D1)).toEqual({ acme: 9, beta: 3 });
    const focus = await run(items, rulesWith({ providers: ['AWS'] }), 'focus-parquet');
    // FOCUS: hit 8 (acme 6, beta 2), Datadog's 4 evenly.
    expect(costByRule(focus)).toEqual({ hit: 8, rest: 4 });
    expect(costByCustomer(focus.customerDaily, D1)).toEqual({ acme: 8, beta: 4 });
    expectConserved(focus, 12);
  });

  it('resourceIdLike is SQL LIKE on the resource id', async () => {
    const items: TestLineItem[] = [
      { date: D1, service: 'AmazonES', cost: 8, resourceId: 'arn:aws:es:us-east-1:1:domain/search-prod' },
      { date: D1, service: 'AmazonES', cost: 4, resourceId: 'arn:aws:es:us-east-1:1:domain/logs' },
      { date: D1, service: 'AmazonES', cost: 2, resourceId: 'arn:aws:es:us-east-1:1:domain/searchXprod' },
    ];
    const out = await run(items, rulesWith({ resourceIdLike: ['%:domain/search-%'] }));
    // hit 8 only (the third has no "-" after search): acme 6, beta 2; rest 4 + 2 = 6: 3 each.
    expect(costByRule(out)).toEqual({ hit: 8, rest: 6 });
    expect(costByCustomer(out.customerDaily, D1)).toEqual({ acme: 9, beta: 5 });
    expectConserved(out, 14);
  });

  it('every field of a match must hold', async () => {
    const items: TestLineItem[] = [
      { date: D1, service: 'AmazonES', cost: 8, region: 'eu-west-1', tags: { component: 'search' } },
      { date: D1, service: 'AmazonES', cost: 4, tags: { component: 'search' } },
      { date: D1, service: 'AmazonES', cost: 2, region: 'eu-west-1', tags: { component: 'web' } },
    ];
    const out = await run(
      items,
      rulesWith({ services: ['AmazonES'], regions: ['eu-west-1'], tags: { component: ['search'] } }),
    );
    // hit 8 only: acme 6, beta 2; rest 4 + 2 = 6: 3 each.
    expect(costByRule(out)).toEqual({ hit: 8, rest: 6 });
    expect(costByCustomer(out.customerDaily, D1)).toEqual({ acme: 9, beta: 5 });
    expectConserved(out, 14);
  });
});

describe('rules v2: tenant tag keys and tenant id normalisation', () => {
  it.each(ALL_FIXTURES)(
    'the first tenant tag key with a non-empty value gives the tenant (%s)',
    async (fixture) => {
      const items: TestLineItem[] = [
        // Both keys: tenant_id comes first.
        { date: D1, service: 'AmazonEKS', cost: 8, tenant: 'acme', tags: { 'aws:eks:namespace': 'beta' } },
        // Only the AWS-generated namespace tag.
        { date: D1, service: 'AmazonEKS', cost: 4, tags: { 'aws:eks:namespace': 'beta' } },
        // A blank tenant_id does not count: the namespace gives the tenant.
        { date: D1, service: 'AmazonEKS', cost: 2, tenant: '  ', tags: { 'aws:eks:namespace': 'acme' } },
        // Neither: the even pool.
        { date: D1, service: 'AmazonEKS', cost: 1 },
      ];
      const rules = {
        version: 'keys',
        tenantTagKey: ['tenant_id', 'aws:eks:namespace'],
        rules: [{ id: 'rest', match: {}, driver: 'even' }],
      };
      const out = await run(items, rules, fixture);
      // Direct: acme 8 + 2 = 10, beta 4; the untagged 1 evenly: 0.5 each.
      expect(costByCustomer(out.customerDaily, D1, 'direct_cost')).toEqual({ acme: 10, beta: 4 });
      expect(costByCustomer(out.customerDaily, D1)).toEqual({ acme: 10.5, beta: 4.5 });
      expectConserved(out, 15);
    },
  );

  const mixedCase = {
    customers: [
      { id: 'acme', tenant: 'Acme-EU' },
      // No tenant id: the customer id is the tenant, lower-cased too.
      { id: 'Beta' },
    ] satisfies TestCustomer[],
    items: [
      { date: D1, service: 'AmazonEC2', cost: 8, tenant: 'ACME-eu' },
      { date: D1, service: 'AmazonEC2', cost: 4, tenant: 'beta' },
      { date: D1, service: 'AmazonEC2', cost: 2, tenant: ' acme-EU ' },
      { date: D1, service: 'AmazonEC2', cost: 6 },
    ] satisfies TestLineItem[],
    usage: [
      { date: D1, tenant: 'ACME-EU', metric: 'requests', quantity: 3 },
      { date: D1, tenant: ' beta', metric: 'requests', quantity: 1 },
    ] satisfies TestUsage[],
  };
  const caseRules = (normalization?: string) => ({
    version: 'case',
    ...(normalization === undefined ? {} : { tenantIdNormalization: normalization }),
    rules: [{ id: 'by-requests', match: {}, driver: 'requests' }],
  });

  it.each(['cur2-parquet', 'legacy-parquet', 'focus-csv'] as const)(
    '"lowercase" makes tags, telemetry and customers one tenant whatever their case (%s)',
    async (fixture) => {
      const out = await runScenario({ ...mixedCase, rules: caseRules('lowercase'), fixture });
      // Direct: acme 8 + 2 = 10, Beta 4; the pool of 6 by requests 3 : 1: acme 4.5, Beta 1.5.
      expect(costByCustomer(out.customerDaily, D1, 'direct_cost')).toEqual({ acme: 10, Beta: 4 });
      expect(costByCustomer(out.customerDaily, D1)).toEqual({ acme: 14.5, Beta: 5.5 });
      expectConserved(out, 20);
      // The unknown-tenant warnings compare ids as the run does: lower-cased, every tenant is known.
      expect(out.result.warnings.filter((w) => w.includes('no customer has'))).toEqual([]);
    },
  );

  it('without normalisation, case is part of the id', async () => {
    const out = await runScenario({ ...mixedCase, rules: caseRules() });
    // No tag value equals a customer tenant ("ACME-eu" is not "Acme-EU", "beta" is not "Beta").
    expect(costByCustomer(out.customerDaily, D1, 'direct_cost')).toEqual({});
    expect(Number(out.summary[0]?.direct_cost)).toBe(0);
    expectConserved(out, 20);
  });
});

describe('rules v2: warnings about tag keys and cost categories', () => {
  it.each(['cur2-parquet', 'legacy-parquet', 'focus-parquet'] as const)(
    'names a tag key or cost category no line item has, and the rules naming it (%s)',
    async (fixture) => {
      const items: TestLineItem[] = [
        {
          date: D1,
          service: 'AmazonES',
          cost: 8,
          tags: { component: 'search' },
          costCategories: { Team: 'x' },
        },
        { date: D1, service: 'AmazonES', cost: 4 },
      ];
      const rules = {
        version: 'warn',
        rules: [
          { id: 'typo', match: { tags: { compnent: ['search'] } }, driver: 'requests' },
          {
            id: 'typo-too',
            match: { tags: { compnent: '*' }, costCategories: { Teem: '*' } },
            driver: 'even',
          },
          {
            id: 'fine',
            match: { tags: { component: '*' }, costCategories: { Team: ['x'] } },
            driver: 'even',
          },
          { id: 'rest', match: {}, driver: 'even' },
        ],
      };
      const out = await run(items, rules, fixture);
      const format = fixture.replace('-parquet', '');
      const advice = `check its spelling (docs/attribution.md 2.1 says how each format names a key)`;
      expect(out.result.warnings.filter((w) => w.includes('is on no line item'))).toEqual([
        `tag key "compnent" of rules "typo", "typo-too" is on no line item of the ${format} billing files,` +
          ` so a condition on it matches no line item ("" matches every one): ${advice}`,
        `cost category "Teem" of rule "typo-too" is on no line item of the ${format} billing files,` +
          ` so a condition on it matches no line item ("" matches every one): ${advice}`,
      ]);
      // The run still succeeds: "fine" shares 8 evenly, "rest" 4 evenly.
      expect(costByRule(out)).toEqual({ fine: 8, rest: 4 });
      expectConserved(out, 12);
    },
  );
});
