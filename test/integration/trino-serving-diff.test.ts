import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrinoEngine } from '../../lib/engine/trino-engine.ts';
import { servingDaysSelect, servingMonthsSelect } from '../../lib/pipeline/serving-unload.ts';
import { CUSTOMER_DAILY_COST_COLUMNS, customerDailyCostRow } from '../support/serving-athena.ts';
import {
  diffRows,
  EXPECTED_ALL_DAYS,
  EXPECTED_DAYS,
  EXPECTED_MONTHS,
  monthRows,
  NEW_DAYS,
  NEW_RUN,
  OTHER_DAYS,
  OTHER_RUN,
  PERIOD,
  VISIBLE_DAYS,
  VISIBLE_RUN,
} from '../support/serving-diff-cases.ts';
import { startTrinoServer, type TrinoServer } from '../support/trino-server.ts';

// The serving diff and month SQL on a real Trino (the engine under Athena v3), on the cases DuckDB runs
// in serving-diff.test.ts: same rows expected, worked out by hand in test/support/serving-diff-cases.ts.
let server: TrinoServer;
let trino: TrinoEngine;

beforeAll(async () => {
  server = await startTrinoServer();
  trino = await TrinoEngine.create({ url: server.url, schema: 'serving_diff' });
  const columns = CUSTOMER_DAILY_COST_COLUMNS.map((c) => ({ ...c }));
  await trino.loadTable(
    'run_customer_daily_cost',
    columns,
    NEW_DAYS.map((d) => customerDailyCostRow(NEW_RUN, PERIOD, d)),
  );
  await trino.loadTable('customer_daily_cost_runs', columns, [
    ...VISIBLE_DAYS.map((d) => customerDailyCostRow(VISIBLE_RUN, PERIOD, d)),
    ...OTHER_DAYS.map((d) => customerDailyCostRow(OTHER_RUN, PERIOD, d)),
  ]);
}, 240_000);

afterAll(async () => {
  await server?.stop();
}, 30_000);

const tables = () => ({
  run: trino.tableRef('run_customer_daily_cost'),
  runs: trino.tableRef('customer_daily_cost_runs'),
});

describe('serving diff SQL on Trino', () => {
  it('the changed and new days, and a tombstone for each day the visible run has and this one does not', async () => {
    expect(diffRows(await trino.query(servingDaysSelect(tables(), PERIOD, VISIBLE_RUN)))).toEqual(
      EXPECTED_DAYS,
    );
  });

  it('every day of the period when no run is visible', async () => {
    const rows = diffRows(await trino.query(servingDaysSelect(tables(), PERIOD, null)));
    expect(rows).toHaveLength(EXPECTED_ALL_DAYS);
    expect(rows.every(([, date, deleted]) => date.startsWith('2026-10-') && !deleted)).toBe(true);
  });

  it('every customer’s month, with the dimensions of its latest day', async () => {
    expect(monthRows(await trino.query(servingMonthsSelect(tables(), PERIOD)))).toEqual(EXPECTED_MONTHS);
  });
});
