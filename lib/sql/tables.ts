/*
 * The logical tables the shared SQL names with `${table}` placeholders: the contract between the SQL
 * files and the engines. An engine decides where each lives; the SQL never does.
 */

/** Tables an engine provides before a run, over the input files (local) or the Glue catalog (deployed). */
export const INPUT_TABLES = ['billing_source', 'telemetry', 'customers'] as const;
export type InputTable = (typeof INPUT_TABLES)[number];

/** Result tables a run publishes. */
export const RESULT_TABLES = [
  'customer_daily_cost',
  'customer_daily_service_cost',
  'unattributed_cost',
  'daily_summary',
  'customer_daily_usage',
] as const;
export type ResultTable = (typeof RESULT_TABLES)[number];

export function isInputTable(name: string): name is InputTable {
  return (INPUT_TABLES as readonly string[]).includes(name);
}

export function isResultTable(name: string): name is ResultTable {
  return (RESULT_TABLES as readonly string[]).includes(name);
}

/**
 * Names the SQL reference of a logical table: `"customer_daily_cost"` in DuckDB,
 * `"db"."run_<id>_customer_daily_cost"` for a run on Athena. Every renderer takes one.
 */
export type TableRef = (name: string) => string;
