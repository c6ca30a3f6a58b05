import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULT_TABLES } from '../../lib/attribution/stages.ts';
import { RESULT_COLUMNS } from '../../lib/catalog/glue-schemas.ts';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import {
  createPublishedViewStatements,
  PUBLISHED_RUNS_TABLE,
  publishedColumns,
  runsTableName,
} from '../../lib/pipeline/published-views.ts';

// The published views' SQL, run on DuckDB over hand-made `_runs` tables and a `published_runs` image:
// a view shows, for each period, exactly the run the image names, whatever other runs are registered.
const DB = 'cost_per_customer';
const DUCK_TYPES: Record<string, string> = { string: 'VARCHAR', double: 'DOUBLE', date: 'DATE' };
let engine: DuckDbEngine;

beforeAll(async () => {
  engine = await DuckDbEngine.create({ threads: 1 });
  await engine.connection.run(`CREATE SCHEMA ${DB}`);
  for (const result of RESULT_TABLES) {
    const columns = RESULT_COLUMNS[result].map((column) => `${column.name} ${DUCK_TYPES[column.type]}`);
    await engine.connection.run(
      `CREATE TABLE ${DB}.${runsTableName(result)} (${[...columns, 'billing_period VARCHAR'].join(', ')})`,
    );
  }
  await engine.connection.run(
    `CREATE TABLE ${DB}.${PUBLISHED_RUNS_TABLE} (billing_period VARCHAR, run_id VARCHAR, delivered_at VARCHAR, published_at VARCHAR)`,
  );
  // customer_daily_cost of five runs: s0 replaced by s1 (September), o1 replaced by o2 (October), n1
  // staged for November but never flipped (no image line).
  const day = (date: string, id: string, total: number, run: string) =>
    `(DATE '${date}', '${id}', '${id} name', 'growth', 'paid', 100, ${total}, 0, ${total}, 'USD', 'rules-1', '${run}', '${date.slice(0, 7)}')`;
  await engine.connection.run(
    `INSERT INTO ${DB}.customer_daily_cost_runs VALUES ${[
      day('2026-09-01', 'c1', 5, 's0'),
      day('2026-09-01', 'c1', 7, 's1'),
      day('2026-10-01', 'c1', 11, 'o1'),
      day('2026-10-01', 'c1', 13, 'o2'),
      day('2026-10-02', 'c2', 17, 'o2'),
      day('2026-11-01', 'c1', 19, 'n1'),
    ].join(', ')}`,
  );
  await engine.connection.run(
    `INSERT INTO ${DB}.${PUBLISHED_RUNS_TABLE} VALUES
       ('2026-09', 's1', '2026-09-30T08:00:00.000Z', '2026-09-30T09:00:00.000Z'),
       ('2026-10', 'o2', '2026-10-14T08:00:00.000Z', '2026-10-14T09:00:00.000Z')`,
  );
  for (const statement of createPublishedViewStatements(DB)) await engine.connection.run(statement.sql);
});
afterAll(() => engine?.close());

const total = async () =>
  (await engine.query(`SELECT sum(total_cost) AS total, count(*) AS days FROM ${DB}.customer_daily_cost`))[0];

describe('the published views', () => {
  it('show the columns of the result, in its order, billing_period last', async () => {
    for (const result of RESULT_TABLES) {
      const described = await engine.query(`DESCRIBE ${DB}.${result}`);
      expect(described.map((row) => row.column_name)).toEqual(publishedColumns(result));
    }
    expect(publishedColumns('daily_summary').slice(-3)).toEqual([
      'rules_version',
      'run_id',
      'billing_period',
    ]);
  });

  it('show only the run each period’s image names: 7 (s1) + 13 + 17 (o2), nothing of s0, o1 or n1', async () => {
    expect(await total()).toEqual({ total: 37, days: '3' });
    const runs = await engine.query(
      `SELECT billing_period, run_id FROM ${DB}.customer_daily_cost GROUP BY 1, 2 ORDER BY 1`,
    );
    expect(runs).toEqual([
      { billing_period: '2026-09', run_id: 's1' },
      { billing_period: '2026-10', run_id: 'o2' },
    ]);
  });

  it('switch whole when the image line changes: October back to o1 is 7 + 11', async () => {
    await engine.connection.run(
      `UPDATE ${DB}.${PUBLISHED_RUNS_TABLE} SET run_id = 'o1' WHERE billing_period = '2026-10'`,
    );
    expect(await total()).toEqual({ total: 18, days: '2' });
    await engine.connection.run(
      `UPDATE ${DB}.${PUBLISHED_RUNS_TABLE} SET run_id = 'o2' WHERE billing_period = '2026-10'`,
    );
  });
});
