import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { BILLING_FORMATS } from '../../lib/attribution/billing-formats.ts';
import { DRIVER_KINDS, type DriverKind, driverKindOf, driverSchema } from '../../lib/attribution/drivers.ts';
import { parseRules } from '../../lib/attribution/rules.ts';
import { billingSources, runAttribution } from '../../lib/attribution/stages.ts';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import { defineCustomers } from '../../lib/local/customers-table.ts';
import { defineBillingSource, defineTelemetry } from '../../lib/local/local-sources.ts';
import { tempDir, writeCur2, writeCustomersCsv, writeTelemetryCsv } from '../support/fixtures.ts';

/**
 * A new driver kind is an entry of the kinds list and a SELECT of weights: nothing else of the
 * attribution changes. This throwaway kind, `paid_only`, shares a pool equally among the paid
 * customers (weight 1 each), and leaves it unattributed as `no_paid_customers` on a day without one.
 */
const paidOnly: DriverKind = {
  kind: 'paid_only',
  schema: z.literal('paid_only'),
  weights: {
    source: 'paid_only weights (test)',
    text: `SELECT DISTINCT d.usage_date, 'paid_only' AS driver, c.customer_id, CAST(1 AS double) AS weight
FROM (SELECT DISTINCT usage_date FROM \${pools} WHERE driver = 'paid_only') AS d
CROSS JOIN (SELECT DISTINCT customer_id FROM \${tenant_customers}) AS c
WHERE c.customer_id IN ('acme', 'beta')`,
  },
  noWeightReason: 'no_paid_customers',
  placeholders: () => ({}),
};

describe('driver kinds', () => {
  it('match a rule driver to its kind, even before metric (which takes any name)', () => {
    expect(driverKindOf('even').kind).toBe('even');
    expect(driverKindOf('requests').kind).toBe('metric');
    expect(driverKindOf('paid_only', [paidOnly, ...DRIVER_KINDS]).kind).toBe('paid_only');
    expect(driverSchema().safeParse('two words').success).toBe(false);
  });

  it('a throwaway kind, added through the list alone, shares a pool by its own weights', async () => {
    const dir = tempDir();
    const day = '2026-10-01';
    const engine = await DuckDbEngine.create({ threads: 1 });
    try {
      // acme and beta are paid, gamma is free: only the first two get the paid_only pool.
      await defineCustomers(
        engine,
        writeCustomersCsv(join(dir, 'customers.csv'), [{ id: 'acme' }, { id: 'beta' }, { id: 'gamma' }]),
      );
      await defineTelemetry(engine, [
        writeTelemetryCsv(join(dir, 'usage.csv'), [
          { date: day, tenant: 'acme', metric: 'requests', quantity: 1 },
        ]),
      ]);
      await defineBillingSource(
        engine,
        [
          await writeCur2(join(dir, 'cur.parquet'), [
            { date: day, service: 'AmazonEC2', cost: 9 },
            { date: day, service: 'AmazonS3', cost: 3 },
          ]),
        ],
        'cur2',
        'tenant_id',
      );
      const rules = parseRules(
        {
          version: 'kinds-1',
          rules: [
            { id: 'compute', match: { services: ['AmazonEC2'] }, driver: 'paid_only' },
            { id: 'rest', match: {}, driver: 'even' },
          ],
        },
        'test',
      );
      await runAttribution(engine, {
        runId: 'r',
        rules,
        sources: billingSources(BILLING_FORMATS.cur2),
        driverKinds: [paidOnly, ...DRIVER_KINDS],
      });
      const rows = await engine.query(
        'SELECT customer_id, service, rule_id, driver, cost FROM customer_daily_service_cost ORDER BY customer_id, service',
      );
      // EC2 9 by paid_only: 4.5 each to acme and beta. S3 3 by even over all three: 1 each.
      expect(rows).toEqual([
        { customer_id: 'acme', service: 'AmazonEC2', rule_id: 'compute', driver: 'paid_only', cost: 4.5 },
        { customer_id: 'acme', service: 'AmazonS3', rule_id: 'rest', driver: 'even', cost: 1 },
        { customer_id: 'beta', service: 'AmazonEC2', rule_id: 'compute', driver: 'paid_only', cost: 4.5 },
        { customer_id: 'beta', service: 'AmazonS3', rule_id: 'rest', driver: 'even', cost: 1 },
        { customer_id: 'gamma', service: 'AmazonS3', rule_id: 'rest', driver: 'even', cost: 1 },
      ]);
    } finally {
      engine.close();
    }
  });

  it("leaves a pool whose kind has no weight that day unattributed with the kind's reason", async () => {
    const dir = tempDir();
    const day = '2026-10-01';
    const engine = await DuckDbEngine.create({ threads: 1 });
    try {
      await defineCustomers(engine, writeCustomersCsv(join(dir, 'customers.csv'), [{ id: 'gamma' }]));
      await defineTelemetry(engine, [writeTelemetryCsv(join(dir, 'usage.csv'), [])]);
      await defineBillingSource(
        engine,
        [await writeCur2(join(dir, 'cur.parquet'), [{ date: day, service: 'AmazonEC2', cost: 9 }])],
        'cur2',
        'tenant_id',
      );
      const rules = parseRules(
        { version: 'kinds-2', rules: [{ id: 'compute', match: {}, driver: 'paid_only' }] },
        'test',
      );
      await runAttribution(engine, {
        runId: 'r',
        rules,
        sources: billingSources(BILLING_FORMATS.cur2),
        driverKinds: [paidOnly, ...DRIVER_KINDS],
      });
      expect(await engine.query('SELECT reason, service, cost FROM unattributed_cost')).toEqual([
        { reason: 'no_paid_customers', service: 'AmazonEC2', cost: 9 },
      ]);
    } finally {
      engine.close();
    }
  });
});
