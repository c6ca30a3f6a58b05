import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BILLING_FORMATS } from '../../lib/attribution/billing-formats.ts';
import { parseRules, tagRequest } from '../../lib/attribution/rules.ts';
import {
  type AttributionRun,
  billingSources,
  placeholderValues,
  RESULT_TABLES,
  runAttribution,
} from '../../lib/attribution/stages.ts';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import type { QueryEngine } from '../../lib/engine/query-engine.ts';
import { TrinoEngine } from '../../lib/engine/trino-engine.ts';
import {
  type TestCustomer,
  type TestLineItem,
  tempDir,
  writeCur2,
  writeCustomersCsv,
  writeTelemetryCsv,
} from '../support/fixtures.ts';
import { expectSameRows, loadInputs, writeInputs } from '../support/trino-agreement.ts';
import { startTrinoServer, type TrinoServer } from '../support/trino-server.ts';

// The v2 canonical line item (split cost allocation re-costing, Savings Plan upfront-fee refunds,
// currency) on a real Trino and on DuckDB from identical inputs: the same line items and the same rows
// in every table, and the hand-worked numbers on Trino.

let server: TrinoServer;

beforeAll(async () => {
  server = await startTrinoServer();
}, 240_000);

afterAll(async () => {
  await server?.stop();
}, 30_000);

const D1 = '2026-10-01';
const customers: TestCustomer[] = [{ id: 'acme' }, { id: 'beta' }];

// i-1 (05:00): own cost 10 (net 8); pods acme w = 4 (net 2.5), beta w = 6 (net 5.5). i-1b (06:00) costs
// 7 and its only pod has w = 0. An orphan pod (parent absent). A Savings Plan upfront-fee refund of -100.
const items: TestLineItem[] = [
  { date: D1, service: 'AmazonEC2', cost: 10, netCost: 8, resourceId: 'i-1', currency: 'EUR' },
  {
    date: D1,
    service: 'AmazonEC2',
    cost: 0,
    resourceId: 'pod-acme',
    tenant: 'acme',
    currency: 'EUR',
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
    currency: 'EUR',
    splitParent: 'i-1',
    splitCost: 5,
    splitUnusedCost: 1,
    splitNetCost: 4,
    splitNetUnusedCost: 1.5,
  },
  { date: D1, startTime: '06:00:00', service: 'AmazonEC2', cost: 7, resourceId: 'i-1b', currency: 'EUR' },
  {
    date: D1,
    startTime: '06:00:00',
    service: 'AmazonEC2',
    cost: 0,
    resourceId: 'pod-idle',
    tenant: 'acme',
    currency: 'EUR',
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
    currency: 'EUR',
    splitParent: 'i-gone',
    splitCost: 2,
  },
  {
    date: D1,
    service: 'ComputeSavingsPlans',
    type: 'Refund',
    cost: -100,
    resourceId: 'sp-1',
    currency: 'EUR',
    description: 'Refund for one-time fee for Savings Plan sp-1',
  },
];

const lineItemsOf = (engine: QueryEngine, run: AttributionRun) =>
  engine.query(
    `SELECT * FROM ${(placeholderValues(engine.tableRef, run).line_items as { sql: string }).sql} AS li`,
  );

