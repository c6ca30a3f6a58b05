import { AthenaClient } from '@aws-sdk/client-athena';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULT_TABLES } from '../../lib/attribution/stages.ts';
import { AthenaEngine } from '../../lib/engine/athena-engine.ts';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import type { Row } from '../../lib/engine/query-engine.ts';
import {
  FINANCE_VIEW_NAMES,
  FINANCE_VIEWS,
  renderFinanceExample,
  runFinanceView,
} from '../../lib/finance/finance-registry.ts';
import { loadRunResults } from '../../lib/local/query-command.ts';
import { applyFinanceViews, publishedViewRef } from '../../lib/pipeline/create-finance-views.ts';
import { publishedColumns, runsTableName } from '../../lib/pipeline/published-views.ts';
import { sqlString } from '../../lib/sql/sql-template.ts';
import { generatedRun } from '../support/generated-run.ts';

// The statements the stack's custom resource runs in Athena (the published views over the `_runs` tables,
// then CREATE OR REPLACE VIEW over those and the all-text customers table, read typed), run here on DuckDB over a real local run's
// results: every view must give exactly the rows `cpc query` gives on the same results.

let engine: DuckDbEngine;

beforeAll(async () => {
  const { files, outDir: out } = await generatedRun({ seed: 11, lineItems: 5_000, customers: 30 });
  engine = await DuckDbEngine.create();
  // The local results, as `cpc query` reads them (schema main).
  await loadRunResults(engine, out, { customers: files.customersFile });
  // The same results laid out as the Glue catalog has them: database cost_per_customer with each
  // result's `_runs` table (this run, and a replaced run's copy of the same rows that the published views
  // must leave out), the pointer's image `published_runs`, and customers as text (the Open CSV SerDe
  // reads every column as a string).
  await engine.run('CREATE SCHEMA cost_per_customer');
  await engine.run('CREATE SCHEMA cost_per_customer_finance');
  for (const table of RESULT_TABLES) {
    await engine.run(
      `CREATE TABLE cost_per_customer.${runsTableName(table)} AS SELECT ${publishedColumns(table).join(', ')} FROM main.${table}` +
        ` UNION ALL SELECT * REPLACE ('replaced-run' AS run_id) FROM (SELECT ${publishedColumns(table).join(', ')} FROM main.${table})`,
    );
  }
  await engine.run(
    'CREATE TABLE cost_per_customer.published_runs AS SELECT DISTINCT billing_period, run_id, ' +
      "'2026-10-14T08:00:00.000Z' AS delivered_at, '2026-10-14T09:00:00.000Z' AS published_at FROM main.daily_summary",
  );
  await engine.run(
    // The Glue table's last column, effective_from, reads as NULL where the file has no such column.
    'CREATE TABLE cost_per_customer.customers AS SELECT *, CAST(NULL AS VARCHAR) AS effective_from FROM ' +
      `read_csv(${sqlString(files.customersFile).sql}, header = true, all_varchar = true)`,
  );
});
afterAll(() => engine?.close());

const createEvent = {
  RequestType: 'Create',
  ResourceProperties: {
    ServiceToken: 'arn:aws:lambda:eu-west-1:111122223333:function:provider',
    Database: 'cost_per_customer',
    FinanceDatabase: 'cost_per_customer_finance',
    Fingerprint: 'abc',
    DropOnDelete: 'false',
  },
} as unknown as CloudFormationCustomResourceEvent;

/** Table references exactly as the deployed handler renders them (AthenaEngine's typed customers). */
function deployedTableRef(database: string): (table: string) => string {
  const athena = new AthenaEngine({
    client: new AthenaClient({ region: 'eu-west-1' }),
    workgroup: 'cost-per-customer',
    database,
    resultsBucket: 'cpc-results-111122223333',
    runId: 'create-finance-views',
  });
  return publishedViewRef(database, athena.tableRef);
}

function close(actual: Row[], expected: Row[], view: string): void {
  expect(actual.length, view).toBe(expected.length);
  expected.forEach((row, index) => {
    for (const [column, value] of Object.entries(row)) {
      const got = actual[index]?.[column];
      if (typeof value === 'number' && typeof got === 'number') {
        expect(got, `${view} row ${index} ${column}`).toBeCloseTo(value, 9);
      } else {
        expect(got, `${view} row ${index} ${column}`).toEqual(value);
      }
    }
  });
}

describe('the finance views as deployed', () => {
  it('create on DuckDB from the statements Athena runs, and give the rows cpc query gives', async () => {
    await applyFinanceViews(createEvent, {
      engineFor: (database) => ({ run: (sql) => engine.run(sql), tableRef: deployedTableRef(database) }),
    });
    let rowsCompared = 0;
    for (const view of FINANCE_VIEW_NAMES) {
      const order = FINANCE_VIEWS[view].grain.join(', ');
      const deployed = await engine.query(
        `SELECT * FROM cost_per_customer_finance.${view} ORDER BY ${order}`,
      );
      const local = await runFinanceView(engine, view);
      close(deployed, local, view);
      rowsCompared += local.length;
    }
    // 30 customers over a month: every view has rows, so the comparison compares something.
    expect(rowsCompared).toBeGreaterThan(100);
  });

  it("run each view's example query (the named queries) on the deployed views", async () => {
    // Views exist from the test above (same file, run in order).
    const counts: Record<string, number> = {};
    for (const view of FINANCE_VIEW_NAMES) {
      const rows = await engine.query(renderFinanceExample(view, `cost_per_customer_finance.${view}`));
      counts[view] = rows.length;
    }
    // The month is complete and has 30 customers: the listing examples return rows. (The last-30-days
    // one is relative to today, and the one-service one depends on the generated mix: they must run.)
    expect(counts.customer_monthly_cost).toBe(20);
    expect(counts.tier_margin).toBeGreaterThan(0);
    expect(counts.free_tier_economics).toBe(1);
  });
});
