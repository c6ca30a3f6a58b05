import { billingPeriodSchema, runIdSchema } from '../common/names.ts';
import type { QueryReader, Row } from '../engine/query-engine.ts';
import { sqlIdentifier, sqlString } from '../sql/sql-template.ts';
import { isInputTable, isResultTable } from '../sql/tables.ts';
import { type PointerStore, readPointer } from './period-pointer.ts';
import { publishedColumns, runsTableName } from './published-views.ts';

/** Billing period -> the run its pointer names: which run of each period a reader reads. */
export type VisibleRuns = ReadonlyMap<string, string>;

/**
 * The visible run of each period, read from the period pointers (strongly consistent); periods no run
 * was ever published for are left out, so a reader sees no rows of them.
 */
export async function visibleRuns(store: PointerStore, periods: readonly string[]): Promise<VisibleRuns> {
  const runs = new Map<string, string>();
  for (const period of periods) {
    const runId = (await readPointer(store, period))?.visible?.runId;
    if (runId !== undefined) runs.set(period, runId);
  }
  return runs;
}

export interface PublishedResultsOptions {
  /** Reads the inputs (customers) and runs the queries: an AthenaEngine when deployed. */
  readonly inputs: QueryReader;
  /** Glue database of the `<result>_runs` tables. */
  readonly database: string;
  /** The run to read for each billing period (see {@link visibleRuns}); other periods read no rows. */
  readonly runs: VisibleRuns;
}

/** A table other than a result or an input was asked for. */
export class UnknownTableError extends Error {
  override readonly name = 'UnknownTableError';
}

/**
 * A {@link QueryReader} over the VISIBLE results: a result (`customer_daily_cost`) is its
 * `"db"."<result>_runs"` table filtered on the (billing_period, run_id) of each period's visible run,
 * given explicitly rather than read from the Athena image, so a reader that checked the pointer reads
 * exactly the run the pointer named (Athena prunes on both partition keys). Queries whose window reaches
 * back before the run's month (the alerts' 30 days) get every period of the map. Inputs come from the
 * wrapped engine (AthenaEngine types the customers table).
 */
export class PublishedResultsReader implements QueryReader {
  private readonly inputs: QueryReader;
  private readonly database: string;
  readonly runs: VisibleRuns;

  constructor(options: PublishedResultsOptions) {
    this.inputs = options.inputs;
    this.database = options.database;
    for (const [period, runId] of options.runs) {
      billingPeriodSchema.parse(period);
      runIdSchema.parse(runId);
    }
    this.runs = new Map(options.runs);
  }

  /** The same engine reading these periods' runs. */
  forRuns(runs: VisibleRuns): PublishedResultsReader {
    return new PublishedResultsReader({ inputs: this.inputs, database: this.database, runs });
  }

  /** Callable unbound, like every engine's (see {@link QueryReader.tableRef}). */
  readonly tableRef = (name: string): string => {
    if (isInputTable(name)) return this.inputs.tableRef(name);
    if (!isResultTable(name))
      throw new UnknownTableError(`${name} is neither a published result nor an input`);
    const table = `${sqlIdentifier(this.database).sql}.${sqlIdentifier(runsTableName(name)).sql}`;
    const columns = publishedColumns(name)
      .map((column) => sqlIdentifier(column).sql)
      .join(', ');
    const filter =
      this.runs.size === 0
        ? 'false'
        : [...this.runs]
            .map(
              ([period, runId]) =>
                `(billing_period = ${sqlString(period).sql} AND run_id = ${sqlString(runId).sql})`,
            )
            .join(' OR ');
    return `(SELECT ${columns} FROM ${table} WHERE ${filter})`;
  };

  query(select: string): Promise<Row[]> {
    return this.inputs.query(select);
  }
}
