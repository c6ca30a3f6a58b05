import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DuckDbEngine } from '../engine/duckdb-engine.ts';
import type { QueryEngine, Row } from '../engine/query-engine.ts';
import { InputError } from '../inputs/input-error.ts';
import { defineCustomers } from '../local/customers-table.ts';
import { PLAIN_DECIMAL_MACROS } from '../local/output-files.ts';
import {
  loadSqlFile,
  renderSql,
  type SqlFragment,
  sqlIdentifier,
  sqlString,
  trustedSql,
} from '../sql/sql-template.ts';
import { formatTable } from './format-table.ts';

export { formatTable } from './format-table.ts';

/** Tables the finance views read: the run's results tables and the customer dimension. */
export const FINANCE_SOURCE_TABLES = [
  'customer_daily_cost',
  'customer_daily_service_cost',
  'unattributed_cost',
  'daily_summary',
  'customers',
] as const;
export type FinanceSourceTable = (typeof FINANCE_SOURCE_TABLES)[number];

/** The views of finance.md, in dependency order (a view only depends on views listed before it). */
export const FINANCE_VIEW_NAMES = [
  'customer_monthly_cost',
  'tier_margin',
  'cost_outliers',
  'free_tier_economics',
  'customer_service_breakdown',
  'customer_cost_trend',
  'cost_growth_vs_customer_growth',
  'unattributed_cost',
] as const;
export type FinanceViewName = (typeof FINANCE_VIEW_NAMES)[number];

/** One finance view: one SELECT in `athena/finance/`, whose header comment holds its definitions. */
export interface FinanceView {
  /** Path below `athena/`. */
  readonly file: string;
  /** What the view answers, in one line. */
  readonly description: string;
  /** The columns that identify a row (the grain of finance.md); also the order rows are listed in. */
  readonly grain: readonly string[];
  /** Source tables, each referenced as the placeholder `${name}`. */
  readonly tables: readonly FinanceSourceTable[];
  /** Finance views the SQL reads as `${name}`; they are inlined as subqueries when rendered. */
  readonly views: readonly FinanceViewName[];
}

/**
 * The registry. `unattributed_cost` has the name finance.md gives it, which is also the name of the
 * results table it reads, so finance views live in their own namespace: the schema
 * {@link FINANCE_SCHEMA} locally, their own database (or a prefix) in Athena.
 */
export const FINANCE_VIEWS: Readonly<Record<FinanceViewName, FinanceView>> = {
  customer_monthly_cost: {
    file: 'finance/customer_monthly_cost.sql',
    description: 'Cost, direct, shared, MRR, cost / MRR and margin per customer and billing month',
    grain: ['billing_period', 'customer_id'],
    tables: ['customer_daily_cost', 'daily_summary'],
    views: [],
  },
  tier_margin: {
    file: 'finance/tier_margin.sql',
    description: 'Customers, cost, MRR, mean and median cost per customer and margin by tier and plan status',
    grain: ['billing_period', 'tier', 'plan_status'],
    tables: [],
    views: ['customer_monthly_cost'],
  },
  cost_outliers: {
    file: 'finance/cost_outliers.sql',
    description: "Paid customers whose cost / MRR is above their tier's Q3 + 1.5 x IQR",
    grain: ['billing_period', 'customer_id'],
    tables: [],
    views: ['customer_monthly_cost'],
  },
  free_tier_economics: {
    file: 'finance/free_tier_economics.sql',
    description: 'Cost of free and trial accounts, its share, and the share of their top 10% and 20%',
    grain: ['billing_period'],
    tables: [],
    views: ['customer_monthly_cost'],
  },
  customer_service_breakdown: {
    file: 'finance/customer_service_breakdown.sql',
    description: "Cost and share of the customer's month by service",
    grain: ['billing_period', 'customer_id', 'service'],
    tables: ['customer_daily_service_cost', 'daily_summary'],
    views: [],
  },
  customer_cost_trend: {
    file: 'finance/customer_cost_trend.sql',
    description: 'Month-over-month cost growth against MRR growth per customer',
    grain: ['billing_period', 'customer_id'],
    tables: [],
    views: ['customer_monthly_cost'],
  },
  cost_growth_vs_customer_growth: {
    file: 'finance/cost_growth_vs_customer_growth.sql',
    description: 'Rolling 90-day cost growth against active-customer growth, per day',
    grain: ['usage_date'],
    tables: ['daily_summary', 'customers'],
    views: [],
  },
  unattributed_cost: {
    file: 'finance/unattributed_cost.sql',
    description:
      "Unattributed cost by day, reason and service, with its share of the day's attributable cost",
    grain: ['usage_date', 'reason', 'service'],
    tables: ['unattributed_cost', 'daily_summary'],
    views: [],
  },
};

