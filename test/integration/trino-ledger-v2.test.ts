import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULT_TABLES, RUN_CHECK_NAMES, renderCheck } from '../../lib/attribution/stages.ts';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import { TrinoEngine } from '../../lib/engine/trino-engine.ts';
import { defineCustomers } from '../../lib/local/customers-table.ts';
import {
  D1,
  D2,
  D3,
  historyCustomers,
  historyItems,
  historyRules,
  historyUsage,
  loadHandCustomers,
  loadHandInputs,
  runHandAttribution,
  writeHandCustomersCsv,
} from '../support/ledger-v2.ts';
import { expectSameRows } from '../support/trino-agreement.ts';
import { startTrinoServer, type TrinoServer } from '../support/trino-server.ts';

// The effective-dated scenario of test/integration/ledger-v2-history.test.ts (customer versions, a tenant
// moving at a boundary, a customer before its first version, two providers, customer_daily_usage) on a real
// Trino and on DuckDB: the same rows in every result table and check, and the hand-worked totals on Trino.
// DuckDB reads the customers CSV as a local run does; Trino reads the same versions typed (hand_customers).

let server: TrinoServer;
let trino: TrinoEngine;
let duck: DuckDbEngine;

beforeAll(async () => {
  server = await startTrinoServer();
  trino = await TrinoEngine.create({ url: server.url, schema: 'ledger_v2' });
  duck = await DuckDbEngine.create({ threads: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'trino-ledger-v2-'));
  await defineCustomers(duck, writeHandCustomersCsv(join(dir, 'customers.csv'), historyCustomers));
  await loadHandCustomers(trino, historyCustomers);
  await loadHandInputs(duck, historyItems, historyUsage);
  await loadHandInputs(trino, historyItems, historyUsage);
  await Promise.all([
    runHandAttribution(trino, historyRules, 'hand_customers'),
    runHandAttribution(duck, historyRules),
  ]);
}, 420_000);

afterAll(async () => {
  duck?.close();
  await server?.stop();
}, 30_000);

describe('Trino and DuckDB agree on customers with history', () => {
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

  it('gives the hand-worked totals on Trino', async () => {
    const rows = await trino.query(
      'SELECT CAST(usage_date AS varchar) AS day, customer_id, tier, mrr, round(total_cost, 9) AS total_cost' +
        ` FROM ${trino.tableRef('customer_daily_cost')} ORDER BY day, customer_id`,
    );
    // D1: acme 10 direct + 40 x 1000/2000 = 30, beta 20 (gamma not yet). D2: acme MRR 3000: 30 + 6 + 3 = 39,
    // beta 10 + 3 + 1.5 = 14.5. D3: acme 30 + 3 = 33, beta 8 + 10 + 3 = 21, gamma 5 + 20 + 3 = 28.
    expect(rows.map((r) => [r.day, r.customer_id, r.tier, Number(r.mrr), Number(r.total_cost)])).toEqual([
      [D1, 'acme', 'growth', 1000, 30],
      [D1, 'beta', 'growth', 1000, 20],
      [D2, 'acme', 'enterprise', 3000, 39],
      [D2, 'beta', 'growth', 1000, 14.5],
      [D3, 'acme', 'enterprise', 3000, 33],
      [D3, 'beta', 'growth', 1000, 21],
      [D3, 'gamma', 'growth', 2000, 28],
    ]);
    // Conservation on Trino: 54, 58 and 82 of line items = customers + unattributed (4, 4.5, 0).
    const summary = await trino.query(
      `SELECT CAST(usage_date AS varchar) AS day, total_cost, unattributed_cost FROM ${trino.tableRef('daily_summary')} ORDER BY day`,
    );
    expect(summary.map((r) => [r.day, Number(r.total_cost), Number(r.unattributed_cost)])).toEqual([
      [D1, 54, 4],
      [D2, 58, 4.5],
      [D3, 82, 0],
    ]);
  });
});
