import type { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import { sqlIdentifier, sqlNumber, sqlString } from '../../lib/sql/sql-template.ts';

/** A cell of a table a test writes by hand. */
export type Value = string | number | null;

/** The columns of the results tables and the customers table, as a run's Parquet files have them. */
export const RESULT_TABLE_COLUMNS = {
  customer_daily_cost:
    'usage_date DATE, billing_period VARCHAR, customer_id VARCHAR, customer_name VARCHAR, tier VARCHAR,' +
    ' plan_status VARCHAR, mrr DOUBLE, direct_cost DOUBLE, shared_cost DOUBLE, total_cost DOUBLE,' +
    ' rules_version VARCHAR, run_id VARCHAR',
  customer_daily_service_cost:
    'usage_date DATE, billing_period VARCHAR, customer_id VARCHAR, service VARCHAR, rule_id VARCHAR,' +
    // provider last (a run's files have it before service): a row that leaves it out is NULL.
    ' driver VARCHAR, cost DOUBLE, rules_version VARCHAR, run_id VARCHAR, provider VARCHAR',
  daily_summary:
    'usage_date DATE, billing_period VARCHAR, total_cost DOUBLE, direct_cost DOUBLE, shared_cost DOUBLE,' +
    ' unattributed_cost DOUBLE, excluded_cost DOUBLE, unattributed_pct DOUBLE, rules_version VARCHAR,' +
    // currency last (a run's files have it before rules_version): a row that leaves it out is NULL, read as USD.
    ' run_id VARCHAR, currency VARCHAR',
  unattributed_cost:
    'usage_date DATE, billing_period VARCHAR, reason VARCHAR, service VARCHAR, cost DOUBLE,' +
    ' rules_version VARCHAR, run_id VARCHAR',
  customer_daily_usage:
    'usage_date DATE, billing_period VARCHAR, customer_id VARCHAR, metric VARCHAR, quantity DOUBLE,' +
    ' rules_version VARCHAR, run_id VARCHAR',
  customers:
    'customer_id VARCHAR, tenant_id VARCHAR, name VARCHAR, tier VARCHAR, plan_status VARCHAR, mrr DOUBLE,' +
    ' start_date DATE, end_date DATE, owner_team VARCHAR, effective_from DATE',
} as const;

/** Replaces the table `name` with these rows, typed as {@link RESULT_TABLE_COLUMNS} says. */
export async function writeTable(
  engine: DuckDbEngine,
  name: keyof typeof RESULT_TABLE_COLUMNS,
  rows: readonly Value[][],
): Promise<void> {
  const ref = sqlIdentifier(name).sql;
  await engine.run(`CREATE OR REPLACE TABLE ${ref} (${RESULT_TABLE_COLUMNS[name]})`);
  if (rows.length === 0) return;
  const literal = (value: Value) =>
    value === null ? 'NULL' : typeof value === 'number' ? sqlNumber(value).sql : sqlString(value).sql;
  // A row may leave out trailing columns (customers' effective_from, daily_summary's currency): NULL.
  const width = RESULT_TABLE_COLUMNS[name].split(',').length;
  const values = rows
    .map(
      (row) =>
        `(${[...row, ...Array<Value>(Math.max(0, width - row.length)).fill(null)].map(literal).join(', ')})`,
    )
    .join(',\n');
  await engine.run(`INSERT INTO ${ref} VALUES ${values}`);
}
