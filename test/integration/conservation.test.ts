import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BILLING_FORMATS } from '../../lib/attribution/billing-formats.ts';
import { defaultRules } from '../../lib/attribution/rules.ts';
import { billingSources, ConservationError, runAttribution } from '../../lib/attribution/stages.ts';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import { defineCustomers } from '../../lib/local/customers-table.ts';
import { defineBillingSource, defineTelemetry } from '../../lib/local/local-sources.ts';
import { tempDir, writeCur2, writeCustomersCsv, writeTelemetryCsv } from '../support/fixtures.ts';

/** Loads a one-day scenario: 10 direct to acme, 6 by requests (acme 1 : beta 2), 3 of tax. */
async function loadScenario(engine: DuckDbEngine) {
  const dir = tempDir();
  const day = '2026-10-01';
  await defineCustomers(engine, writeCustomersCsv(join(dir, 'c.csv'), [{ id: 'acme' }, { id: 'beta' }]));
  await defineTelemetry(engine, [
    writeTelemetryCsv(join(dir, 't.csv'), [
      { date: day, tenant: 'acme', metric: 'requests', quantity: 1 },
      { date: day, tenant: 'beta', metric: 'requests', quantity: 2 },
    ]),
  ]);
  await defineBillingSource(
    engine,
    [
      await writeCur2(join(dir, 'cur.parquet'), [
        { date: day, service: 'AmazonEC2', cost: 10, tenant: 'acme' },
        { date: day, service: 'AmazonEC2', cost: 6 },
        { date: day, service: 'AmazonEC2', cost: 3, type: 'Tax' },
      ]),
    ],
    'cur2',
    'tenant_id',
  );
}

const run = { runId: 'r', rules: defaultRules(), sources: billingSources(BILLING_FORMATS.cur2) };

describe('the conservation check', () => {
  it('holds on a correct run, and the numbers are the hand-worked ones', async () => {
    const engine = await DuckDbEngine.create({ threads: 1 });
    try {
      await loadScenario(engine);
      await runAttribution(engine, run);
      // acme 10 + 6 x 1/3 = 12, beta 6 x 2/3 = 4, tax 3 excluded: 12 + 4 + 3 = 19.
      const rows = await engine.query(
        'SELECT customer_id, total_cost FROM customer_daily_cost ORDER BY customer_id',
      );
      expect(rows.map((r) => [r.customer_id, r.total_cost])).toEqual([
        ['acme', 12],
        ['beta', 4],
      ]);
    } finally {
      engine.close();
    }
  });

  it('fails the run when a stage loses money, naming the day and the difference', async () => {
    // An engine whose ledger silently drops the excluded tax: exactly the kind of bug the law exists for.
    const engine = await DuckDbEngine.create({ threads: 1 });
    const createTable = engine.createTable.bind(engine);
    engine.createTable = async (name, select) => {
      await createTable(name, select);
      if (name === 'allocated_cost')
        await engine.run("DELETE FROM allocated_cost WHERE outcome = 'excluded'");
    };
    try {
      await loadScenario(engine);
      const failure = runAttribution(engine, run);
      await expect(failure).rejects.toBeInstanceOf(ConservationError);
      await expect(failure).rejects.toThrow(
        'Conservation broken on 1 day(s), first 2026-10-01: customers 16 + unattributed 0 + excluded 0 differs from total 19 by -3',
      );
    } finally {
      engine.close();
    }
  });
});
