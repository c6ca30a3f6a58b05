import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BILLING_FORMATS } from '../../lib/attribution/billing-formats.ts';
import { parseRules } from '../../lib/attribution/rules.ts';
import { billingSources, runAttribution } from '../../lib/attribution/stages.ts';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import type { Row } from '../../lib/engine/query-engine.ts';
import { InputError } from '../../lib/inputs/input-error.ts';
import { defineCustomers } from '../../lib/local/customers-table.ts';
import { defineBillingSource, defineTelemetry } from '../../lib/local/local-sources.ts';
import { runLocal } from '../../lib/local/run-local.ts';
import {
  type TestCustomer,
  type TestLineItem,
  type TestUsage,
  tempDir,
  writeCur2,
  writeCustomersCsv,
  writeTelemetryCsv,
} from '../support/fixtures.ts';

interface Scenario {
  readonly customers: readonly TestCustomer[];
  readonly usage: readonly TestUsage[];
  readonly items: readonly TestLineItem[];
  readonly rules: readonly unknown[];
}

interface Outcome {
  /** customer_daily_service_cost, by day, customer and service. */
  readonly customers: Row[];
  /** unattributed_cost, by day, reason and service. */
  readonly unattributed: Row[];
  /** Per day: the bill's total and customers + unattributed + excluded, which must agree. */
  readonly days: Row[];
}

/** Runs the attribution of a scenario on DuckDB (the run's own conservation check included). */
async function attribute(scenario: Scenario): Promise<Outcome> {
  const dir = tempDir();
  const engine = await DuckDbEngine.create({ threads: 1 });
  try {
    await defineCustomers(engine, writeCustomersCsv(join(dir, 'customers.csv'), scenario.customers));
    await defineTelemetry(engine, [writeTelemetryCsv(join(dir, 'usage.csv'), scenario.usage)]);
    await defineBillingSource(
      engine,
      [await writeCur2(join(dir, 'cur.parquet'), scenario.items)],
      'cur2',
      'tenant_id',
    );
    const rules = parseRules({ version: 'drivers-v2', rules: scenario.rules }, 'test');
    await runAttribution(engine, { runId: 'r', rules, sources: billingSources(BILLING_FORMATS.cur2) });
    return {
      customers: await engine.query(
        'SELECT CAST(usage_date AS varchar) AS day, customer_id, service, rule_id, driver, round(cost, 9) AS cost' +
          ' FROM customer_daily_service_cost ORDER BY day, customer_id, service',
      ),
      unattributed: await engine.query(
        'SELECT CAST(usage_date AS varchar) AS day, reason, service, round(cost, 9) AS cost' +
          ' FROM unattributed_cost ORDER BY day, reason, service',
      ),
      days: await engine.query(
        'SELECT CAST(usage_date AS varchar) AS day, round(total_cost, 9) AS total,' +
          ' round(direct_cost + shared_cost + unattributed_cost + excluded_cost, 9) AS accounted' +
          ' FROM daily_summary ORDER BY day',
      ),
    };
  } finally {
    engine.close();
  }
}

