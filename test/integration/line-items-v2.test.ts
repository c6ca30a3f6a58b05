import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BILLING_FORMATS, detectBillingFormat } from '../../lib/attribution/billing-formats.ts';
import { type AllocationRules, parseRules, tagRequest } from '../../lib/attribution/rules.ts';
import {
  type AttributionRun,
  billingSources,
  placeholderValues,
  runAttribution,
} from '../../lib/attribution/stages.ts';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import type { Row } from '../../lib/engine/query-engine.ts';
import { defineCustomers } from '../../lib/local/customers-table.ts';
import { defineBillingSource, defineTelemetry } from '../../lib/local/local-sources.ts';
import {
  type Cur2TagColumns,
  type TestLineItem,
  tempDir,
  writeCur2,
  writeCustomersCsv,
  writeFocus,
  writeLegacyCur,
  writeTelemetryCsv,
} from '../support/fixtures.ts';

// The canonical line item of v2 (docs/attribution.md 1.1, 2, 2.1, 2.2) on DuckDB, row by row:
// currency and provider, CUR 2.0's `tags` map, Savings Plan upfront-fee refunds, and split cost
// allocation data re-costed per (parent instance, usage slot). Every run also passes the conservation
// check, and the day's customers + unattributed + excluded equals its total.

const D1 = '2026-10-01';

const engines: DuckDbEngine[] = [];
afterEach(() => {
  for (const engine of engines.splice(0)) engine.close();
});

function rulesOf(costBasis: string, extra: Record<string, unknown> = {}): AllocationRules {
  return parseRules(
    {
      version: 'v2-line-items',
      costBasis,
      tenantTagKey: 'tenant_id',
      rules: [{ id: 'rest', match: {}, driver: 'even' }],
      ...extra,
    },
    'line-items-v2.json',
  );
}

type Writer = 'cur2' | 'legacy' | 'focus';

/** Writes the items, runs the attribution on DuckDB, returns the canonical line items and the summary. */
async function attribute(
  items: readonly TestLineItem[],
  rules: AllocationRules,
  {
    writer = 'cur2',
    tagColumns,
    omit,
  }: {
    writer?: Writer;
    tagColumns?: Cur2TagColumns;
    omit?: readonly ('ProviderName' | 'x_ServiceCode')[];
  } = {},
): Promise<{ lineItems: Row[]; summary: Row[]; format: string }> {
  const dir = tempDir('cpc-line-items-v2-');
  const billing =
    writer === 'cur2'
      ? await writeCur2(join(dir, 'cur.parquet'), items, { tagColumns })
      : writer === 'legacy'
        ? await writeLegacyCur(join(dir, 'legacy.parquet'), items)
        : await writeFocus(join(dir, 'focus.parquet'), items, { omit });
  const engine = await DuckDbEngine.create({ threads: 1 });
  engines.push(engine);
  await defineCustomers(
    engine,
    writeCustomersCsv(join(dir, 'customers.csv'), [{ id: 'acme' }, { id: 'beta' }]),
  );
  await defineTelemetry(engine, [writeTelemetryCsv(join(dir, 'telemetry.csv'), [])]);
  const source = await defineBillingSource(engine, [billing], undefined, tagRequest(rules));
  const run: AttributionRun = {
    runId: 'line-items-v2',
    sources: billingSources(BILLING_FORMATS[source.format]),
    rules,
  };
  await runAttribution(engine, run);
  const lineItems = await engine.query(
    `SELECT * FROM ${(placeholderValues(engine.tableRef, run).line_items as { sql: string }).sql} AS li` +
      ' ORDER BY resource_id, line_item_type, cost',
  );
  const summary = await engine.query(`SELECT * FROM ${engine.tableRef('daily_summary')} ORDER BY usage_date`);
  return { lineItems, summary, format: source.format };
}

