import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderCheck } from '../../lib/attribution/stages.ts';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import type { Row } from '../../lib/engine/query-engine.ts';
import { defineCustomers } from '../../lib/local/customers-table.ts';
import {
  D1,
  D2,
  D3,
  historyCustomers,
  historyItems,
  historyRules,
  historyUsage,
  loadHandInputs,
  runHandAttribution,
  writeHandCustomersCsv,
} from '../support/ledger-v2.ts';

// Customers with history (docs/attribution.md 1.3), provider in the pools and outputs (3, 4, 5) and the
// customer_daily_usage table (finance.md "Usage"), on hand-made canonical line items, hand-worked: the
// scenario and its arithmetic are in test/support/ledger-v2.ts (historyCustomers, historyItems, historyUsage).
let duck: DuckDbEngine;

beforeAll(async () => {
  duck = await DuckDbEngine.create({ threads: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'ledger-v2-'));
  await defineCustomers(duck, writeHandCustomersCsv(join(dir, 'customers.csv'), historyCustomers));
  await loadHandInputs(duck, historyItems, historyUsage);
  await runHandAttribution(duck, historyRules);
}, 60_000);

afterAll(() => duck?.close());

const rows = (sql: string): Promise<Row[]> => duck.query(sql);
const num = (rowsIn: Row[], key: string) => rowsIn.map((r) => ({ ...r, [key]: Number(r[key]) }));

