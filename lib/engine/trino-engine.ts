import { sqlDate, sqlIdentifier, sqlNumber, sqlString } from '../sql/sql-template.ts';
import { isInputTable } from '../sql/tables.ts';
import { AthenaRunLayout } from './athena-run-layout.ts';
import type { QueryEngine, Row } from './query-engine.ts';

/** Options of {@link TrinoEngine}. */
export interface TrinoEngineOptions {
  /** Base URL of the coordinator, such as `http://127.0.0.1:8080`. */
  readonly url: string;
  /** Schema of the run's tables and inputs (lower case letters, digits and `_`); created if missing. */
  readonly schema: string;
  /** Catalog that can create tables (CTAS). @default 'memory' */
  readonly catalog?: string;
  /** The X-Trino-User of every statement. @default 'cost-per-customer' */
  readonly user?: string;
  /** Longest wait for one statement to finish; it is cancelled past that. @default 300000 */
  readonly maxWaitMs?: number;
}

/** Raised when Trino fails a statement; the message is Trino's. */
export class TrinoQueryError extends Error {
  override readonly name = 'TrinoQueryError';
  /** Trino's query id, when it got that far. */
  readonly queryId: string | undefined;
  /** Trino's error name, such as `FUNCTION_NOT_FOUND` or `INVALID_FUNCTION_ARGUMENT`. */
  readonly errorName: string | undefined;

  constructor(message: string, queryId?: string, errorName?: string) {
    super(`Trino${queryId ? ` query ${queryId}` : ''} failed: ${message}`);
    this.queryId = queryId;
    this.errorName = errorName;
  }
}

/** A column type of a table loaded from rows, in Trino's names. */
export type TrinoColumnType =
  | 'varchar'
  | 'double'
  | 'bigint'
  | 'boolean'
  | 'date'
  | 'timestamp(3)'
  | 'map(varchar, varchar)';

/** A value of a loaded row: a Row value, or a tag map (`map(varchar, varchar)` columns). */
export type TrinoInputValue = Row[string] | Readonly<Record<string, string>>;

/** A column of a table loaded from rows. */
export interface TrinoColumn {
  readonly name: string;
  readonly type: TrinoColumnType;
}

/** Rows per INSERT: keeps each statement's text well below Trino's limits. */
const INSERT_BATCH = 500;

interface TrinoColumnInfo {
  readonly name: string;
  readonly type: string;
}

interface TrinoResponse {
  readonly id?: string;
  readonly nextUri?: string;
  readonly columns?: readonly TrinoColumnInfo[];
  readonly data?: readonly (readonly unknown[])[];
  readonly error?: { readonly message?: string; readonly errorName?: string };
}

const SCHEMA = /^[a-z_][a-z0-9_]*$/;
const NUMERIC = /^(tinyint|smallint|integer|bigint|real|double|decimal)\b/;

/**
 * The engine seam on a Trino server, through Trino's HTTP client protocol: the tests run every shared
 * SQL file on the engine Athena engine v3 is built on. Results are CTAS tables in a catalog that can
 * write (the `memory` connector in tests), as Athena stores them; the inputs are tables of the same
 * schema typed as the Glue tables (loaded from rows with {@link TrinoEngine.loadTable}), and `customers` is read
 * through the typing {@link AthenaRunLayout} gives the deployed engine.
 */
export class TrinoEngine implements QueryEngine {
  readonly catalog: string;
  readonly schema: string;
  private readonly url: string;
  private readonly user: string;
  private readonly maxWaitMs: number;
  private readonly layout: AthenaRunLayout;

  private constructor(options: TrinoEngineOptions) {
    if (!SCHEMA.test(options.schema)) throw new Error(`Trino: invalid schema name ${options.schema}`);
    this.url = options.url.replace(/\/+$/, '');
    this.catalog = options.catalog ?? 'memory';
    this.schema = options.schema;
    this.user = options.user ?? 'cost-per-customer';
    this.maxWaitMs = options.maxWaitMs ?? 300_000;
    // Only its input references are used: the same SQL text Athena reads the Glue tables with.
    this.layout = new AthenaRunLayout({
      database: options.schema,
      runId: 'trino',
      resultsBucket: 'unused-by-trino',
      inputTables: { billing_source: 'billing_source', telemetry: 'telemetry', customers: 'customers' },
    });
  }

  /** Connects to a running server and creates the schema if it does not exist. */
  static async create(options: TrinoEngineOptions): Promise<TrinoEngine> {
    const engine = new TrinoEngine(options);
    await engine.run(`CREATE SCHEMA IF NOT EXISTS ${engine.qualified()}`);
    return engine;
  }

  /** Inputs as Athena reads them (typed customers); everything else in the engine's schema. Callable unbound. */
  readonly tableRef = (name: string): string =>
    isInputTable(name) ? this.layout.tableRef(name) : this.qualified(name);

  /** A CTAS, as Athena stores a run table; an earlier table of that name is dropped first. */
  async createTable(name: string, select: string): Promise<void> {
    await this.run(`DROP TABLE IF EXISTS ${this.qualified(name)}`);
    await this.run(`CREATE TABLE ${this.qualified(name)} AS\n${select}`);
  }

  /** Stored like a table, as the Athena engine does. */
  async createView(name: string, select: string): Promise<void> {
    await this.createTable(name, select);
  }

  async query(select: string): Promise<Row[]> {
    const { columns, data } = await this.execute(select);
    return data.map((values) => {
      const row: Row = {};
      columns.forEach((column, index) => {
        row[column.name] = toValue(values[index], column.type);
      });
      return row;
    });
  }

