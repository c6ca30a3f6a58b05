import { INPUT_TABLES, RESULT_TABLES, type ResultTable } from '../attribution/stages.ts';
import type { QueryEngine, Row } from '../engine/query-engine.ts';
import { sqlIdentifier, sqlString } from '../sql/sql-template.ts';
import { billingPeriodSchema } from './run-contract.ts';

/** The engine that reads the inputs (customers) and runs the queries: an AthenaEngine when deployed. */
export type InputsEngine = Pick<QueryEngine, 'tableRef' | 'query'>;

export interface PublishedResultsEngineOptions {
  readonly inputs: InputsEngine;
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

/** A table other than a result or an input was asked for, or a write was attempted. */
export class ReadOnlyEngineError extends Error {
  override readonly name = 'ReadOnlyEngineError';
}

/**
 * A read-only {@link QueryEngine} over the PUBLISHED results: `customer_daily_cost` and the other result
 * tables are the catalog's tables (`"db"."customer_daily_cost"`), whose partitions publish-run points at
 * the published run of each billing period, so queries whose window reaches back before the run's month
 * (the alerts' 30 days) see every month. Inputs come from the wrapped engine (AthenaEngine types the
 * customers table).
 */
export class PublishedResultsEngine implements QueryEngine {
  private readonly inputs: InputsEngine;
  private readonly database: string;
  private readonly tables: Readonly<Record<ResultTable, string>>;
  private readonly periods: readonly string[] | undefined;

  constructor(options: PublishedResultsEngineOptions) {
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
  forPeriods(billingPeriods: readonly string[]): PublishedResultsEngine {
    return new PublishedResultsEngine({
      inputs: this.inputs,
      database: this.database,
      resultTables: this.tables,
      billingPeriods,
    });
  }

  tableRef(name: string): string {
    if ((INPUT_TABLES as readonly string[]).includes(name)) return this.inputs.tableRef(name);
    if (!(RESULT_TABLES as readonly string[]).includes(name)) {
      throw new ReadOnlyEngineError(`${name} is neither a published result nor an input`);
    }
    const table = `${sqlIdentifier(this.database).sql}.${sqlIdentifier(this.tables[name as ResultTable]).sql}`;
    if (this.periods === undefined) return table;
    const list = this.periods.map((period) => sqlString(period).sql).join(', ');
    return `(SELECT * FROM ${table} WHERE billing_period IN (${list}))`;
  }

  async createTable(name: string): Promise<void> {
    throw new ReadOnlyEngineError(`the published results are read-only (asked to create ${name})`);
  }

  async createView(name: string): Promise<void> {
    throw new ReadOnlyEngineError(`the published results are read-only (asked to create ${name})`);
  }

  query(select: string): Promise<Row[]> {
    return this.inputs.query(select);
  }
}

// The alert window's periods (evaluate-alerts imports them from here): one home, lib/common/names.ts.
export { billingPeriodsBetween } from '../common/names.ts';