/** customers + unattributed + excluded = total, every day (5). */
function expectConservation(summary: readonly Row[], expectedTotal: number): void {
  let total = 0;
  for (const day of summary) {
    const dayTotal = Number(day.total_cost);
    const parts = Number(day.direct_cost) + Number(day.shared_cost) + Number(day.unattributed_cost);
    expect(parts + Number(day.excluded_cost)).toBeCloseTo(dayTotal, 9);
    total += dayTotal;
  }
  expect(total).toBeCloseTo(expectedTotal, 9);
}

const costsBy = (rows: readonly Row[], key: string) =>
  Object.fromEntries(rows.map((row) => [String(row[key]), Number(row.cost)]));

// Split cost allocation (2.2). Instance i-1 in slot 05:00 has its own row (unblended 10, net 8) and two
// pod rows: acme w = 3 + 1 = 4 (net 2 + 0.5 = 2.5), beta w = 5 + 1 = 6 (net 4 + 1.5 = 5.5); W = 10, net 8.
// In slot 06:00 i-1 costs 7 and its one pod row has w = 0. Pod row of i-gone: no parent in the input.
// i-2 has no split rows at all. Split rows' own unblended cost is 0, as AWS writes them.
const SPLIT_ITEMS: TestLineItem[] = [
  { date: D1, service: 'AmazonEC2', cost: 10, netCost: 8, resourceId: 'i-1' },
  {
    date: D1,
    service: 'AmazonEC2',
    cost: 0,
    resourceId: 'pod-acme',
    tenant: 'acme',
    splitParent: 'i-1',
    splitCost: 3,
    splitUnusedCost: 1,
    splitNetCost: 2,
    splitNetUnusedCost: 0.5,
  },
  {
    date: D1,
    service: 'AmazonEC2',
    cost: 0,
    resourceId: 'pod-beta',
    tenant: 'beta',
    splitParent: 'i-1',
    splitCost: 5,
    splitUnusedCost: 1,
    splitNetCost: 4,
    splitNetUnusedCost: 1.5,
  },
  { date: D1, startTime: '06:00:00', service: 'AmazonEC2', cost: 7, resourceId: 'i-1b' },
  {
    date: D1,
    startTime: '06:00:00',
    service: 'AmazonEC2',
    cost: 0,
    resourceId: 'pod-idle',
    tenant: 'acme',
    splitParent: 'i-1b',
    splitCost: 0,
    splitUnusedCost: 0,
  },
  {
    date: D1,
    service: 'AmazonEC2',
    cost: 0,
    resourceId: 'pod-orphan',
    tenant: 'beta',
    splitParent: 'i-gone',
    splitCost: 2,
    splitUnusedCost: 0,
  },
  { date: D1, service: 'AmazonEC2', cost: 5, resourceId: 'i-2' },
];