/** The DuckDB schema that holds the finance views locally. */
export const FINANCE_SCHEMA = 'finance';

export function isFinanceViewName(name: string): name is FinanceViewName {
  return (FINANCE_VIEW_NAMES as readonly string[]).includes(name);
}

/** Source tables a view reads, its own and those of the views it inlines. */
export function sourceTablesOf(name: FinanceViewName): FinanceSourceTable[] {
  const view = FINANCE_VIEWS[name];
  return [...new Set([...view.tables, ...view.views.flatMap((dependency) => sourceTablesOf(dependency))])];
}

/**
 * The SELECT of a finance view, with each source table given by `tableRef` (for example
 * `"cost_per_customer"."customer_daily_cost"` in Athena) and each finance view it depends on inlined as a
 * parenthesized subquery. Strict: a placeholder the registry does not fill is an error.
 */
export function renderFinanceView(name: FinanceViewName, tableRef: (table: string) => string): string {
  const view = FINANCE_VIEWS[name];
  const values: Record<string, SqlFragment> = {};
  for (const table of view.tables) values[table] = trustedSql(tableRef(table));
  // Newlines around the inlined view: its last line may end in a comment.
  for (const dependency of view.views) {
    values[dependency] = trustedSql(`(\n${renderFinanceView(dependency, tableRef)}\n)`);
  }
  return renderSql(loadSqlFile(view.file), values, view.file);
}

function orderedSelect(name: FinanceViewName, from: string): string {
  const order = FINANCE_VIEWS[name].grain.map((column) => sqlIdentifier(column).sql).join(', ');
  return `SELECT * FROM ${from} ORDER BY ${order}`;
}

/** Runs a finance view on an engine whose source tables exist; rows in the order of the view's grain. */
export async function runFinanceView(engine: QueryEngine, name: FinanceViewName): Promise<Row[]> {
  const select = renderFinanceView(name, (table) => engine.tableRef(table));
  return engine.query(orderedSelect(name, `(\n${select}\n) AS finance_view`));
}

/** The reference to a finance view created by {@link createFinanceViews}. */
export function financeViewRef(name: FinanceViewName): string {
  return `${sqlIdentifier(FINANCE_SCHEMA).sql}.${sqlIdentifier(name).sql}`;
}

/**
 * Creates finance views as DuckDB views in the schema {@link FINANCE_SCHEMA}, over the engine's tables
 * in the schema `main`. Every source table of the views must exist (DuckDB binds a view when it is
 * created).
 */
export async function createFinanceViews(
  engine: DuckDbEngine,
  names: readonly FinanceViewName[] = FINANCE_VIEW_NAMES,
): Promise<void> {
  await engine.run(`CREATE SCHEMA IF NOT EXISTS ${sqlIdentifier(FINANCE_SCHEMA).sql}`);
  // Qualified: DuckDB resolves a view's unqualified names in the view's own schema first, so the view
  // finance.unattributed_cost would otherwise read itself instead of the results table.
  const tableRef = (table: string) => `${sqlIdentifier('main').sql}.${engine.tableRef(table)}`;
  for (const name of names) {
    const select = renderFinanceView(name, tableRef);
    await engine.run(`CREATE OR REPLACE VIEW ${financeViewRef(name)} AS\n${select}`);
  }
}

/** The Parquet file of a local run that holds each results table. */
export const RUN_RESULT_FILES: Readonly<Record<Exclude<FinanceSourceTable, 'customers'>, string>> = {
  customer_daily_cost: 'customer_daily_cost.parquet',
  customer_daily_service_cost: 'customer_daily_service_cost.parquet',
  unattributed_cost: 'unattributed.parquet',
  daily_summary: 'daily_summary.parquet',
};

export interface LoadRunResultsOptions {
  /**
   * Customer dimension CSV, for the views that need active customers. A run writes no copy of it;
   * @default `<outDir>/input/customers.csv` when that exists (the demo keeps its inputs there), else none
   */
  readonly customers?: string;
}

/**
 * Defines the results tables of a local run (`cpc run` / `npm start` output directory) as DuckDB views
 * over its Parquet files, and the `customers` table from the customer CSV when one is given or found.
 * Returns the customer file loaded, or null.
 */
