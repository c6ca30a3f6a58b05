import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { sqlIdentifier } from '../sql/sql-template.ts';
import type { QueryEngine, Row } from './query-engine.ts';

/**
 * Macros that give DuckDB the Trino (Athena engine v3) behaviour the shared SQL relies on, so the
 * SQL files stay written for Athena. See "Trino vs DuckDB" in the project notes.
 */
export const TRINO_COMPATIBILITY_MACROS = [
  // DuckDB's own element_at returns a LIST ([] when the key is missing); Trino returns the value or NULL.
  'CREATE OR REPLACE MACRO element_at(m, k) AS map_extract_value(m, k)',
  'CREATE OR REPLACE MACRO is_finite(x) AS isfinite(x)',
  // CUR CSV timestamps are ISO 8601 with "T" and "Z", which Trino only reads through this function.
  'CREATE OR REPLACE MACRO from_iso8601_timestamp(s) AS CAST(CAST(s AS TIMESTAMPTZ) AS TIMESTAMP)',
] as const;

export interface DuckDbEngineOptions {
  /** Worker threads. @default the number of cores DuckDB sees */
  readonly threads?: number;
  /** DuckDB memory limit; beyond it, operators spill to `tempDirectory`. @default '3GB' */
  readonly memoryLimit?: string;
  /**
   * Whether results keep the order of their inputs when no ORDER BY says so. Off by default: every
   * output states its order, and unordered writes run in parallel. The row locator turns it on, as it
   * numbers rows in file order.
   * @default false
   */
  readonly preserveInsertionOrder?: boolean;
  /** Where spilled data goes. @default DuckDB's default (`.tmp` beside a database, memory for :memory:) */
  readonly tempDirectory?: string;
}

/** The local engine: DuckDB in this process, tables held in memory. */
export class DuckDbEngine implements QueryEngine {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
  ) {}

  static async create(options: DuckDbEngineOptions = {}): Promise<DuckDbEngine> {
    const config: Record<string, string> = {
      memory_limit: options.memoryLimit ?? '3GB',
      preserve_insertion_order: String(options.preserveInsertionOrder ?? false),
    };
    if (options.threads !== undefined) config.threads = String(options.threads);
    if (options.tempDirectory !== undefined) config.temp_directory = options.tempDirectory;
    const instance = await DuckDBInstance.create(':memory:', config);
    const connection = await instance.connect();
    // Billing dates are UTC; the machine's zone must never shift a usage day. (ICU is built in but
    // loads only on a connection, so the zone cannot be part of the instance config.)
    await connection.run("LOAD icu; SET TimeZone = 'UTC'");
    for (const macro of TRINO_COMPATIBILITY_MACROS) await connection.run(macro);
    return new DuckDbEngine(instance, connection);
  }

  /** Tables live in the connection's default schema under their logical names; callable unbound. */
  readonly tableRef = (name: string): string => sqlIdentifier(name).sql;

  async createTable(name: string, select: string): Promise<void> {
    await this.connection.run(`CREATE OR REPLACE TABLE ${this.tableRef(name)} AS ${select}`);
  }

  async createView(name: string, select: string): Promise<void> {
    await this.connection.run(`CREATE OR REPLACE VIEW ${this.tableRef(name)} AS ${select}`);
  }

  async query(select: string): Promise<Row[]> {
    const reader = await this.connection.runAndReadAll(select);
    return reader.getRowObjectsJson() as Row[];
  }

  /** Runs an engine-specific statement (views over local files, COPY). */
  async run(sql: string): Promise<void> {
    await this.connection.run(sql);
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}
