import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DuckDbEngine } from '../engine/duckdb-engine.ts';
import type { Row } from '../engine/query-engine.ts';
import {
  createFinanceViewStatements,
  FINANCE_SCHEMA,
  FINANCE_VIEW_NAMES,
  FINANCE_VIEWS,
  type FinanceSourceTable,
  type FinanceViewName,
  financeViewRef,
  isFinanceViewName,
  orderedSelect,
  sourceTablesOf,
} from '../finance/finance-registry.ts';
import { formatTable } from '../finance/format-table.ts';
import { InputError } from '../inputs/input-error.ts';
import { sqlIdentifier, sqlString } from '../sql/sql-template.ts';
import type { ResultTable } from '../sql/tables.ts';
import { defineCustomers } from './customers-table.ts';
import { CSV_MACROS, csvCell } from './output-files.ts';

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
  for (const statement of createFinanceViewStatements(FINANCE_SCHEMA, tableRef, names)) {
    await engine.run(statement.sql);
  }
}

/**
 * Results tables a run may lack: published later than the others, so a run written before has no such
 * file. `cpc query` still runs every view that does not read them.
 */
const OPTIONAL_RESULTS: readonly ResultTable[] = ['customer_daily_usage'];

/** The Parquet file of a local run that holds each results table. */
export const RUN_RESULT_FILES: Readonly<Record<ResultTable, string>> = {
  customer_daily_cost: 'customer_daily_cost.parquet',
  customer_daily_service_cost: 'customer_daily_service_cost.parquet',
  unattributed_cost: 'unattributed.parquet',
  daily_summary: 'daily_summary.parquet',
  customer_daily_usage: 'customer_daily_usage.parquet',
};

export interface LoadRunResultsOptions {
  /**
   * Customer dimension CSV, for the views that need active customers. A run writes no copy of it;
   * @default `<outDir>/input/customers.csv` when that exists (the demo keeps its inputs there), else none
   */
  readonly customers?: string;
}

export interface LoadedRunResults {
  /** The customer file loaded, or null. */
  readonly customersFile: string | null;
  /** The optional results tables the run has no file for (not defined in the engine). */
  readonly missing: readonly ResultTable[];
}

/**
 * Defines the results tables of a local run (`cpc run` / `npm start` output directory) as DuckDB views
 * over its Parquet files, and the `customers` table from the customer CSV when one is given or found.
 */
export async function loadRunResults(
  engine: DuckDbEngine,
  outDir: string,
  options: LoadRunResultsOptions = {},
): Promise<LoadedRunResults> {
  const missing: ResultTable[] = [];
  for (const [table, file] of Object.entries(RUN_RESULT_FILES) as [ResultTable, string][]) {
    const path = resolve(outDir, file);
    if (OPTIONAL_RESULTS.includes(table) && !existsSync(path)) {
      missing.push(table);
      continue;
    }
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
  return { customersFile, missing };
}

/**
 * Writes a finance view created by {@link createFinanceViews} as CSV with a header, rows in grain order,
 * DOUBLEs as plain unrounded decimals (never exponent form), dates as YYYY-MM-DD and text cells that
 * could start a spreadsheet formula behind a `'` ({@link csvCell}). Returns the rows written.
 */
export async function writeFinanceViewCsv(
  engine: DuckDbEngine,
  name: FinanceViewName,
  path: string,
): Promise<number> {
  for (const macro of CSV_MACROS) await engine.run(macro);
  const columns = await engine.query(`DESCRIBE ${financeViewRef(name)}`);
  const select = columns
    .map((column) => csvCell(String(column.column_name), String(column.column_type)))
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
  /**
   * Write the result to this CSV file instead of returning a table; `-` returns the CSV itself as
   * `text`, for stdout.
   */
  readonly csv?: string;
}

export interface QueryCommandResult {
  readonly view: FinanceViewName;
  readonly rowCount: number;
  /** The rows, unrounded (empty when written to CSV). */
  readonly rows: readonly Row[];
  /** What to print: the aligned table, the CSV (`csv: '-'`), or where the CSV went. */
  readonly text: string;
}

/**
 * `cpc query <view> --results <dir> [--csv <file>|-] [--customers <csv>]`: runs one finance view on the
 * results of a local run with DuckDB, as a table for the terminal, into a CSV file, or as CSV text.
 */
export async function queryCommand(options: QueryCommandOptions): Promise<QueryCommandResult> {
  const { view } = options;
  if (!isFinanceViewName(view)) {
    throw new Error(`unknown finance view "${view}"; the views are ${FINANCE_VIEW_NAMES.join(', ')}`);
  }
  const engine = await DuckDbEngine.create();
  try {
    const { customersFile, missing } = await loadRunResults(engine, options.outDir, {
      ...(options.customers !== undefined ? { customers: options.customers } : {}),
    });
    const sources: readonly FinanceSourceTable[] = sourceTablesOf(view);
    if (customersFile === null && sources.includes('customers')) {
      throw new InputError(
        `view ${view} counts active customers and needs the customer dimension: pass --customers <csv>`,
        { file: '--customers' },
      );
    }
    const absent = missing.find((table) => sources.includes(table));
    if (absent !== undefined) {
      throw new InputError(
        `view ${view} reads ${absent}, which this run did not write: run it again with this version of cpc`,
        { file: resolve(options.outDir, RUN_RESULT_FILES[absent]) },
      );
    }
    await createFinanceViews(engine, [view]);
    if (options.csv === '-') {
      // DuckDB writes CSV only to files: through a private temporary one, so the text is the same as --csv <file>.
      const dir = mkdtempSync(join(tmpdir(), 'cpc-query-'));
      try {
        const file = join(dir, `${view}.csv`);
        const rowCount = await writeFinanceViewCsv(engine, view, file);
        return { view, rowCount, rows: [], text: readFileSync(file, 'utf8') };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
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