export async function loadRunResults(
  engine: DuckDbEngine,
  outDir: string,
  options: LoadRunResultsOptions = {},
): Promise<{ readonly customersFile: string | null }> {
  for (const [table, file] of Object.entries(RUN_RESULT_FILES)) {
    const path = resolve(outDir, file);
    if (!existsSync(path)) {
      throw new InputError('results file not found: is this the output directory of a run?', { file: path });
    }
    await engine.run(
      `CREATE OR REPLACE VIEW ${engine.tableRef(table)} AS SELECT * FROM read_parquet(${sqlString(path).sql})`,
    );
  }
  const demoCustomers = join(outDir, 'input', 'customers.csv');
  const customersFile = options.customers ?? (existsSync(demoCustomers) ? demoCustomers : null);
  if (customersFile !== null) await defineCustomers(engine, customersFile);
  return { customersFile };
}

/**
 * Writes a finance view created by {@link createFinanceViews} as CSV with a header, rows in grain order,
 * DOUBLEs as plain unrounded decimals (never exponent form) and dates as YYYY-MM-DD. Returns the rows
 * written.
 */
export async function writeFinanceViewCsv(
  engine: DuckDbEngine,
  name: FinanceViewName,
  path: string,
): Promise<number> {
  for (const macro of PLAIN_DECIMAL_MACROS) await engine.run(macro);
  const columns = await engine.query(`DESCRIBE ${financeViewRef(name)}`);
  const select = columns
    .map((column) => {
      const ref = sqlIdentifier(String(column.column_name)).sql;
      if (column.column_type === 'DOUBLE') return `plain_decimal(${ref}) AS ${ref}`;
      if (column.column_type === 'DATE') return `CAST(${ref} AS VARCHAR) AS ${ref}`;
      return ref;
    })
    .join(', ');
  const order = FINANCE_VIEWS[name].grain.map((column) => sqlIdentifier(column).sql).join(', ');
  const [written] = await engine.query(
    `COPY (SELECT ${select} FROM ${financeViewRef(name)} ORDER BY ${order})` +
      ` TO ${sqlString(resolve(path)).sql} (FORMAT csv, HEADER)`,
  );
  return Number(written?.Count ?? 0);
}

export interface QueryCommandOptions {
  /** A finance view name (checked: anything else is an error listing the names). */
  readonly view: string;
  /** Output directory of a local run. */
  readonly outDir: string;
  /** Customer dimension CSV (see {@link LoadRunResultsOptions.customers}). */
  readonly customers?: string;
  /** Write the result to this CSV file instead of returning a table. */
  readonly csv?: string;
}

export interface QueryCommandResult {
  readonly view: FinanceViewName;
  readonly rowCount: number;
  /** The rows, unrounded (empty when written to CSV). */
  readonly rows: readonly Row[];
  /** What to print: the aligned table, or where the CSV went. */
  readonly text: string;
}

/**
 * `cpc query <view> --out <dir> [--csv <file>] [--customers <csv>]`: runs one finance view on the
 * results of a local run with DuckDB, either as a table for the terminal or into a CSV file.
 */
export async function queryCommand(options: QueryCommandOptions): Promise<QueryCommandResult> {
  const { view } = options;
  if (!isFinanceViewName(view)) {
    throw new Error(`unknown finance view "${view}"; the views are ${FINANCE_VIEW_NAMES.join(', ')}`);
  }
  const engine = await DuckDbEngine.create();
  try {
    const { customersFile } = await loadRunResults(engine, options.outDir, {
      ...(options.customers !== undefined ? { customers: options.customers } : {}),
    });
    if (customersFile === null && sourceTablesOf(view).includes('customers')) {
      throw new InputError(
        `view ${view} counts active customers and needs the customer dimension: pass --customers <csv>`,
        { file: '--customers' },
      );
    }
    await createFinanceViews(engine, [view]);
    if (options.csv !== undefined) {
      const rowCount = await writeFinanceViewCsv(engine, view, options.csv);
      return {
        view,
        rowCount,
        rows: [],
        text: `Wrote ${rowCount} rows of ${view} to ${resolve(options.csv)}`,
      };
    }
    const rows = await engine.query(orderedSelect(view, financeViewRef(view)));
    return { view, rowCount: rows.length, rows, text: formatTable(rows) };
  } finally {
    engine.close();
  }
}
