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
import { WORKGROUP_NAME } from '../common/names.ts';
import { AthenaRunLayout, type AthenaRunLayoutOptions, check } from './athena-run-layout.ts';
import type { QueryEngine, Row } from './query-engine.ts';

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
