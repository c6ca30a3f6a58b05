import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLayout } from '../../lib/pipeline/run-layout.ts';
import {
  servingDaysSelect,
  servingDiffTables,
  servingMonthsSelect,
} from '../../lib/pipeline/serving-unload.ts';
import {
  DATABASE,
  RESULTS_BUCKET,
  type ServingAthena,
  startServingAthena,
} from '../support/serving-athena.ts';
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

// The serving diff and month SQL on DuckDB (trino-serving-diff.test.ts runs the same cases on Trino).
let athena: ServingAthena;
// The references Athena gets: the new run's CTAS table and the partitioned table of published runs.
const tables = servingDiffTables(
  runLayout({ runId: NEW_RUN, billingPeriod: PERIOD }, { database: DATABASE, resultsBucket: RESULTS_BUCKET }),
);

beforeAll(async () => {
  athena = await startServingAthena();
  await athena.createRunTable(VISIBLE_RUN, PERIOD, VISIBLE_DAYS);
  await athena.registerRun(VISIBLE_RUN, PERIOD);
  await athena.createRunTable(OTHER_RUN, PERIOD, OTHER_DAYS);
  await athena.registerRun(OTHER_RUN, PERIOD);
  await athena.createRunTable(NEW_RUN, PERIOD, NEW_DAYS);
});
afterAll(() => athena.close());

describe('serving diff SQL on DuckDB', () => {
  it('the changed and new days, and a tombstone for each day the visible run has and this one does not', async () => {
    expect(diffRows(await athena.duck.query(servingDaysSelect(tables, PERIOD, VISIBLE_RUN)))).toEqual(
      EXPECTED_DAYS,
    );
  });

  it('every day of the period when no run is visible', async () => {
    const rows = diffRows(await athena.duck.query(servingDaysSelect(tables, PERIOD, null)));
    expect(rows).toHaveLength(EXPECTED_ALL_DAYS);
    expect(rows.every(([, date, deleted]) => date.startsWith('2026-10-') && !deleted)).toBe(true);
  });

  it('every customer’s month, with the dimensions of its latest day', async () => {
    expect(monthRows(await athena.duck.query(servingMonthsSelect(tables, PERIOD)))).toEqual(EXPECTED_MONTHS);
  });
});
