import { createHash } from 'node:crypto';
import {
  type AthenaClient,
  type ColumnInfo,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  type QueryExecutionStatus,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { isThrottling } from '../common/aws-errors.ts';
import {
  BILLING_PERIOD,
  BUCKET_NAME,
  GLUE_NAME,
  lastDayOfPeriod,
  RUN_ID,
  WORKGROUP_NAME,
} from '../common/names.ts';
import { sqlIdentifier, sqlString } from '../sql/sql-template.ts';
import { type InputTable, isInputTable } from '../sql/tables.ts';
import type { QueryEngine, Row } from './query-engine.ts';

/** A table the engine reads rather than creates. */
export type AthenaInputTable = InputTable;

/** The Glue tables of the catalog (lib/constructs/catalog.ts) that hold each input. */
export const DEFAULT_INPUT_TABLES: Readonly<Record<AthenaInputTable, string>> = {
  billing_source: 'cur2',
  telemetry: 'telemetry',
  customers: 'customers',
};

/** Where a run's tables live: pure naming, shared by the engine and the run plan. */
export interface AthenaRunLayoutOptions {
  /** Glue database of the inputs and of the run tables (lower case letters, digits and `_`). */
  readonly database: string;
  /** The run id; it names the run's tables and its S3 prefix (letters, digits, `.`, `_`, `-`). */
  readonly runId: string;
  /** Name of the bucket the run writes its Parquet results into. */
  readonly resultsBucket: string;
  /** Prefix of all runs in that bucket, without slashes at either end. @default 'runs' */
  readonly runPrefix?: string;
  /** Glue table names of the inputs. @default {@link DEFAULT_INPUT_TABLES} */
  readonly inputTables?: Partial<Record<AthenaInputTable, string>>;
  /**
   * The billing period (YYYY-MM) a run attributes. When set, the billing table is read only in its
   * `billing_period` partition and telemetry only in that month's `usage_day` partitions, so a run
   * scans one month and its results hold one billing period (what publishing a partition needs).
   * @default undefined: every partition is read
   */
  readonly billingPeriod?: string;
}

const LOGICAL_NAME = /^[a-z_][a-z0-9_]*$/;
const PREFIX_SEGMENT = /^[A-Za-z0-9_.=-]+$/;

function check(valid: boolean, what: string, value: unknown): void {
  if (!valid) throw new Error(`Athena: invalid ${what}: ${JSON.stringify(value)}`);
}

/**
 * The table-name form of a run id: lower case, `[a-z0-9_]` only (Glue lower-cases table names).
 * When that loses information (`A-1` and `a_1` would meet), a hash of the raw id is appended, so two
 * run ids never share a table.
 */
export function runTableId(runId: string): string {
  check(RUN_ID.test(runId), 'run id', runId);
  const plain = runId.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (plain === runId) return plain;
  return `${plain}_${createHash('sha256').update(runId).digest('hex').slice(0, 8)}`;
}

/**
 * Names and statements of one run in Athena: the SQL reference of every logical table, the run's
 * S3 locations and the CTAS and DROP statements. Holds no client, so a plan can be built anywhere.
 */
export class AthenaRunLayout {
  readonly database: string;
  readonly runId: string;
  readonly resultsBucket: string;
  readonly runPrefix: string;
  readonly billingPeriod: string | undefined;
  private readonly inputs: Readonly<Record<AthenaInputTable, string>>;
  private readonly tableId: string;

  constructor(options: AthenaRunLayoutOptions) {
    check(GLUE_NAME.test(options.database), 'Glue database name', options.database);
    check(BUCKET_NAME.test(options.resultsBucket), 'results bucket name', options.resultsBucket);
    const prefix = (options.runPrefix ?? 'runs').replace(/^\/+|\/+$/g, '');
    check(
      prefix.split('/').every((s) => PREFIX_SEGMENT.test(s) && s !== '.' && s !== '..'),
      'run prefix',
      options.runPrefix,
    );
    if (options.billingPeriod !== undefined) {
      check(BILLING_PERIOD.test(options.billingPeriod), 'billing period (YYYY-MM)', options.billingPeriod);
    }
    const inputs = { ...DEFAULT_INPUT_TABLES, ...options.inputTables };
    for (const [input, table] of Object.entries(inputs)) {
      check(GLUE_NAME.test(table), `Glue table name for ${input}`, table);
    }
    this.database = options.database;
    this.runId = options.runId;
    this.tableId = runTableId(options.runId);
    this.resultsBucket = options.resultsBucket;
    this.runPrefix = prefix;
    this.billingPeriod = options.billingPeriod;
    this.inputs = inputs;
  }

  /** The Glue table name of a run table: `run_<run id>_<name>`. */
  runTableName(name: string): string {
    const logical = logicalName(name);
    if (isInputTable(logical)) throw new Error(`Athena: ${logical} is an input, not a run table`);
    return `run_${this.tableId}_${logical}`;
  }

  /** The S3 folder of a run table: `s3://<bucket>/<prefix>/run=<run id>/<name>/`. */
  location(name: string): string {
    const logical = logicalName(name);
    if (isInputTable(logical)) throw new Error(`Athena: ${logical} is an input, not a run table`);
    return `s3://${this.resultsBucket}/${this.runPrefix}/run=${this.runId}/${logical}/`;
  }

  /** The SQL reference of a logical table (see {@link QueryEngine.tableRef}); callable unbound. */
  readonly tableRef = (name: string): string => {
    const logical = logicalName(name);
    if (!isInputTable(logical)) return this.qualified(this.runTableName(logical));
    const table = this.qualified(this.inputs[logical]);
    const period = this.billingPeriod;
    switch (logical) {
      case 'billing_source':
        return period === undefined
          ? table
          : `(SELECT * FROM ${table} WHERE billing_period = ${sqlString(period).sql})`;
      case 'telemetry':
        return period === undefined
          ? table
          : `(SELECT * FROM ${table} WHERE usage_day BETWEEN ${sqlString(`${period}-01`).sql}` +
              ` AND ${sqlString(lastDayOfPeriod(period)).sql})`;
      case 'customers':
        return typedCustomers(table);
    }
  };

  /** CTAS of a run table into its own, new S3 folder (Athena fails rather than overwrite). */
  ctas(name: string, select: string): string {
    return (
      `CREATE TABLE ${this.tableRef(name)}\n` +
      `WITH (format = 'PARQUET', write_compression = 'ZSTD', external_location = ${sqlString(this.location(name)).sql})\n` +
      `AS\n${select}`
    );
  }

  /**
   * Drops a run table from the Glue catalog. Its Parquet files stay (CTAS tables are external): the
   * published partitions point at them. Athena runs DROP TABLE as Hive DDL, which quotes with backticks.
   */
  dropTable(name: string): string {
    return `DROP TABLE IF EXISTS \`${this.database}\`.\`${this.runTableName(name)}\``;
  }

  private qualified(table: string): string {
    return `${sqlIdentifier(this.database).sql}.${sqlIdentifier(table).sql}`;
  }
}

function logicalName(name: string): string {
  const lower = name.toLowerCase();
  check(LOGICAL_NAME.test(lower), 'table name', name);
  return lower;
}

/**
 * The customers table typed as the local engine loads it (lib/inputs/customers.ts): the Glue table
 * is all strings (the Open CSV SerDe cannot read an empty number or a YYYY-MM-DD date), so text is
 * trimmed, an empty tenant_id means the customer id, an empty mrr is 0, and a value that is not a
 * number or a date fails the query rather than dropping a customer.
 */
function typedCustomers(table: string): string {
  return (
    '(SELECT trim(customer_id) AS customer_id,' +
    " coalesce(nullif(trim(tenant_id), ''), trim(customer_id)) AS tenant_id," +
    ' trim(name) AS name, trim(tier) AS tier, lower(trim(plan_status)) AS plan_status,' +
    " coalesce(CAST(nullif(trim(mrr), '') AS double), 0) AS mrr," +
    " CAST(nullif(trim(start_date), '') AS date) AS start_date," +
    " CAST(nullif(trim(end_date), '') AS date) AS end_date," +
    " nullif(trim(owner_team), '') AS owner_team" +
    ` FROM ${table})`
  );
}

/** The states in which Athena has finished with a query. */
type FinalState = 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

/** Raised when an Athena query ends FAILED or CANCELLED. */
export class AthenaQueryError extends Error {
  override readonly name = 'AthenaQueryError';
  readonly state: 'FAILED' | 'CANCELLED';
  /** Athena's StateChangeReason. */
  readonly reason: string | undefined;
  readonly queryExecutionId: string;
  /** Whether Athena marked the failure as transient (AthenaError.Retryable). */
  readonly retryable: boolean;

  constructor(queryExecutionId: string, status: QueryExecutionStatus, attempts: number) {
    const state = status.State === 'CANCELLED' ? 'CANCELLED' : 'FAILED';
    const reason = status.StateChangeReason ?? status.AthenaError?.ErrorMessage;
    super(
      `Athena query ${queryExecutionId} ${state}: ${reason ?? 'no reason given'}` +
        (attempts > 1 ? ` (after ${attempts} attempts)` : ''),
    );
    this.state = state;
    this.reason = reason;
    this.queryExecutionId = queryExecutionId;
    this.retryable = status.AthenaError?.Retryable === true;
  }
}

/** Raised when a query is still running after `maxWaitMs`; the query is asked to stop. */
export class AthenaQueryTimeoutError extends Error {
  override readonly name = 'AthenaQueryTimeoutError';
  readonly queryExecutionId: string;
  readonly waitedMs: number;

  constructor(queryExecutionId: string, waitedMs: number) {
    super(`Athena query ${queryExecutionId} did not finish within ${waitedMs} ms; it was asked to stop`);
    this.queryExecutionId = queryExecutionId;
    this.waitedMs = waitedMs;
  }
}

export interface AthenaEngineOptions extends AthenaRunLayoutOptions {
  readonly client: AthenaClient;
  /** The pipeline's workgroup (its enforced settings decide output location, encryption, cutoff). */
  readonly workgroup: string;
  /** Pause between two status polls. @default 1000 */
  readonly pollIntervalMs?: number;
  /** Longest wait for one call (query or table) to finish, restarts included. @default 600000 */
  readonly maxWaitMs?: number;
  /** Attempts at StartQueryExecution while Athena throttles. @default 5 */
  readonly maxStartAttempts?: number;
  /** First pause after a throttled start; doubled on each further one, at most 30 s. @default 1000 */
  readonly throttleDelayMs?: number;
  /** Restarts of a query that failed with an error Athena marks retryable. @default 2 */
  readonly maxRestarts?: number;
  /** How to wait (injected by tests). @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** The clock `maxWaitMs` is measured on (injected by tests, with `sleep`). @default Date.now */
  readonly now?: () => number;
}

const MAX_THROTTLE_DELAY_MS = 30_000;

/**
 * The deployed engine: Athena engine v3 over the Glue catalog. Inputs are the catalog's tables; every
 * table a run creates is a CTAS into the run's own S3 prefix, named after the run, so runs never
 * overwrite each other or what readers see. Waiting happens here, so this engine suits small queries
 * (checks, alerts) and offline callers; the state machine runs the planned statements itself
 * (lib/pipeline/athena-run-plan.ts).
 */
export class AthenaEngine implements QueryEngine {
  readonly layout: AthenaRunLayout;
  private readonly client: AthenaClient;
  private readonly workgroup: string;
  private readonly pollIntervalMs: number;
  private readonly maxWaitMs: number;
  private readonly maxStartAttempts: number;
  private readonly throttleDelayMs: number;
  private readonly maxRestarts: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(options: AthenaEngineOptions) {
    check(WORKGROUP_NAME.test(options.workgroup), 'workgroup name', options.workgroup);
    this.layout = new AthenaRunLayout(options);
    this.client = options.client;
    this.workgroup = options.workgroup;
    this.pollIntervalMs = positive(options.pollIntervalMs ?? 1000, 'pollIntervalMs');
    this.maxWaitMs = positive(options.maxWaitMs ?? 600_000, 'maxWaitMs');
    this.maxStartAttempts = atLeast(options.maxStartAttempts ?? 5, 1, 'maxStartAttempts');
    this.throttleDelayMs = positive(options.throttleDelayMs ?? 1000, 'throttleDelayMs');
    this.maxRestarts = atLeast(options.maxRestarts ?? 2, 0, 'maxRestarts');
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
  }

  readonly tableRef = (name: string): string => this.layout.tableRef(name);

  async createTable(name: string, select: string): Promise<void> {
    await this.execute(this.layout.ctas(name, select));
  }

  /** Stored like a table: Athena readers (publish, finance) need the rows in S3. */
  async createView(name: string, select: string): Promise<void> {
    await this.execute(this.layout.ctas(name, select));
  }

  async query(select: string): Promise<Row[]> {
    const queryExecutionId = await this.execute(select);
    const rows: Row[] = [];
    let columns: ColumnInfo[] | undefined;
    let nextToken: string | undefined;
    let firstPage = true;
    do {
      const page = await this.client.send(
        new GetQueryResultsCommand({
          QueryExecutionId: queryExecutionId,
          NextToken: nextToken,
          MaxResults: 1000,
        }),
      );
      columns ??= page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? [];
      const data = page.ResultSet?.Rows ?? [];
      // The first row of a SELECT's first page repeats the column names.
      for (const row of firstPage ? data.slice(1) : data) rows.push(toRow(columns, row.Data ?? []));
      firstPage = false;
      nextToken = page.NextToken;
    } while (nextToken);
    return rows;
  }

  /** Runs a statement that returns no rows (DDL such as CREATE VIEW) to completion. */
  async run(sql: string): Promise<void> {
    await this.execute(sql);
  }

  /** Runs one statement to completion; returns the id of the execution that succeeded. */
  private async execute(sql: string): Promise<string> {
    const started = this.now();
    for (let attempt = 1; ; attempt++) {
      const queryExecutionId = await this.start(sql);
      const status = await this.waitFor(queryExecutionId, started);
      if (status.State === 'SUCCEEDED') return queryExecutionId;
      const error = new AthenaQueryError(queryExecutionId, status, attempt);
      if (!(error.state === 'FAILED' && error.retryable && attempt <= this.maxRestarts)) throw error;
    }
  }

  private async start(sql: string): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      try {
        const output = await this.client.send(
          new StartQueryExecutionCommand({
            QueryString: sql,
            WorkGroup: this.workgroup,
            QueryExecutionContext: { Database: this.layout.database },
            // A reused result does not notice that AWS rewrote the CUR since: always compute.
            ResultReuseConfiguration: { ResultReuseByAgeConfiguration: { Enabled: false } },
          }),
        );
        if (!output.QueryExecutionId) throw new Error('Athena: StartQueryExecution returned no id');
        return output.QueryExecutionId;
      } catch (error) {
        if (!isThrottling(error) || attempt >= this.maxStartAttempts) throw error;
        await this.sleep(Math.min(this.throttleDelayMs * 2 ** (attempt - 1), MAX_THROTTLE_DELAY_MS));
      }
    }
  }

  /** Polls until the query is final; past `maxWaitMs` since the call began, stops it and throws. */
  private async waitFor(
    queryExecutionId: string,
    started: number,
  ): Promise<QueryExecutionStatus & { State: FinalState }> {
    for (;;) {
      const { QueryExecution } = await this.client.send(
        new GetQueryExecutionCommand({ QueryExecutionId: queryExecutionId }),
      );
      const status = QueryExecution?.Status ?? {};
      const state = status.State;
      if (state === 'SUCCEEDED' || state === 'FAILED' || state === 'CANCELLED')
        return { ...status, State: state };
      const waited = this.now() - started;
      if (waited >= this.maxWaitMs) {
        await this.client
          .send(new StopQueryExecutionCommand({ QueryExecutionId: queryExecutionId }))
          .catch(() => undefined);
        throw new AthenaQueryTimeoutError(queryExecutionId, waited);
      }
      await this.sleep(Math.min(this.pollIntervalMs, this.maxWaitMs - waited));
    }
  }
}

