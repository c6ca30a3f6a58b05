import { RESULT_COLUMNS } from '../catalog/glue-schemas.ts';
import { sqlIdentifier } from '../sql/sql-template.ts';
import { RESULT_TABLES, type ResultTable } from '../sql/tables.ts';

/*
 * The published results in Athena (docs/aws-pipeline.md "Visibility"): each result's Glue table holds
 * every run, partitioned by (billing_period, run_id), and a view of the result's own name keeps only the
 * run the period's pointer names, by joining `published_runs` (the pointer's Athena image, one JSON line
 * per period). Swapping the image object is the whole switch, so a query sees one run per period.
 */

/** The Glue table of the pointers' images (`s3://<results>/published/`, one JSON line per period). */
export const PUBLISHED_RUNS_TABLE = 'published_runs';

/** The Glue table holding every run of a result: `customer_daily_cost_runs` for `customer_daily_cost`. */
export function runsTableName(result: ResultTable): string {
  return `${result}_runs`;
}

/**
 * The columns a published result shows, in the order its table had before runs were kept side by side:
 * the result's columns (`run_id` among them, as the attribution SQL writes it), then `billing_period`.
 */
export function publishedColumns(result: ResultTable): string[] {
  return [...RESULT_COLUMNS[result].map((column) => column.name), 'billing_period'];
}

export interface PublishedViewStatement {
  readonly view: ResultTable;
  readonly sql: string;
}

/** `CREATE OR REPLACE VIEW "<db>"."<result>"` over the result's runs table, joined to the published runs. */
export function publishedViewSql(database: string, result: ResultTable): string {
  const db = sqlIdentifier(database).sql;
  const columns = publishedColumns(result)
    .map((column) => `r.${sqlIdentifier(column).sql}`)
    .join(', ');
  return [
    `CREATE OR REPLACE VIEW ${db}.${sqlIdentifier(result).sql} AS`,
    `SELECT ${columns}`,
    `FROM ${db}.${sqlIdentifier(runsTableName(result)).sql} AS r`,
    `JOIN ${db}.${sqlIdentifier(PUBLISHED_RUNS_TABLE).sql} AS p`,
    '  ON r.billing_period = p.billing_period AND r.run_id = p.run_id',
  ].join('\n');
}

/** The four published views, in the order the finance views' dependencies need them (any order works). */
export function createPublishedViewStatements(database: string): PublishedViewStatement[] {
  return RESULT_TABLES.map((view) => ({ view, sql: publishedViewSql(database, view) }));
}