describe('split cost allocation data (2.2)', () => {
  it('amortized: the pods share C x w / W, the parent is zeroed; W = 0 and an absent parent leave it', async () => {
    const { lineItems, summary } = await attribute(SPLIT_ITEMS, rulesOf('amortized'));
    // acme 10 x 4/10 = 4, beta 10 x 6/10 = 6, i-1 0; the 06:00 slot has W = 0: pod 0, i-1b keeps 7;
    // the orphan pod 0; i-2 keeps 5.
    expect(costsBy(lineItems, 'resource_id')).toEqual({
      'i-1': 0,
      'pod-acme': 4,
      'pod-beta': 6,
      'i-1b': 7,
      'pod-idle': 0,
      'pod-orphan': 0,
      'i-2': 5,
    });
    // The bill's total: 10 + 7 + 5 = 22, unchanged.
    expectConservation(summary, 22);
    // Direct: acme 4, beta 6; the rest (7 + 5 = 12) shared evenly.
    expect(Number(summary[0]?.direct_cost)).toBeCloseTo(10, 9);
    expect(Number(summary[0]?.shared_cost)).toBeCloseTo(12, 9);
  });

  it('net_amortized: the net weights and the parent net cost', async () => {
    const { lineItems, summary } = await attribute(SPLIT_ITEMS, rulesOf('net_amortized'));
    // C = net 8; acme 8 x 2.5/8 = 2.5, beta 8 x 5.5/8 = 5.5. Items without net cost fall back: 7 and 5.
    expect(costsBy(lineItems, 'resource_id')).toEqual({
      'i-1': 0,
      'pod-acme': 2.5,
      'pod-beta': 5.5,
      'i-1b': 7,
      'pod-idle': 0,
      'pod-orphan': 0,
      'i-2': 5,
    });
    expectConservation(summary, 8 + 7 + 5);
  });

  it('unblended: the pods share the unblended cost by the non-net weights', async () => {
    const { lineItems, summary } = await attribute(SPLIT_ITEMS, rulesOf('unblended'));
    // C = 10: 10 x 4/10 = 4 and 10 x 6/10 = 6.
    expect(costsBy(lineItems, 'resource_id')).toMatchObject({ 'i-1': 0, 'pod-acme': 4, 'pod-beta': 6 });
    expectConservation(summary, 22);
  });

  it('takes C over every own row of the parent in the slot, whatever its type', async () => {
    // i-1's slot: Usage 10 and a SavingsPlanCoveredUsage row whose effective cost is 6: C = 16.
    // Pods w = 4 and 6: acme 16 x 0.4 = 6.4, beta 16 x 0.6 = 9.6.
    const items: TestLineItem[] = [
      ...SPLIT_ITEMS.slice(0, 3),
      {
        date: D1,
        service: 'AmazonEC2',
        cost: 9,
        type: 'SavingsPlanCoveredUsage',
        savingsPlanEffectiveCost: 6,
        resourceId: 'i-1',
      },
    ];
    const { lineItems, summary } = await attribute(items, rulesOf('amortized'));
    expect(costsBy(lineItems, 'resource_id')).toEqual({ 'i-1': 0, 'pod-acme': 6.4, 'pod-beta': 9.6 });
    expectConservation(summary, 16);
  });

  it('legacy CUR with the split columns is re-costed the same way', async () => {
    const { lineItems, summary } = await attribute(SPLIT_ITEMS.slice(0, 3), rulesOf('amortized'), {
      writer: 'legacy',
    });
    expect(costsBy(lineItems, 'resource_id')).toEqual({ 'i-1': 0, 'pod-acme': 4, 'pod-beta': 6 });
    expectConservation(summary, 10);
  });
});

describe('Savings Plan upfront-fee refunds (1.1)', () => {
  const refunds: TestLineItem[] = [
    {
      date: D1,
      service: 'ComputeSavingsPlans',
      type: 'Refund',
      cost: -100,
      resourceId: 'sp-1',
      description: 'Refund for one-time fee for Savings Plan sp-1',
    },
    {
      date: D1,
      service: 'MachineLearningSavingsPlans',
      type: 'Refund',
      cost: -40,
      resourceId: 'sp-2',
      description: 'Refund for one-time fee for Savings Plan sp-2',
    },
    // Another refund of a Savings Plan (not of its upfront fee), and an EC2 refund with the same words.
    {
      date: D1,
      service: 'ComputeSavingsPlans',
      type: 'Refund',
      cost: -3,
      resourceId: 'sp-3',
      description: 'Refund for recurring fee',
    },
    {
      date: D1,
      service: 'AmazonEC2',
      type: 'Refund',
      cost: -2,
      resourceId: 'ec2-refund',
      description: 'Refund for one-time fee',
    },
    { date: D1, service: 'AmazonEC2', cost: 50, resourceId: 'i-9' },
  ];

  it.each(['amortized', 'net_amortized'])('cost 0 under %s', async (basis) => {
    const { lineItems, summary } = await attribute(refunds, rulesOf(basis));
    expect(costsBy(lineItems, 'resource_id')).toEqual({
      'sp-1': 0,
      'sp-2': 0,
      'sp-3': -3,
      'ec2-refund': -2,
      'i-9': 50,
    });
    // 50 - 3 - 2 = 45.
    expectConservation(summary, 45);
  });

  it('keep their cost under unblended', async () => {
    const { lineItems, summary } = await attribute(refunds, rulesOf('unblended'));
    expect(costsBy(lineItems, 'resource_id')).toMatchObject({ 'sp-1': -100, 'sp-2': -40 });
    // 50 - 100 - 40 - 3 - 2 = -95.
    expectConservation(summary, -95);
  });
});