function positive(value: number, what: string): number {
  check(Number.isFinite(value) && value > 0, what, value);
  return value;
}

function atLeast(value: number, minimum: number, what: string): number {
  check(Number.isInteger(value) && value >= minimum, what, value);
  return value;
}

const NUMERIC_TYPES = new Set([
  'tinyint',
  'smallint',
  'integer',
  'int',
  'bigint',
  'real',
  'float',
  'double',
  'decimal',
]);

/** One result row, typed by the column types (see {@link Row}). */
function toRow(columns: readonly ColumnInfo[], data: readonly { VarCharValue?: string }[]): Row {
  const row: Row = {};
  columns.forEach((column, index) => {
    row[column.Name ?? `_col${index}`] = toValue(data[index]?.VarCharValue, column.Type ?? 'varchar');
  });
  return row;
}

function toValue(text: string | undefined, type: string): Row[string] {
  // Athena sends NULL as a datum without VarCharValue and cannot tell an empty string from it.
  if (text === undefined || text === '') return null;
  const base = type.toLowerCase().replace(/\(.*$/, '').trim();
  if (NUMERIC_TYPES.has(base)) return Number(text);
  if (base === 'boolean') {
    if (text === 'true' || text === 'false') return text === 'true';
    throw new Error(`Athena: not a boolean: ${JSON.stringify(text)}`);
  }
  // date arrives as YYYY-MM-DD, which is how rows carry dates; everything else stays text.
  return text;
}
