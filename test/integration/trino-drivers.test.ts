import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BILLING_FORMATS } from '../../lib/attribution/billing-formats.ts';
import { parseRules } from '../../lib/attribution/rules.ts';
import {
  type AttributionRun,
  billingSources,
  RESULT_TABLES,
  RUN_CHECK_NAMES,
  renderCheck,
  runAttribution,
} from '../../lib/attribution/stages.ts';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import { TrinoEngine } from '../../lib/engine/trino-engine.ts';
import type { TestCustomer, TestLineItem, TestUsage } from '../support/fixtures.ts';
import { expectSameRows, loadInputs, writeInputs } from '../support/trino-agreement.ts';
import { startTrinoServer, type TrinoServer } from '../support/trino-server.ts';

// The driver SQL of docs/attribution.md section 4 (mrr, windows, blends, fixed splits) on a real Trino
// (the engine of Athena engine v3) and on DuckDB, from identical inputs: the same rows in every result
// table, and the hand-worked numbers on Trino. The window crosses a month's and a year's start.

let server: TrinoServer;
let trino: TrinoEngine;
let duck: DuckDbEngine;

const D2 = '2025-12-31';
const D3 = '2026-01-01';
const D4 = '2026-01-02';
const D5 = '2026-01-03';
const D6 = '2026-01-04';

const customers: TestCustomer[] = [
  { id: 'acme', tenant: 'acme-eu', mrr: 3000, end: D4 },
  { id: 'acme', tenant: 'acme-us', mrr: 3000, end: D4 },
  { id: "o'brien", tenant: "o'brien", mrr: 1000, end: D4 },
  // Alone on D5 with MRR 0 (no_revenue); nobody is active on D6 (no_active_customers).
  { id: 'trialist', plan: 'trial', mrr: 0, start: D5, end: D5 },
];

const items: TestLineItem[] = [
  { date: D2, service: 'AmazonEC2', cost: 10 },
  { date: D3, service: 'AmazonEC2', cost: 6 },
  { date: D3, service: 'AmazonRDS', cost: 5 },
  { date: D3, service: 'AmazonCloudWatch', cost: 8 },
  { date: D4, service: 'AmazonOpenSearchService', cost: 10 },
  { date: D4, service: 'AmazonS3', cost: 3 },
  { date: D5, service: 'AmazonCloudWatch', cost: 7 },
  { date: D6, service: 'AmazonCloudWatch', cost: 1 },
];

const usage: TestUsage[] = [
  { date: D2, tenant: 'acme-eu', metric: 'requests', quantity: 1 },
  { date: D3, tenant: "o'brien", metric: 'requests', quantity: 1 },
  { date: D3, tenant: 'ghost', metric: 'requests', quantity: 1 },
  { date: D4, tenant: 'acme-us', metric: 'requests', quantity: 2 },
  { date: D3, tenant: 'acme-eu', metric: 'storage_bytes', quantity: 1 },
];

const rules = parseRules(
  {
    version: 'drivers-trino',
    rules: [
      { id: 'compute', match: { services: ['AmazonEC2'] }, driver: { metric: 'requests', windowDays: 2 } },
      {
        id: 'search',
        match: { services: ['AmazonOpenSearchService'] },
        driver: { weights: { requests: 0.6, storage_bytes: 0.4 } },
      },
      {
        id: 'contract',
        match: { services: ['AmazonRDS'] },
        driver: { fixed: { "o'brien": 0.2, acme: 0.8 } },
      },
      { id: 'revenue', match: { services: ['AmazonCloudWatch'] }, driver: 'mrr' },
      { id: 'rest', match: {}, driver: 'even' },
    ],
  },
  'test',
);

beforeAll(async () => {
  server = await startTrinoServer();
  const files = await writeInputs({ format: 'cur2', items, usage, customers, tenantTagKey: 'tenant_id' });
  const run: AttributionRun = {
    runId: 'drivers-trino',
    sources: billingSources(BILLING_FORMATS.cur2),
    rules,
  };
  trino = await TrinoEngine.create({ url: server.url, schema: 'drivers_v2' });
  duck = await DuckDbEngine.create({ threads: 1 });
  await loadInputs(duck, trino, files);
  await Promise.all([runAttribution(trino, run), runAttribution(duck, run)]);
}, 240_000);

