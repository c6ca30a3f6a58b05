import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BILLING_FORMATS } from '../../lib/attribution/billing-formats.ts';
import { parseRules, tagRequest } from '../../lib/attribution/rules.ts';
import {
  type AttributionRun,
  billingSources,
  RESULT_TABLES,
  runAttribution,
} from '../../lib/attribution/stages.ts';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import { TrinoEngine } from '../../lib/engine/trino-engine.ts';
import type { TestCustomer, TestLineItem, TestUsage } from '../support/fixtures.ts';
import { expectSameRows, loadInputs, writeInputs } from '../support/trino-agreement.ts';
import { startTrinoServer, type TrinoServer } from '../support/trino-server.ts';

// Rules v2 matching (tags, cost categories, regions, providers, resource ids, tenant tag key lists with
// an AWS-generated key, lower-cased tenant ids) on a real Trino and on DuckDB from identical inputs:
// the same rows in every table, and the hand-worked numbers.

let server: TrinoServer;

beforeAll(async () => {
  server = await startTrinoServer();
}, 240_000);

afterAll(async () => {
  await server?.stop();
}, 30_000);

const D1 = '2026-10-01';

/** Customer tenant ids in mixed case; Beta has no tenant id (its customer id is its tenant). */
const customers: TestCustomer[] = [
  { id: 'acme', tenant: 'Acme' },
  { id: 'Beta', mrr: 1000 },
];
const usage: TestUsage[] = [
  { date: D1, tenant: 'ACME', metric: 'requests', quantity: 3 },
  { date: D1, tenant: ' beta ', metric: 'requests', quantity: 1 },
];

const items: TestLineItem[] = [
  // Direct by tenant_id (case differs from the customer's), and by the EKS namespace when tenant_id is blank.
  { date: D1, service: 'AmazonEC2', cost: 8, tenant: 'ACME', tags: { 'aws:eks:namespace': 'beta' } },
  { date: D1, service: 'AmazonEKS', cost: 4, tenant: '  ', tags: { 'aws:eks:namespace': 'BETA' } },
  // The search pool: component tag, region and resource id must all hold.
  {
    date: D1,
    service: 'AmazonES',
    cost: 20,
    region: 'eu-west-1',
    resourceId: 'arn:aws:es:eu-west-1:1:domain/search-prod',
    tags: { component: "search's" },
  },
  // Same tag, other region: not the pool.
  { date: D1, service: 'AmazonES', cost: 6, tags: { component: "search's" } },
  // The cost-category pool.
  { date: D1, service: 'AmazonRDS', cost: 10, costCategories: { Team: 'data' } },
  // Excluded: no component tag at all and usage type Tax-like; the rest goes evenly.
  { date: D1, service: 'AmazonS3', cost: 2, tags: { component: '' }, usageType: 'Tax' },
  { date: D1, service: 'AmazonS3', cost: 3, tags: { component: 'web' } },
];

const rules = parseRules(
  {
    version: 'trino-rules',
    tenantTagKey: ['tenant_id', 'aws:eks:namespace'],
    tenantIdNormalization: 'lowercase',
    rules: [
      { id: 'tax', match: { tags: { component: '' }, usageTypeLike: ['Tax%'] }, action: 'exclude' },
      {
        id: 'search',
        owner: 'search-team',
        match: {
          tags: { component: ["search's"] },
          regions: ['eu-west-1'],
          providers: ['AWS'],
          resourceIdLike: ['%:domain/search-%'],
        },
        driver: 'requests',
      },
      { id: 'data', match: { costCategories: { Team: ['data'] } }, driver: 'requests' },
      { id: 'rest', match: {}, driver: 'even' },
    ],
  },
  'trino-rules.json',
);

describe.each(['cur2', 'legacy', 'focus'] as const)('rules v2 on Trino and DuckDB (%s)', (format) => {
  let trino: TrinoEngine;
  let duck: DuckDbEngine;

  beforeAll(async () => {
    const files = await writeInputs({ format, items, usage, customers, tenantTagKey: 'tenant_id' });
    const run: AttributionRun = {
      runId: `rules-${format}`,
      sources: billingSources(BILLING_FORMATS[format]),
      rules,
    };
    trino = await TrinoEngine.create({ url: server.url, schema: `rules_${format}` });
    duck = await DuckDbEngine.create({ threads: 1 });
    await loadInputs(duck, trino, { ...files, tenantTagKey: tagRequest(rules) });
    await Promise.all([runAttribution(trino, run), runAttribution(duck, run)]);
  }, 180_000);

  afterAll(() => {
    duck?.close();
  });

  it('gives the same rows in every table', async () => {
    for (const table of ['classified_cost', ...RESULT_TABLES]) {
      const [trinoRows, duckRows] = await Promise.all([
        trino.query(`SELECT * FROM ${trino.tableRef(table)}`),
        duck.query(`SELECT * FROM ${duck.tableRef(table)}`),
      ]);
      expectSameRows(trinoRows, duckRows, table);
    }
  });

  it('gives the hand-worked numbers on Trino', async () => {
    const rows = await trino.query(
      `SELECT customer_id, rule_id, sum(cost) AS cost FROM ${trino.tableRef('customer_daily_service_cost')}` +
        ' GROUP BY customer_id, rule_id ORDER BY customer_id, rule_id',
    );
    // Direct: acme 8 (ACME), Beta 4 (blank tenant_id, namespace BETA). search 20 and data 10 by requests
    // 3 : 1 (ACME, " beta "): acme 15 + 7.5, Beta 5 + 2.5. rest 6 + 3 = 9 evenly; tax 2 excluded.
    expect(rows.map((r) => [r.customer_id, r.rule_id, Number(r.cost)])).toEqual([
      ['Beta', 'data', 2.5],
      ['Beta', 'direct', 4],
      ['Beta', 'rest', 4.5],
      ['Beta', 'search', 5],
      ['acme', 'data', 7.5],
      ['acme', 'direct', 8],
      ['acme', 'rest', 4.5],
      ['acme', 'search', 15],
    ]);
    const [day] = await trino.query(
      `SELECT total_cost, excluded_cost, unattributed_cost FROM ${trino.tableRef('daily_summary')}`,
    );
    // 8 + 4 + 20 + 6 + 10 + 2 + 3 = 53 = customers 51 + excluded 2.
    expect([Number(day?.total_cost), Number(day?.excluded_cost), Number(day?.unattributed_cost)]).toEqual([
      53, 2, 0,
    ]);
  });
});