  /** Runs a statement that returns no rows (DDL, INSERT) to completion. */
  async run(sql: string): Promise<void> {
    await this.execute(sql);
  }

  /**
   * Creates table `name` of this schema with `columns` and inserts `rows` as literals (quoted by
   * lib/sql/sql-template.ts), replacing an earlier table of that name. A value missing from a row is NULL.
   */
  async loadTable(
    name: string,
    columns: readonly TrinoColumn[],
    rows: readonly Readonly<Record<string, TrinoInputValue>>[],
  ): Promise<void> {
    const table = this.qualified(name);
    await this.run(`DROP TABLE IF EXISTS ${table}`);
    await this.run(
      `CREATE TABLE ${table} (${columns.map((c) => `${sqlIdentifier(c.name).sql} ${c.type}`).join(', ')})`,
    );
    for (let start = 0; start < rows.length; start += INSERT_BATCH) {
      const values = rows
        .slice(start, start + INSERT_BATCH)
        .map((row) => `(${columns.map((c) => literal(row[c.name] ?? null, c.type)).join(', ')})`);
      await this.run(`INSERT INTO ${table} VALUES\n${values.join(',\n')}`);
    }
  }

  private qualified(name?: string): string {
    const schema = `${sqlIdentifier(this.catalog).sql}.${sqlIdentifier(this.schema).sql}`;
    return name === undefined ? schema : `${schema}.${sqlIdentifier(name).sql}`;
  }

  /** Posts a statement and follows `nextUri` until Trino has sent every row or an error. */
  private async execute(sql: string): Promise<{ columns: readonly TrinoColumnInfo[]; data: unknown[][] }> {
    const started = Date.now();
    let response = await this.request(`${this.url}/v1/statement`, { method: 'POST', body: sql });
    let columns: readonly TrinoColumnInfo[] = [];
    const data: unknown[][] = [];
    for (;;) {
      if (response.columns) columns = response.columns;
      for (const values of response.data ?? []) data.push([...values]);
      if (response.error) {
        throw new TrinoQueryError(
          response.error.message ?? 'no message',
          response.id,
          response.error.errorName,
        );
      }
      if (!response.nextUri) return { columns, data };
      if (Date.now() - started > this.maxWaitMs) {
        await fetch(response.nextUri, { method: 'DELETE', headers: this.headers() }).catch(() => undefined);
        throw new TrinoQueryError(
          `did not finish within ${this.maxWaitMs} ms; it was cancelled`,
          response.id,
        );
      }
      // Trino holds each GET until it has news, so following nextUri needs no pause of its own.
      response = await this.request(response.nextUri, { method: 'GET' });
    }
  }

  private async request(url: string, init: { method: string; body?: string }): Promise<TrinoResponse> {
    for (let attempt = 1; ; attempt++) {
      const response = await fetch(url, { ...init, headers: this.headers() });
      // 502-504 mean "ask again" in Trino's protocol.
      if ([502, 503, 504].includes(response.status) && attempt < 10) {
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
        continue;
      }
      const text = await response.text();
      if (!response.ok) throw new TrinoQueryError(`HTTP ${response.status}: ${text.slice(0, 500)}`);
      return JSON.parse(text) as TrinoResponse;
    }
  }

  private headers(): Record<string, string> {
    return {
      'X-Trino-User': this.user,
      'X-Trino-Catalog': this.catalog,
      'X-Trino-Schema': this.schema,
      // Billing days are UTC, as in Athena and the local engine.
      'X-Trino-Time-Zone': 'UTC',
    };
  }
}

/** A SQL literal of `type`: quoted by the project's helpers, NULL typed so VALUES rows agree. */
function literal(value: TrinoInputValue, type: TrinoColumnType): string {
  if (value === null) return `CAST(NULL AS ${type})`;
  switch (type) {
    case 'varchar':
      return sqlString(String(value)).sql;
    case 'double':
      return `CAST(${sqlNumber(Number(value)).sql} AS double)`;
    case 'bigint':
      return `CAST(${sqlNumber(Number(value)).sql} AS bigint)`;
    case 'boolean':
      return value === true || value === 'true' ? 'true' : 'false';
    case 'date':
      return sqlDate(String(value)).sql;
    case 'timestamp(3)':
      return `CAST(${sqlString(String(value)).sql} AS timestamp(3))`;
    case 'map(varchar, varchar)': {
      if (typeof value !== 'object') throw new Error(`Trino: not a tag map: ${JSON.stringify(value)}`);
      const entries = Object.entries(value);
      if (entries.length === 0) return 'CAST(MAP() AS map(varchar, varchar))';
      const keys = entries.map(([key]) => sqlString(key).sql).join(', ');
      const values = entries.map(([, v]) => sqlString(v).sql).join(', ');
      return `MAP(ARRAY[${keys}], ARRAY[${values}])`;
    }
  }
}

/** A value of Trino's JSON encoding as a Row value (numbers as numbers, dates as YYYY-MM-DD). */
function toValue(value: unknown, type: string): Row[string] {
  if (value === null || value === undefined) return null;
  // decimal comes as a string; double's NaN and Infinity as strings.
  if (NUMERIC.test(type)) return typeof value === 'number' ? value : Number(value);
  if (typeof value === 'boolean' || typeof value === 'string' || typeof value === 'number') return value;
  // Arrays, maps and rows: not in any result the SQL files produce; kept readable.
  return JSON.stringify(value);
}