afterAll(async () => {
  duck?.close();
  await server?.stop();
}, 30_000);

describe('Trino and DuckDB agree on drivers v2', () => {
  it('on every result table and check', async () => {
    for (const table of RESULT_TABLES) {
      const sql = (ref: (t: string) => string) => `SELECT * FROM ${ref(table)}`;
      expectSameRows(await trino.query(sql(trino.tableRef)), await duck.query(sql(duck.tableRef)), table);
    }
    for (const check of RUN_CHECK_NAMES) {
      expectSameRows(
        await trino.query(renderCheck(check, trino.tableRef)),
        await duck.query(renderCheck(check, duck.tableRef)),
        check,
      );
    }
  });

  it('gives the hand-worked numbers on Trino', async () => {
    const rows = await trino.query(
      'SELECT CAST(usage_date AS varchar) AS day, customer_id, service, driver, round(cost, 9) AS cost' +
        ` FROM ${trino.tableRef('customer_daily_service_cost')} ORDER BY day, service, customer_id`,
    );
    // Dec 31 EC2 10, window Dec 30-31: acme-eu 1 -> acme 10.
    // Jan 1 EC2 6, window Dec 31-Jan 1: acme 1, o'brien 1, ghost 1 -> 2 each (ghost's unattributed).
    // Jan 1 RDS 5 fixed: o'brien 1, acme 4. Jan 1 CloudWatch 8 by MRR 3000:1000 -> 6 and 2.
    // Jan 2 OpenSearch 10: requests part 6 -> acme (acme-us 2 of 2); storage part 4: no signal.
    // Jan 2 S3 3 even -> 1.5 each.
    const blend = 'weights(requests=0.6,storage_bytes=0.4)';
    expect(rows).toEqual([
      { day: D2, customer_id: 'acme', service: 'AmazonEC2', driver: 'requests/2d', cost: 10 },
      { day: D3, customer_id: 'acme', service: 'AmazonCloudWatch', driver: 'mrr', cost: 6 },
      { day: D3, customer_id: "o'brien", service: 'AmazonCloudWatch', driver: 'mrr', cost: 2 },
      { day: D3, customer_id: 'acme', service: 'AmazonEC2', driver: 'requests/2d', cost: 2 },
      { day: D3, customer_id: "o'brien", service: 'AmazonEC2', driver: 'requests/2d', cost: 2 },
      { day: D3, customer_id: 'acme', service: 'AmazonRDS', driver: 'fixed', cost: 4 },
      { day: D3, customer_id: "o'brien", service: 'AmazonRDS', driver: 'fixed', cost: 1 },
      { day: D4, customer_id: 'acme', service: 'AmazonOpenSearchService', driver: blend, cost: 6 },
      { day: D4, customer_id: 'acme', service: 'AmazonS3', driver: 'even', cost: 1.5 },
      { day: D4, customer_id: "o'brien", service: 'AmazonS3', driver: 'even', cost: 1.5 },
    ]);
    const unattributed = await trino.query(
      'SELECT CAST(usage_date AS varchar) AS day, reason, service, round(cost, 9) AS cost' +
        ` FROM ${trino.tableRef('unattributed_cost')} ORDER BY day, reason`,
    );
    expect(unattributed).toEqual([
      { day: D3, reason: 'unknown_tenant', service: 'AmazonEC2', cost: 2 },
      { day: D4, reason: 'no_usage_signal', service: 'AmazonOpenSearchService', cost: 4 },
      { day: D5, reason: 'no_revenue', service: 'AmazonCloudWatch', cost: 7 },
      { day: D6, reason: 'no_active_customers', service: 'AmazonCloudWatch', cost: 1 },
    ]);
    expect(await trino.query(renderCheck('conservation_check', trino.tableRef))).toEqual([]);
  });
});