describe('the CUR 2.0 tags map (1.1, 2.1)', () => {
  const items: TestLineItem[] = [
    { date: D1, service: 'AmazonEC2', cost: 6, tenant: 'acme', resourceId: 'r-acme' },
    // No tenant: the rules share it by its namespace tag's rule and its cost category.
    {
      date: D1,
      service: 'AmazonEKS',
      cost: 4,
      resourceId: 'r-ns',
      tags: { 'aws:eks:namespace': 'search' },
    },
    { date: D1, service: 'AmazonRDS', cost: 2, resourceId: 'r-cat', costCategories: { Team: 'data' } },
  ];
  const rules = rulesOf('amortized', {
    rules: [
      { id: 'search', match: { tags: { 'aws:eks:namespace': ['search'] } }, driver: { fixed: { beta: 1 } } },
      { id: 'data', match: { costCategories: { Team: ['data'] } }, driver: { fixed: { acme: 1 } } },
      { id: 'rest', match: {}, driver: 'even' },
    ],
  });

  it.each(['tags', 'both', 'resource_tags'] as const)(
    'reads tenant, tags and cost categories from a file with %s',
    async (tagColumns) => {
      const { lineItems, summary, format } = await attribute(items, rules, { tagColumns });
      expect(format).toBe('cur2');
      expect(lineItems.map((row) => [row.resource_id, row.tenant])).toEqual([
        ['r-acme', 'acme'],
        ['r-cat', ''],
        ['r-ns', ''],
      ]);
      // acme: direct 6 + the data pool 2 (fixed to acme) = 8; beta: the search pool 4 (fixed).
      expect(Number(summary[0]?.direct_cost)).toBeCloseTo(6, 9);
      expect(Number(summary[0]?.shared_cost)).toBeCloseTo(6, 9);
      expect(Number(summary[0]?.unattributed_cost)).toBeCloseTo(0, 9);
      expectConservation(summary, 12);
    },
  );

  it('detects a file with tags and no resource_tags as CUR 2.0, and one with neither as legacy', () => {
    expect(detectBillingFormat(['line_item_line_item_type', 'tags'])).toBe('cur2');
    expect(detectBillingFormat(['line_item_line_item_type', 'resource_tags'])).toBe('cur2');
    expect(detectBillingFormat(['line_item_line_item_type'])).toBe('legacy');
  });

  it('lets resource_tags win over tags for resource tags, and cost_category over tags', async () => {
    const engine = await DuckDbEngine.create({ threads: 1 });
    engines.push(engine);
    const { cur2 } = BILLING_FORMATS;
    const rows = await engine.query(
      `SELECT ${cur2.tagValue('tenant_id')} AS both_maps, ${cur2.costCategoryValue('Team')} AS both_categories` +
        " FROM (SELECT MAP {'user_tenant_id': 'from-resource-tags'} AS resource_tags," +
        " MAP {'Team': 'from-cost-category'} AS cost_category," +
        " MAP {'resourceTags/user:tenant_id': 'from-tags', 'costCategory/Team': 'from-tags'} AS tags)" +
        ' UNION ALL ' +
        `SELECT ${cur2.tagValue('tenant_id')}, ${cur2.costCategoryValue('Team')}` +
        ' FROM (SELECT CAST(NULL AS MAP(VARCHAR, VARCHAR)) AS resource_tags,' +
        ' CAST(NULL AS MAP(VARCHAR, VARCHAR)) AS cost_category,' +
        " MAP {'resourceTags/tenant_id': 'bare-key', 'costCategory/Team': 'from-tags'} AS tags)",
    );
    // The second row: no resource_tags, and the tag under the bare `resourceTags/<key>` form.
    expect(rows).toEqual([
      { both_maps: 'from-resource-tags', both_categories: 'from-cost-category' },
      { both_maps: 'bare-key', both_categories: 'from-tags' },
    ]);
  });
});

