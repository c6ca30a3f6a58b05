import { billingPeriodSchema } from '../common/names.ts';
import type { QueryReader, Row } from '../engine/query-engine.ts';
import { sqlIdentifier, sqlString } from '../sql/sql-template.ts';
import { isInputTable, isResultTable, RESULT_TABLES, type ResultTable } from '../sql/tables.ts';

export interface PublishedResultsOptions {
  /** Reads the inputs (customers) and runs the queries: an AthenaEngine when deployed. */
  readonly inputs: QueryReader;
  /** Glue database of the published results tables. */
  readonly database: string;
  /** Glue table of each result, when it is not named after it (catalog.ts names them after the result). */
  readonly resultTables?: Partial<Record<ResultTable, string>>;
  /**
   * Read only these billing periods' partitions of the results tables (Athena prunes on the partition
   * key, so a query scans the months it needs instead of every month ever published).
   * @default undefined: every partition
   */
  readonly billingPeriods?: readonly string[];
}

/** A table other than a result or an input was asked for. */
export class UnknownTableError extends Error {
  override readonly name = 'UnknownTableError';
}

/**
 * A {@link QueryReader} over the PUBLISHED results: `customer_daily_cost` and the other result
 * tables are the catalog's tables (`"db"."customer_daily_cost"`), whose partitions publish-run points at
 * the published run of each billing period, so queries whose window reaches back before the run's month
 * (the alerts' 30 days) see every month. Inputs come from the wrapped engine (AthenaEngine types the
 * customers table).
 */
export class PublishedResultsReader implements QueryReader {
  private readonly inputs: QueryReader;
  private readonly database: string;
  private readonly tables: Readonly<Record<ResultTable, string>>;
  private readonly periods: readonly string[] | undefined;

  constructor(options: PublishedResultsOptions) {
    this.inputs = options.inputs;
    this.database = options.database;
    this.tables = {
      ...(Object.fromEntries(RESULT_TABLES.map((name) => [name, name])) as Record<ResultTable, string>),
      ...options.resultTables,
    };
    for (const period of options.billingPeriods ?? []) billingPeriodSchema.parse(period);
    if (options.billingPeriods !== undefined && options.billingPeriods.length === 0) {
      throw new RangeError('billingPeriods, when given, must name at least one period');
    }
    this.periods = options.billingPeriods;
  }

  /** The same engine reading only the given billing periods' partitions. */
  forPeriods(billingPeriods: readonly string[]): PublishedResultsReader {
    return new PublishedResultsReader({
      inputs: this.inputs,
      database: this.database,
      resultTables: this.tables,
      billingPeriods,
    });
  }

  /** Callable unbound, like every engine's (see {@link QueryReader.tableRef}). */
  readonly tableRef = (name: string): string => {
    if (isInputTable(name)) return this.inputs.tableRef(name);
    if (!isResultTable(name))
      throw new UnknownTableError(`${name} is neither a published result nor an input`);
    const table = `${sqlIdentifier(this.database).sql}.${sqlIdentifier(this.tables[name]).sql}`;
    if (this.periods === undefined) return table;
    const list = this.periods.map((period) => sqlString(period).sql).join(', ');
    return `(SELECT * FROM ${table} WHERE billing_period IN (${list}))`;
  };

  query(select: string): Promise<Row[]> {
    return this.inputs.query(select);
  }
}