describe.each(['amortized', 'net_amortized'] as const)('v2 line items on Trino and DuckDB (%s)', (basis) => {
  let trino: TrinoEngine;
  let duck: DuckDbEngine;
  let run: AttributionRun;

  beforeAll(async () => {
    const rules = parseRules(
      {
        version: 'trino-line-items',
        costBasis: basis,
        tenantTagKey: 'tenant_id',
        rules: [{ id: 'rest', match: {}, driver: 'even' }],
      },
      'trino-line-items.json',
    );
    const files = await writeInputs({
      format: 'cur2',
      items,
      usage: [],
      customers,
      tenantTagKey: 'tenant_id',
    });
    run = { runId: `line-items-${basis}`, sources: billingSources(BILLING_FORMATS.cur2), rules };
    trino = await TrinoEngine.create({ url: server.url, schema: `line_items_${basis}` });
    duck = await DuckDbEngine.create({ threads: 1 });
    await loadInputs(duck, trino, { ...files, tenantTagKey: tagRequest(rules) });
    await Promise.all([runAttribution(trino, run), runAttribution(duck, run)]);
  }, 180_000);

  afterAll(() => {
    duck?.close();
  });

  it('gives the same line items and the same rows in every table', async () => {
    expectSameRows(await lineItemsOf(trino, run), await lineItemsOf(duck, run), 'line_items');
    for (const table of ['classified_cost', ...RESULT_TABLES]) {
      const [trinoRows, duckRows] = await Promise.all([
        trino.query(`SELECT * FROM ${trino.tableRef(table)}`),
        duck.query(`SELECT * FROM ${duck.tableRef(table)}`),
      ]);
      expectSameRows(trinoRows, duckRows, table);
    }
  });

  it('gives the hand-worked costs on Trino, and conservation', async () => {
    const rows = await lineItemsOf(trino, run);
    const costs = Object.fromEntries(rows.map((row) => [String(row.resource_id), Number(row.cost)]));
    // amortized: C = 10, acme 10 x 4/10 = 4, beta 6. net_amortized: C = 8, acme 8 x 2.5/8 = 2.5, beta 5.5.
    // i-1 zeroed; the W = 0 slot keeps i-1b's 7; the orphan pod 0; the upfront-fee refund 0.
    const [acme, beta] = basis === 'amortized' ? [4, 6] : [2.5, 5.5];
    expect(costs).toEqual({
      'i-1': 0,
      'pod-acme': acme,
      'pod-beta': beta,
      'i-1b': 7,
      'pod-idle': 0,
      'pod-orphan': 0,
      'sp-1': 0,
    });
    expect(new Set(rows.map((row) => row.currency))).toEqual(new Set(['EUR']));
    const [day] = await trino.query(
      `SELECT total_cost, direct_cost, shared_cost, unattributed_cost, excluded_cost FROM ${trino.tableRef('daily_summary')}`,
    );
    const total = acme + beta + 7;
    expect(Number(day?.total_cost)).toBeCloseTo(total, 9);
    expect(
      Number(day?.direct_cost) +
        Number(day?.shared_cost) +
        Number(day?.unattributed_cost) +
        Number(day?.excluded_cost),
    ).toBeCloseTo(total, 9);
  });
});

describe('a CUR 2.0 file with the tags map and no resource_tags, on Trino and DuckDB', () => {
  let trino: TrinoEngine;
  let duck: DuckDbEngine;
  let run: AttributionRun;

  beforeAll(async () => {
    const rules = parseRules(
      {
        version: 'trino-tags-map',
        tenantTagKey: ['tenant_id', 'aws:eks:namespace'],
        rules: [
          { id: 'data', match: { costCategories: { Team: ['data'] } }, driver: { fixed: { beta: 1 } } },
          { id: 'rest', match: {}, driver: 'even' },
        ],
      },
      'trino-tags-map.json',
    );
    const dir = tempDir('cpc-trino-tags-map-');
    const tagged: TestLineItem[] = [
      { date: D1, service: 'AmazonEC2', cost: 6, tenant: 'acme', resourceId: 'r-acme' },
      { date: D1, service: 'AmazonEKS', cost: 4, resourceId: 'r-ns', tags: { 'aws:eks:namespace': 'beta' } },
      { date: D1, service: 'AmazonRDS', cost: 2, resourceId: 'r-cat', costCategories: { Team: 'data' } },
    ];
    const files = {
      format: 'cur2' as const,
      billing: [await writeCur2(join(dir, 'cur.parquet'), tagged, { tagColumns: 'tags' })],
      telemetry: [writeTelemetryCsv(join(dir, 'telemetry.csv'), [])],
      customers: writeCustomersCsv(join(dir, 'customers.csv'), customers),
      tenantTagKey: tagRequest(rules),
    };
    run = { runId: 'tags-map', sources: billingSources(BILLING_FORMATS.cur2), rules };
    trino = await TrinoEngine.create({ url: server.url, schema: 'line_items_tags_map' });
    duck = await DuckDbEngine.create({ threads: 1 });
    await loadInputs(duck, trino, files);
    await Promise.all([runAttribution(trino, run), runAttribution(duck, run)]);
  }, 180_000);

  afterAll(() => {
    duck?.close();
  });

  it('reads tenants (a user tag and an AWS tag) and cost categories from tags, the same on both', async () => {
    const rows = await lineItemsOf(trino, run);
    expectSameRows(rows, await lineItemsOf(duck, run), 'line_items');
    expect(rows.map((row) => [row.resource_id, row.tenant]).sort()).toEqual([
      ['r-acme', 'acme'],
      ['r-cat', ''],
      ['r-ns', 'beta'],
    ]);
    const service = await trino.query(
      `SELECT customer_id, rule_id, sum(cost) AS cost FROM ${trino.tableRef('customer_daily_service_cost')}` +
        ' GROUP BY customer_id, rule_id ORDER BY customer_id, rule_id',
    );
    // acme direct 6; beta direct 4 (namespace) and the data pool 2 (cost category, fixed to beta).
    expect(service.map((r) => [r.customer_id, r.rule_id, Number(r.cost)])).toEqual([
      ['acme', 'direct', 6],
      ['beta', 'data', 2],
      ['beta', 'direct', 4],
    ]);
  });
});