describe('currency and provider (1.1, 2)', () => {
  it('CUR: line_item_currency_code, NULL or empty meaning USD; provider AWS', async () => {
    // One currency per run (1.1): the EUR file and the file of empty and NULL codes are two runs.
    const eur = await attribute(
      [{ date: D1, service: 'AmazonEC2', cost: 1, resourceId: 'eur', currency: 'EUR' }],
      rulesOf('amortized'),
    );
    expect(eur.lineItems.map((row) => [row.resource_id, row.provider, row.currency])).toEqual([
      ['eur', 'AWS', 'EUR'],
    ]);
    const blank = await attribute(
      [
        { date: D1, service: 'AmazonEC2', cost: 2, resourceId: 'empty', currency: '' },
        { date: D1, service: 'AmazonEC2', cost: 3, resourceId: 'null' },
      ],
      rulesOf('amortized'),
    );
    expect(blank.lineItems.map((row) => [row.resource_id, row.provider, row.currency])).toEqual([
      ['empty', 'AWS', 'USD'],
      ['null', 'AWS', 'USD'],
    ]);
    expectConservation(blank.summary, 5);
  });

  it('CUR without the currency column: USD; the canonical columns in the contract order', async () => {
    const { lineItems } = await attribute(
      [{ date: D1, service: 'AmazonEC2', cost: 3, tenant: 'acme' }],
      rulesOf('amortized'),
    );
    expect(Object.keys(lineItems[0] ?? {})).toEqual([
      'usage_date',
      'billing_period_start',
      'provider',
      'account_id',
      'region',
      'service',
      'usage_type',
      'line_item_type',
      'resource_id',
      'tenant',
      'currency',
      'cost',
    ]);
    expect(lineItems[0]?.currency).toBe('USD');
  });

  it('FOCUS: BillingCurrency and ProviderName', async () => {
    const eur = await attribute(
      [{ date: D1, service: 'Datadog', cost: 5, resourceId: 'dd', provider: 'Datadog', currency: 'EUR' }],
      rulesOf('amortized'),
      { writer: 'focus' },
    );
    expect(eur.lineItems.map((row) => [row.resource_id, row.provider, row.currency])).toEqual([
      ['dd', 'Datadog', 'EUR'],
    ]);
    const blank = await attribute(
      [{ date: D1, service: 'AmazonEC2', cost: 1, resourceId: 'ec2', currency: '' }],
      rulesOf('amortized'),
      { writer: 'focus' },
    );
    expect(blank.lineItems.map((row) => [row.resource_id, row.provider, row.currency])).toEqual([
      ['ec2', 'AWS', 'USD'],
    ]);
  });

  it('FOCUS without ProviderName: AWS with x_ServiceCode, else empty; without BillingCurrency: USD', async () => {
    const items: TestLineItem[] = [{ date: D1, service: 'AmazonEC2', cost: 1, resourceId: 'r' }];
    const withCode = await attribute(items, rulesOf('amortized'), {
      writer: 'focus',
      omit: ['ProviderName'],
    });
    expect(withCode.lineItems.map((row) => [row.provider, row.currency, row.service])).toEqual([
      ['AWS', 'USD', 'AmazonEC2'],
    ]);
    const without = await attribute(items, rulesOf('amortized'), {
      writer: 'focus',
      omit: ['ProviderName', 'x_ServiceCode'],
    });
    // The service falls back to ServiceName, which the fixture writes as "<service> (name)".
    expect(without.lineItems.map((row) => [row.provider, row.currency, row.service])).toEqual([
      ['', 'USD', 'AmazonEC2 (name)'],
    ]);
    expectConservation(without.summary, 1);
  });
});
