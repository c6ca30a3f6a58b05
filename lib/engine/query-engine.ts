/** A row as engines return it: column name to a JSON-friendly value (dates as 'YYYY-MM-DD' strings). */
export type Row = Record<string, string | number | boolean | null>;

/**
 * The seam between the attribution SQL and the engine that runs it. The SQL files are the same for
 * every engine; an engine only decides where a named table lives and how a result is stored
 * (DuckDB: an in-process table; Athena: a CTAS into the run's S3 prefix).
 */
export interface QueryEngine {
  /** The SQL reference to a table this engine holds or will create under that logical name. */
  tableRef(name: string): string;
  /** Stores the result of a SELECT as the logical table `name`, replacing any earlier one. */
  createTable(name: string, select: string): Promise<void>;
  /**
   * Defines the logical table `name` as a cheap projection of tables already stored (a filter, no
   * aggregation): an engine may compute it on read (DuckDB: a view) or store it like any table.
   */
  createView(name: string, select: string): Promise<void>;
  /** Runs a SELECT and returns all its rows (for small results: checks and summaries). */
  query(select: string): Promise<Row[]>;
}
