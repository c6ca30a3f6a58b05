import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULT_TABLES } from '../../lib/attribution/stages.ts';
import { RESULT_COLUMNS } from '../../lib/catalog/glue-schemas.ts';
import { type TrinoColumn, type TrinoColumnType, TrinoEngine } from '../../lib/engine/trino-engine.ts';
import {
  createPublishedViewStatements,
  PUBLISHED_RUNS_TABLE,
  publishedColumns,
  runsTableName,
} from '../../lib/pipeline/published-views.ts';
import { startTrinoServer, type TrinoServer } from '../support/trino-server.ts';

// The published views' SQL on Trino (the engine Athena v3 is built on), over the same hand-made rows as
// test/integration/visibility-published-views.test.ts: each period shows exactly the run its image names.
const DB = 'cost_per_customer';
const TYPES: Record<string, TrinoColumnType> = { string: 'varchar', double: 'double', date: 'date' };
let server: TrinoServer;
let trino: TrinoEngine;

const columnsOf = (result: (typeof RESULT_TABLES)[number]): TrinoColumn[] => [
  ...RESULT_COLUMNS[result].map((column) => ({ name: column.name, type: TYPES[column.type] ?? 'varchar' })),
  { name: 'billing_period', type: 'varchar' },
];

beforeAll(async () => {
  server = await startTrinoServer();
  trino = await TrinoEngine.create({ url: server.url, schema: DB });
  const day = (date: string, id: string, total: number, run: string) => ({
    usage_date: date,
    customer_id: id,
    customer_name: `${id} name`,
    tier: 'growth',
    plan_status: 'paid',
    mrr: 100,
    direct_cost: total,
    shared_cost: 0,
    total_cost: total,
    rules_version: 'rules-1',
    run_id: run,
    billing_period: date.slice(0, 7),
  });
  for (const result of RESULT_TABLES) {
    const rows =
      result === 'customer_daily_cost'
        ? [
            day('2026-09-01', 'c1', 5, 's0'),
            day('2026-09-01', 'c1', 7, 's1'),
            day('2026-10-01', 'c1', 11, 'o1'),
            day('2026-10-01', 'c1', 13, 'o2'),
            day('2026-10-02', 'c2', 17, 'o2'),
            day('2026-11-01', 'c1', 19, 'n1'),
          ]
        : [];
    await trino.loadTable(runsTableName(result), columnsOf(result), rows);
  }
  const image = ['billing_period', 'run_id', 'delivered_at', 'published_at'].map((name) => ({
    name,
    type: 'varchar' as const,
  }));
  await trino.loadTable(PUBLISHED_RUNS_TABLE, image, [
    { billing_period: '2026-09', run_id: 's1', delivered_at: '2026-09-30T08:00:00.000Z', published_at: 'x' },
    { billing_period: '2026-10', run_id: 'o2', delivered_at: '2026-10-14T08:00:00.000Z', published_at: 'x' },
  ]);
  for (const statement of createPublishedViewStatements(DB)) await trino.run(statement.sql);
}, 240_000);

afterAll(async () => {
  await server?.stop();
});

describe('the published views on Trino', () => {
  it('have the result’s columns in order, billing_period last', async () => {
    for (const result of RESULT_TABLES) {
      const columns = await trino.query(`SHOW COLUMNS FROM "${DB}"."${result}"`);
      expect(columns.map((row) => row.Column)).toEqual(publishedColumns(result));
    }
  });

  it('show only the run each period’s image names: 7 (s1) + 13 + 17 (o2)', async () => {
    const [row] = await trino.query(
      `SELECT sum(total_cost) AS total, count(*) AS days FROM "${DB}"."customer_daily_cost"`,
    );
    expect(row).toEqual({ total: 37, days: 3 });
  });
});
