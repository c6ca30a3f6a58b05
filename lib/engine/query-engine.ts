import type { TableRef } from '../sql/tables.ts';

/** A row as engines return it: column name to a JSON-friendly value (dates as 'YYYY-MM-DD' strings). */
export type Row = Record<string, string | number | boolean | null>;

/**
 * What reading needs: where a logical table lives, and running a SELECT. The report, the alerts and
 * the finance views only read; the published results on Athena are a reader and nothing more.
 */
export interface QueryReader {
  /** The SQL reference of a logical table (see {@link TableRef}). */
  readonly tableRef: TableRef;
  /** Runs a SELECT and returns all its rows (for small results: checks, alerts, summaries). */
  query(select: string): Promise<Row[]>;
}

/**
 * A reader that can also store results: what a run needs. The SQL files are the same for every engine;
 * an engine only decides where a named table lives and how a result is stored (DuckDB: an in-process
 * table; Athena: a CTAS into the run's S3 prefix).
 */
export interface QueryEngine extends QueryReader {
  /** Stores the result of a SELECT as the logical table `name`, replacing any earlier one. */
  createTable(name: string, select: string): Promise<void>;
  /**
   * Defines the logical table `name` as a cheap projection of tables already stored (a filter, no
   * aggregation): an engine may compute it on read (DuckDB: a view) or store it like any table.
   */
  createView(name: string, select: string): Promise<void>;
}