describe('drivers v2 (docs/attribution.md section 4)', () => {
  it('mrr: shares by the MRR of the customers active that day; no_revenue, then no_active_customers', async () => {
    const outcome = await attribute({
      // Oct 1: acme (3000) and beta (1000) active, gamma (trial, 0) too, delta ended in September.
      // Oct 2: only gamma is active (MRR 0). Oct 3: nobody is.
      customers: [
        { id: 'acme', mrr: 3000, end: '2026-10-01' },
        { id: 'beta', mrr: 1000, end: '2026-10-01' },
        { id: 'gamma', plan: 'trial', mrr: 0, end: '2026-10-02' },
        { id: 'delta', mrr: 5000, end: '2026-09-30' },
      ],
      usage: [],
      items: [
        { date: '2026-10-01', service: 'AmazonEC2', cost: 8 },
        { date: '2026-10-02', service: 'AmazonEC2', cost: 5 },
        { date: '2026-10-03', service: 'AmazonEC2', cost: 2 },
      ],
      rules: [{ id: 'by-revenue', match: {}, driver: 'mrr' }],
    });
    // Oct 1: 8 x 3000/4000 = 6 and 8 x 1000/4000 = 2; gamma's 8 x 0/4000 is no row.
    expect(outcome.customers).toEqual([
      {
        day: '2026-10-01',
        customer_id: 'acme',
        service: 'AmazonEC2',
        rule_id: 'by-revenue',
        driver: 'mrr',
        cost: 6,
      },
      {
        day: '2026-10-01',
        customer_id: 'beta',
        service: 'AmazonEC2',
        rule_id: 'by-revenue',
        driver: 'mrr',
        cost: 2,
      },
    ]);
    expect(outcome.unattributed).toEqual([
      { day: '2026-10-02', reason: 'no_revenue', service: 'AmazonEC2', cost: 5 },
      { day: '2026-10-03', reason: 'no_active_customers', service: 'AmazonEC2', cost: 2 },
    ]);
    expect(outcome.days).toEqual([
      { day: '2026-10-01', total: 8, accounted: 8 },
      { day: '2026-10-02', total: 5, accounted: 5 },
      { day: '2026-10-03', total: 2, accounted: 2 },
    ]);
  });

  it('windowDays at a month start: sums the last days of the previous month, unknown tenants included', async () => {
    const outcome = await attribute({
      customers: [{ id: 'acme' }, { id: 'beta' }],
      // The 3-day window of Nov 1 is Oct 30, Oct 31, Nov 1: acme 1 + 1 = 2, beta 4, zeta (no customer) 2.
      // Oct 29 (before the window) and Nov 2 (after it) do not count.
      usage: [
        { date: '2026-10-29', tenant: 'beta', metric: 'requests', quantity: 100 },
        { date: '2026-10-30', tenant: 'acme', metric: 'requests', quantity: 1 },
        { date: '2026-10-31', tenant: 'beta', metric: 'requests', quantity: 4 },
        { date: '2026-11-01', tenant: 'acme', metric: 'requests', quantity: 1 },
        { date: '2026-11-01', tenant: 'zeta', metric: 'requests', quantity: 2 },
        { date: '2026-11-02', tenant: 'beta', metric: 'requests', quantity: 100 },
        { date: '2026-11-01', tenant: 'acme', metric: 'storage_bytes', quantity: 50 },
      ],
      items: [
        { date: '2026-11-01', service: 'AmazonEC2', cost: 16 },
        { date: '2026-11-01', service: 'AmazonS3', cost: 3 },
      ],
      rules: [
        { id: 'compute', match: { services: ['AmazonEC2'] }, driver: { metric: 'requests', windowDays: 3 } },
        // windowDays 1 is the plain metric, labelled as such.
        { id: 'storage', match: {}, driver: { metric: 'storage_bytes', windowDays: 1 } },
      ],
    });
    // 16 over 8: acme 2/8 = 4, beta 4/8 = 8, zeta 2/8 = 4 unattributed as unknown_tenant.
    expect(outcome.customers).toEqual([
      {
        day: '2026-11-01',
        customer_id: 'acme',
        service: 'AmazonEC2',
        rule_id: 'compute',
        driver: 'requests/3d',
        cost: 4,
      },
      {
        day: '2026-11-01',
        customer_id: 'acme',
        service: 'AmazonS3',
        rule_id: 'storage',
        driver: 'storage_bytes',
        cost: 3,
      },
      {
        day: '2026-11-01',
        customer_id: 'beta',
        service: 'AmazonEC2',
        rule_id: 'compute',
        driver: 'requests/3d',
        cost: 8,
      },
    ]);
    expect(outcome.unattributed).toEqual([
      { day: '2026-11-01', reason: 'unknown_tenant', service: 'AmazonEC2', cost: 4 },
    ]);
    expect(outcome.days).toEqual([{ day: '2026-11-01', total: 19, accounted: 19 }]);
  });

  it('a window with no signal in its days leaves the pool unattributed as no_usage_signal', async () => {
    const outcome = await attribute({
      customers: [{ id: 'acme' }],
      // Oct 25 is outside Nov 1's 7-day window (Oct 26 to Nov 1).
      usage: [{ date: '2026-10-25', tenant: 'acme', metric: 'requests', quantity: 9 }],
      items: [{ date: '2026-11-01', service: 'AmazonEC2', cost: 7 }],
      rules: [{ id: 'compute', match: {}, driver: { metric: 'requests', windowDays: 7 } }],
    });
    expect(outcome.customers).toEqual([]);
    expect(outcome.unattributed).toEqual([
      { day: '2026-11-01', reason: 'no_usage_signal', service: 'AmazonEC2', cost: 7 },
    ]);
  });

  it('weighted blends: each part by its own driver; a part without signal stays unattributed', async () => {
    const outcome = await attribute({
      customers: [
        { id: 'acme', mrr: 3000 },
        { id: 'beta', mrr: 1000 },
      ],
      // requests: acme 1, beta 3. No storage_bytes telemetry at all.
      usage: [
        { date: '2026-10-01', tenant: 'acme', metric: 'requests', quantity: 1 },
        { date: '2026-10-01', tenant: 'beta', metric: 'requests', quantity: 3 },
      ],
      items: [
        { date: '2026-10-01', service: 'AmazonEC2', cost: 10 },
        { date: '2026-10-01', service: 'AmazonS3', cost: 12 },
      ],
      rules: [
        {
          id: 'search',
          match: { services: ['AmazonEC2'] },
          driver: { weights: { requests: 0.7, storage_bytes: 0.3 } },
        },
        { id: 'platform', match: {}, driver: { weights: { even: 0.5, mrr: 0.5 } } },
      ],
    });
    // EC2 10: the requests part 7 -> acme 7/4 = 1.75, beta 21/4 = 5.25; the storage part 3 has no signal
    // and is not handed to requests. S3 12: even part 6 -> 3 each; mrr part 6 -> acme 4.5, beta 1.5; so
    // acme 7.5, beta 4.5, one row each.
    const blend = 'weights(requests=0.7,storage_bytes=0.3)';
    const platform = 'weights(even=0.5,mrr=0.5)';
    expect(outcome.customers).toEqual([
      {
        day: '2026-10-01',
        customer_id: 'acme',
        service: 'AmazonEC2',
        rule_id: 'search',
        driver: blend,
        cost: 1.75,
      },
      {
        day: '2026-10-01',
        customer_id: 'acme',
        service: 'AmazonS3',
        rule_id: 'platform',
        driver: platform,
        cost: 7.5,
      },
      {
        day: '2026-10-01',
        customer_id: 'beta',
        service: 'AmazonEC2',
        rule_id: 'search',
        driver: blend,
        cost: 5.25,
      },
      {
        day: '2026-10-01',
        customer_id: 'beta',
        service: 'AmazonS3',
        rule_id: 'platform',
        driver: platform,
        cost: 4.5,
      },
    ]);
    expect(outcome.unattributed).toEqual([
      { day: '2026-10-01', reason: 'no_usage_signal', service: 'AmazonEC2', cost: 3 },
    ]);
    expect(outcome.days).toEqual([{ day: '2026-10-01', total: 22, accounted: 22 }]);
  });

  it('fixed splits: the shares as written, whatever the activity; two splits stay apart', async () => {
    const outcome = await attribute({
      // beta ended in September: a fixed split still gives it its share.
      customers: [{ id: 'acme' }, { id: 'beta', end: '2026-09-30' }, { id: 'gamma' }],
      usage: [],
      items: [
        { date: '2026-10-01', service: 'AmazonEC2', cost: 20 },
        { date: '2026-10-01', service: 'AmazonRDS', cost: 4 },
      ],
      rules: [
        { id: 'contract', match: { services: ['AmazonEC2'] }, driver: { fixed: { acme: 0.25, beta: 0.75 } } },
        { id: 'gamma-db', match: {}, driver: { fixed: { gamma: 1 } } },
      ],
    });
    // 20 x 0.25 = 5 and 20 x 0.75 = 15; RDS 4 all to gamma.
    expect(outcome.customers).toEqual([
      {
        day: '2026-10-01',
        customer_id: 'acme',
        service: 'AmazonEC2',
        rule_id: 'contract',
        driver: 'fixed',
        cost: 5,
      },
      {
        day: '2026-10-01',
        customer_id: 'beta',
        service: 'AmazonEC2',
        rule_id: 'contract',
        driver: 'fixed',
        cost: 15,
      },
      {
        day: '2026-10-01',
        customer_id: 'gamma',
        service: 'AmazonRDS',
        rule_id: 'gamma-db',
        driver: 'fixed',
        cost: 4,
      },
    ]);
    expect(outcome.unattributed).toEqual([]);
    expect(outcome.days).toEqual([{ day: '2026-10-01', total: 24, accounted: 24 }]);
  });

  it('a fixed id that is no customer (the run refuses it first) would be unattributed, never a customer', async () => {
    const outcome = await attribute({
      customers: [{ id: 'acme' }],
      usage: [],
      items: [{ date: '2026-10-01', service: 'AmazonEC2', cost: 10 }],
      rules: [{ id: 'contract', match: {}, driver: { fixed: { acme: 0.5, ghost: 0.5 } } }],
    });
    expect(outcome.customers).toEqual([
      {
        day: '2026-10-01',
        customer_id: 'acme',
        service: 'AmazonEC2',
        rule_id: 'contract',
        driver: 'fixed',
        cost: 5,
      },
    ]);
    expect(outcome.unattributed).toEqual([
      { day: '2026-10-01', reason: 'unknown_tenant', service: 'AmazonEC2', cost: 5 },
    ]);
  });

  it('a local run refuses a fixed split naming an id the customers file lacks, and writes nothing', async () => {
    const dir = tempDir();
    const rulesFile = join(dir, 'rules.json');
    writeFileSync(
      rulesFile,
      JSON.stringify({
        version: 'v',
        rules: [{ id: 'contract', match: {}, driver: { fixed: { acme: 0.5, acne: 0.5 } } }],
      }),
    );
    const work = runLocal({
      billing: [
        await writeCur2(join(dir, 'cur.parquet'), [{ date: '2026-10-01', service: 'AmazonEC2', cost: 1 }]),
      ],
      telemetry: [writeTelemetryCsv(join(dir, 'usage.csv'), [])],
      customers: writeCustomersCsv(join(dir, 'customers.csv'), [{ id: 'acme' }, { id: 'beta' }]),
      rulesFile,
      outDir: join(dir, 'out'),
      runId: 'fixed-unknown',
      engine: { threads: 1 },
    });
    await expect(work).rejects.toThrow(InputError);
    await expect(work).rejects.toThrow(
      `${rulesFile}, column "rules.0.driver.fixed.acne": rule "contract": the fixed split names customer "acne",` +
        ' which the customer dimension does not have',
    );
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });
});