describe('customers with history, provider and usage in the ledger (DuckDB)', () => {
  it('takes the MRR, tier and tenants of the version in force on each day; a customer before its first version does not exist', async () => {
    const daily = await rows(
      'SELECT CAST(usage_date AS VARCHAR) AS usage_date, billing_period, customer_id, tier, mrr, direct_cost,' +
        ' shared_cost, total_cost, currency FROM customer_daily_cost ORDER BY usage_date, customer_id',
    );
    expect(daily.map((r) => ({ ...r, mrr: Number(r.mrr) }))).toEqual([
      // D1: acme direct 10 (shared-t) + mrr 40 x 1000/2000 = 20; beta mrr 20. gamma: none.
      {
        usage_date: D1,
        billing_period: '2026-03',
        customer_id: 'acme',
        tier: 'growth',
        mrr: 1000,
        direct_cost: 10,
        shared_cost: 20,
        total_cost: 30,
        currency: 'EUR',
      },
      {
        usage_date: D1,
        billing_period: '2026-03',
        customer_id: 'beta',
        tier: 'growth',
        mrr: 1000,
        direct_cost: 0,
        shared_cost: 20,
        total_cost: 20,
        currency: 'EUR',
      },
      // D2: acme mrr 40 x 3000/4000 = 30 + requests 6 (AWS) + 3 (Azure) = 39; beta 10 + 3 + 1.5 = 14.5.
      {
        usage_date: D2,
        billing_period: '2026-03',
        customer_id: 'acme',
        tier: 'enterprise',
        mrr: 3000,
        direct_cost: 0,
        shared_cost: 39,
        total_cost: 39,
        currency: 'EUR',
      },
      {
        usage_date: D2,
        billing_period: '2026-03',
        customer_id: 'beta',
        tier: 'growth',
        mrr: 1000,
        direct_cost: 0,
        shared_cost: 14.5,
        total_cost: 14.5,
        currency: 'EUR',
      },
      // D3: acme mrr 60 x 3000/6000 = 30 + even 3 = 33; beta direct 8 (shared-t moved) + 10 + 3 = 21;
      // gamma direct 5 + 20 + 3 = 28.
      {
        usage_date: D3,
        billing_period: '2026-04',
        customer_id: 'acme',
        tier: 'enterprise',
        mrr: 3000,
        direct_cost: 0,
        shared_cost: 33,
        total_cost: 33,
        currency: 'EUR',
      },
      {
        usage_date: D3,
        billing_period: '2026-04',
        customer_id: 'beta',
        tier: 'growth',
        mrr: 1000,
        direct_cost: 8,
        shared_cost: 13,
        total_cost: 21,
        currency: 'EUR',
      },
      {
        usage_date: D3,
        billing_period: '2026-04',
        customer_id: 'gamma',
        tier: 'growth',
        mrr: 2000,
        direct_cost: 5,
        shared_cost: 23,
        total_cost: 28,
        currency: 'EUR',
      },
    ]);
  });

  it('moves a tenant between customers at a version boundary (direct cost and metric shares)', async () => {
    const direct = await rows(
      "SELECT CAST(usage_date AS VARCHAR) AS d, customer_id, cost FROM customer_daily_service_cost WHERE rule_id = 'direct' ORDER BY d, customer_id",
    );
    // shared-t: acme's on D1 (10), beta's on D3 (8); g1 only from gamma's first version (D3, 5).
    expect(direct).toEqual([
      { d: D1, customer_id: 'acme', cost: 10 },
      { d: D3, customer_id: 'beta', cost: 8 },
      { d: D3, customer_id: 'gamma', cost: 5 },
    ]);
  });

  it('breaks a customer day down by provider, service and rule, with two providers', async () => {
    const acmeD2 = await rows(
      'SELECT provider, service, rule_id, driver, cost, currency, rules_version, run_id FROM customer_daily_service_cost' +
        ` WHERE customer_id = 'acme' AND usage_date = DATE '${D2}' ORDER BY provider, service`,
    );
    expect(acmeD2).toEqual([
      // 12 x 2/4 = 6 and 6 x 2/4 = 3: one pool per provider.
      {
        provider: 'AWS',
        service: 'Compute',
        rule_id: 'compute',
        driver: 'requests',
        cost: 6,
        currency: 'EUR',
        rules_version: 'history-1',
        run_id: 'ledger-v2',
      },
      {
        provider: 'AWS',
        service: 'Support',
        rule_id: 'revenue',
        driver: 'mrr',
        cost: 30,
        currency: 'EUR',
        rules_version: 'history-1',
        run_id: 'ledger-v2',
      },
      {
        provider: 'Azure',
        service: 'Compute',
        rule_id: 'compute',
        driver: 'requests',
        cost: 3,
        currency: 'EUR',
        rules_version: 'history-1',
        run_id: 'ledger-v2',
      },
    ]);
    const unattributed = await rows(
      'SELECT CAST(usage_date AS VARCHAR) AS d, billing_period, reason, provider, service, cost, currency FROM unattributed_cost ORDER BY d, provider',
    );
    expect(unattributed).toEqual([
      // g1 before gamma exists: 4; ghost's requests share 1/4 of 12 = 3 (AWS) and of 6 = 1.5 (Azure).
      {
        d: D1,
        billing_period: '2026-03',
        reason: 'unknown_tenant',
        provider: 'AWS',
        service: 'Compute',
        cost: 4,
        currency: 'EUR',
      },
      {
        d: D2,
        billing_period: '2026-03',
        reason: 'unknown_tenant',
        provider: 'AWS',
        service: 'Compute',
        cost: 3,
        currency: 'EUR',
      },
      {
        d: D2,
        billing_period: '2026-03',
        reason: 'unknown_tenant',
        provider: 'Azure',
        service: 'Compute',
        cost: 1.5,
        currency: 'EUR',
      },
    ]);
  });

  it('conserves every day: customers + unattributed + excluded = the line items, and the summary agrees', async () => {
    const summary = await rows(
      'SELECT CAST(usage_date AS VARCHAR) AS d, total_cost, direct_cost, shared_cost, unattributed_cost, excluded_cost, currency FROM daily_summary ORDER BY d',
    );
    expect(summary).toEqual([
      // 40 + 10 + 4 = 54 = 30 + 20 + 4
      {
        d: D1,
        total_cost: 54,
        direct_cost: 10,
        shared_cost: 40,
        unattributed_cost: 4,
        excluded_cost: 0,
        currency: 'EUR',
      },
      // 40 + 12 + 6 = 58 = 39 + 14.5 + 4.5
      {
        d: D2,
        total_cost: 58,
        direct_cost: 0,
        shared_cost: 53.5,
        unattributed_cost: 4.5,
        excluded_cost: 0,
        currency: 'EUR',
      },
      // 60 + 8 + 5 + 9 = 82 = 33 + 21 + 28
      {
        d: D3,
        total_cost: 82,
        direct_cost: 13,
        shared_cost: 69,
        unattributed_cost: 0,
        excluded_cost: 0,
        currency: 'EUR',
      },
    ]);
    const perDay = await rows(
      'SELECT CAST(usage_date AS VARCHAR) AS d, sum(total_cost) AS c FROM customer_daily_cost GROUP BY usage_date ORDER BY d',
    );
    const lineItems = await rows(
      'SELECT CAST(usage_date AS VARCHAR) AS d, sum(cost) AS c FROM hand_line_items GROUP BY usage_date ORDER BY d',
    );
    for (const [i, day] of summary.entries()) {
      expect(Number(perDay[i]?.c) + Number(day.unattributed_cost) + Number(day.excluded_cost)).toBeCloseTo(
        Number(lineItems[i]?.c),
        9,
      );
    }
    expect(await rows(renderCheck('conservation_check', duck.tableRef))).toEqual([]);
  });

  it('publishes each customer day and metric of the telemetry the run used (customer_daily_usage)', async () => {
    const usage = await rows(
      'SELECT CAST(usage_date AS VARCHAR) AS d, billing_period, customer_id, metric, quantity, rules_version, run_id' +
        ' FROM customer_daily_usage ORDER BY d, customer_id',
    );
    expect(num(usage, 'quantity')).toEqual([
      // D0 has no billing (not a run day); D1: g1 has no customer yet (7 dropped), beta's 0 is no row.
      {
        d: D1,
        billing_period: '2026-03',
        customer_id: 'acme',
        metric: 'requests',
        quantity: 5,
        rules_version: 'history-1',
        run_id: 'ledger-v2',
      },
      // D2: shared-t 2 is acme's; ghost has no customer.
      {
        d: D2,
        billing_period: '2026-03',
        customer_id: 'acme',
        metric: 'requests',
        quantity: 2,
        rules_version: 'history-1',
        run_id: 'ledger-v2',
      },
      {
        d: D2,
        billing_period: '2026-03',
        customer_id: 'beta',
        metric: 'requests',
        quantity: 1,
        rules_version: 'history-1',
        run_id: 'ledger-v2',
      },
      // D3: beta = beta 1 + shared-t 4 = 5; gamma g1 2.
      {
        d: D3,
        billing_period: '2026-04',
        customer_id: 'beta',
        metric: 'requests',
        quantity: 5,
        rules_version: 'history-1',
        run_id: 'ledger-v2',
      },
      {
        d: D3,
        billing_period: '2026-04',
        customer_id: 'gamma',
        metric: 'requests',
        quantity: 2,
        rules_version: 'history-1',
        run_id: 'ledger-v2',
      },
    ]);
  });
});
