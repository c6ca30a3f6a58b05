import {
  AthenaClient,
  GetQueryExecutionCommand,
  type GetQueryExecutionCommandOutput,
  GetQueryResultsCommand,
  type GetQueryResultsCommandOutput,
  InvalidRequestException,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  TooManyRequestsException,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import { billingSources } from '../../lib/attribution/stages.ts';
import 'aws-sdk-client-mock-vitest/extend';
import { TrinoSQL } from 'dt-sql-parser';
import { beforeEach, describe, expect, it } from 'vitest';
import { BILLING_FORMATS } from '../../lib/attribution/billing-formats.ts';
import { defaultRules } from '../../lib/attribution/rules.ts';
import { renderCheck, renderStep, runAttribution, STORED_STEPS } from '../../lib/attribution/stages.ts';
import { isThrottling } from '../../lib/common/aws-errors.ts';
import {
  AthenaEngine,
  type AthenaEngineOptions,
  AthenaQueryError,
  AthenaQueryTimeoutError,
} from '../../lib/engine/athena-engine.ts';
import { ID_BLANKS } from '../../lib/engine/athena-id-blanks.ts';
import {
  AthenaRunLayout,
  type AthenaRunLayoutOptions,
  runTableId,
} from '../../lib/engine/athena-run-layout.ts';

const athena = mockClient(AthenaClient);
let sleeps: number[] = [];
/** A fake clock that only the injected sleep moves, so waits are exact. */
let clock = 0;

beforeEach(() => {
  athena.reset();
  sleeps = [];
  clock = 0;
});

const LAYOUT = { database: 'cost_per_customer', runId: 'r20261001a', resultsBucket: 'cpc-results' } as const;

function engine(overrides: Partial<AthenaEngineOptions> = {}): AthenaEngine {
  return new AthenaEngine({
    client: new AthenaClient({ region: 'eu-west-1' }),
    workgroup: 'cost-per-customer',
    ...LAYOUT,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    now: () => clock,
    ...overrides,
  });
}

const status = (State: string, extra: Record<string, unknown> = {}): GetQueryExecutionCommandOutput =>
  ({
    $metadata: {},
    QueryExecution: { Status: { State, ...extra } },
  }) as GetQueryExecutionCommandOutput;

type Cell = string | undefined;
const resultPage = (
  columns: [string, string][],
  rows: Cell[][],
  nextToken?: string,
): GetQueryResultsCommandOutput => ({
  $metadata: {},
  NextToken: nextToken,
  ResultSet: {
    ResultSetMetadata: { ColumnInfo: columns.map(([Name, Type]) => ({ Name, Type })) },
    Rows: rows.map((row) => ({
      Data: row.map((VarCharValue) => (VarCharValue === undefined ? {} : { VarCharValue })),
    })),
  },
});

describe('AthenaRunLayout: where a run reads and writes', () => {
  const layout = new AthenaRunLayout(LAYOUT);

  it('maps inputs to the catalog tables and everything else to run tables', () => {
    expect(layout.tableRef('billing_source')).toBe('"cost_per_customer"."cur2"');
    // Telemetry keeps the object of each row ("$path"), for the telemetry check to name it.
    expect(layout.tableRef('telemetry')).toBe(
      `(SELECT usage_date, tenant_id, metric, quantity, event_id, "$path" AS source_file FROM "cost_per_customer"."telemetry")`,
    );
    expect(layout.tableRef('daily_summary')).toBe('"cost_per_customer"."run_r20261001a_daily_summary"');
    // Glue lower-cases table names, so the logical name is lower-cased too.
    expect(layout.tableRef('Daily_Summary')).toBe('"cost_per_customer"."run_r20261001a_daily_summary"');
  });

  it('types the all-string customers table as the local loader does', () => {
    const t = (column: string) => `trim(BOTH b.blanks FROM ${column})`;
    expect(layout.tableRef('customers')).toBe(
      `(SELECT ${t('customer_id')} AS customer_id,` +
        ` coalesce(nullif(${t('tenant_id')}, ''), ${t('customer_id')}) AS tenant_id,` +
        ` ${t('name')} AS name, ${t('tier')} AS tier, lower(${t('plan_status')}) AS plan_status,` +
        " coalesce(CAST(nullif(trim(mrr), '') AS double), 0) AS mrr," +
        " CAST(nullif(trim(start_date), '') AS date) AS start_date," +
        " CAST(nullif(trim(end_date), '') AS date) AS end_date," +
        ` nullif(${t('owner_team')}, '') AS owner_team,` +
        " CAST(nullif(trim(effective_from), '') AS date) AS effective_from" +
        ` FROM "cost_per_customer"."customers" CROSS JOIN (SELECT ${ID_BLANKS.sql} AS blanks) AS b)`,
    );
    expect(new TrinoSQL().validate(`SELECT * FROM ${layout.tableRef('customers')} AS c`)).toEqual([]);
  });

  it('uses overridden input tables', () => {
    const custom = new AthenaRunLayout({
      ...LAYOUT,
      inputTables: { billing_source: 'focus_export', customers: 'crm_customers' },
    });
    expect(custom.tableRef('billing_source')).toBe('"cost_per_customer"."focus_export"');
    expect(custom.tableRef('telemetry')).toBe(
      `(SELECT usage_date, tenant_id, metric, quantity, event_id, "$path" AS source_file FROM "cost_per_customer"."telemetry")`,
    );
    expect(custom.tableRef('customers')).toContain('FROM "cost_per_customer"."crm_customers" CROSS JOIN');
  });

  it('reads only the partitions of one billing period when given', () => {
    const scoped = (billingPeriod: string) => new AthenaRunLayout({ ...LAYOUT, billingPeriod });
    expect(scoped('2026-10').tableRef('billing_source')).toBe(
      `(SELECT * FROM "cost_per_customer"."cur2" WHERE billing_period = '2026-10')`,
    );
    expect(scoped('2026-10').tableRef('telemetry')).toBe(
      `(SELECT usage_date, tenant_id, metric, quantity, event_id, "$path" AS source_file FROM "cost_per_customer"."telemetry" WHERE usage_day BETWEEN '2026-09-01' AND '2026-10-31')`,
    );
    // Telemetry starts 30 days before the 1st (a 31-day driver window on the 1st reaches that far) and
    // ends on the month's last day, worked out by hand: 2024 is a leap year, 2026 is not.
    expect(scoped('2024-02').tableRef('telemetry')).toContain(`BETWEEN '2024-01-02' AND '2024-02-29'`);
    expect(scoped('2026-02').tableRef('telemetry')).toContain(`BETWEEN '2026-01-02' AND '2026-02-28'`);
    expect(scoped('2026-03').tableRef('telemetry')).toContain(`BETWEEN '2026-01-30' AND '2026-03-31'`);
    expect(scoped('2026-12').tableRef('telemetry')).toContain(`BETWEEN '2026-11-01' AND '2026-12-31'`);
    expect(scoped('2026-10').tableRef('daily_summary')).toBe(
      '"cost_per_customer"."run_r20261001a_daily_summary"',
    );
  });

  it('writes each run table to its own folder under the run prefix', () => {
    expect(layout.location('daily_summary')).toBe('s3://cpc-results/runs/run=r20261001a/daily_summary/');
    expect(new AthenaRunLayout({ ...LAYOUT, runPrefix: '/attribution/runs/' }).location('x')).toBe(
      's3://cpc-results/attribution/runs/run=r20261001a/x/',
    );
    expect(layout.ctas('daily_summary', 'SELECT 1 AS one')).toBe(
      'CREATE TABLE "cost_per_customer"."run_r20261001a_daily_summary"\n' +
        "WITH (format = 'PARQUET', write_compression = 'ZSTD', " +
        "external_location = 's3://cpc-results/runs/run=r20261001a/daily_summary/')\n" +
        'AS\nSELECT 1 AS one',
    );
    expect(layout.dropTable('daily_summary')).toBe(
      'DROP TABLE IF EXISTS `cost_per_customer`.`run_r20261001a_daily_summary`',
    );
  });

  it('keeps run ids apart in table names even when lower-casing or "_" would merge them', () => {
    expect(runTableId('r20261001a')).toBe('r20261001a');
    const ids = ['2026-10_exec-1', '2026_10_exec_1', '2026-10_Exec-1', '2026.10_exec.1'].map(runTableId);
    expect(new Set(ids).size).toBe(4);
    expect(ids[0]).toMatch(/^2026_10_exec_1_[0-9a-f]{8}$/);
    expect(ids[1]).toBe('2026_10_exec_1');
  });

  it('refuses names that are not plain identifiers, and inputs as run tables', () => {
    for (const name of ['x; DROP TABLE y', '"x"', 'a.b', '1x', '']) {
      expect(() => layout.tableRef(name), name).toThrow(/invalid table name/);
    }
    expect(() => layout.location('customers')).toThrow(/is an input/);
    expect(() => layout.runTableName('billing_source')).toThrow(/is an input/);
  });

  it('refuses unsafe options', () => {
    const bad: Partial<AthenaRunLayoutOptions>[] = [
      { runId: "r'1" },
      { runId: '../r1' },
      { runId: 'r 1' },
      { runId: 'run=1' },
      { runId: 'r'.repeat(81) },
      { database: 'Cost' },
      { database: 'cost"; --' },
      { resultsBucket: 's3://cpc-results' },
      { resultsBucket: 'Results' },
      { runPrefix: '../runs' },
      { runPrefix: "runs'" },
      { billingPeriod: '2026-13' },
      { billingPeriod: '2026-1' },
      { inputTables: { billing_source: 'cur2; --' } },
    ];
    for (const override of bad) {
      expect(() => new AthenaRunLayout({ ...LAYOUT, ...override }), JSON.stringify(override)).toThrow(
        /Athena: invalid/,
      );
    }
    expect(() => engine({ workgroup: 'work group' })).toThrow(/invalid workgroup/);
    expect(() => engine({ maxWaitMs: 0 })).toThrow(/invalid maxWaitMs/);
  });
});

describe('AthenaEngine.query', () => {
  it('starts the query in the workgroup and database with result reuse off', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    athena.on(GetQueryExecutionCommand).resolves(status('SUCCEEDED'));
    athena.on(GetQueryResultsCommand).resolves(resultPage([['one', 'integer']], [['one'], ['1']]));

    expect(await engine().query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect(athena).toHaveReceivedCommandExactlyOnceWith(StartQueryExecutionCommand, {
      QueryString: 'SELECT 1 AS one',
      WorkGroup: 'cost-per-customer',
      QueryExecutionContext: { Database: 'cost_per_customer' },
      ResultReuseConfiguration: { ResultReuseByAgeConfiguration: { Enabled: false } },
    });
  });

  it('polls until SUCCEEDED, then reads every page and types the values', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce(status('QUEUED'))
      .resolvesOnce(status('RUNNING'))
      .resolves(status('SUCCEEDED'));
    const columns: [string, string][] = [
      ['customer_id', 'varchar'],
      ['usage_date', 'date'],
      ['total_cost', 'double'],
      ['line_items', 'bigint'],
      ['mrr', 'decimal'],
      ['is_paid', 'boolean'],
      ['owner_team', 'varchar'],
    ];
    athena
      .on(GetQueryResultsCommand)
      .resolvesOnce(
        resultPage(
          columns,
          [
            ['customer_id', 'usage_date', 'total_cost', 'line_items', 'mrr', 'is_paid', 'owner_team'],
            ['acme', '2026-10-01', '12.5', '3', '1000.00', 'true', 'team-data'],
            ['globex', '2026-10-01', '-0.25', '0', '0.00', 'false', undefined],
          ],
          'page-2',
        ),
      )
      .resolvesOnce(
        resultPage(columns, [['initech', '2026-10-02', '1.0E-6', '42', undefined, undefined, '']]),
      );

    const rows = await engine({ pollIntervalMs: 250 }).query('SELECT ...');

    expect(rows).toEqual([
      {
        customer_id: 'acme',
        usage_date: '2026-10-01',
        total_cost: 12.5,
        line_items: 3,
        mrr: 1000,
        is_paid: true,
        owner_team: 'team-data',
      },
      {
        customer_id: 'globex',
        usage_date: '2026-10-01',
        total_cost: -0.25,
        line_items: 0,
        mrr: 0,
        is_paid: false,
        owner_team: null,
      },
      {
        customer_id: 'initech',
        usage_date: '2026-10-02',
        total_cost: 0.000001,
        line_items: 42,
        mrr: null,
        is_paid: null,
        owner_team: null,
      },
    ]);
    // QUEUED and RUNNING each cost one pause.
    expect(sleeps).toEqual([250, 250]);
    expect(athena).toHaveReceivedCommandTimes(GetQueryExecutionCommand, 3);
    expect(athena).toHaveReceivedCommandTimes(GetQueryResultsCommand, 2);
    expect(athena).toHaveReceivedNthCommandWith(GetQueryResultsCommand, 1, {
      QueryExecutionId: 'q-1',
      NextToken: undefined,
      MaxResults: 1000,
    });
    expect(athena).toHaveReceivedNthCommandWith(GetQueryResultsCommand, 2, {
      QueryExecutionId: 'q-1',
      NextToken: 'page-2',
      MaxResults: 1000,
    });
  });

  it('returns no rows for a result with only the header', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    athena.on(GetQueryExecutionCommand).resolves(status('SUCCEEDED'));
    athena.on(GetQueryResultsCommand).resolves(resultPage([['usage_date', 'date']], [['usage_date']]));
    expect(await engine().query('SELECT ...')).toEqual([]);
  });

  it('raises AthenaQueryError with the reason and id when the query FAILED', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-failed' });
    athena.on(GetQueryExecutionCommand).resolves(
      status('FAILED', {
        StateChangeReason: "COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved",
        AthenaError: { ErrorCategory: 2, ErrorType: 1006, Retryable: false },
      }),
    );
    const error = await engine()
      .query('SELECT x')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AthenaQueryError);
    expect(error).toMatchObject({
      name: 'AthenaQueryError',
      state: 'FAILED',
      reason: "COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved",
      queryExecutionId: 'q-failed',
      retryable: false,
    });
    expect((error as Error).message).toBe(
      "Athena query q-failed FAILED: COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved",
    );
    // Not transient: never restarted, and no results are read.
    expect(athena).toHaveReceivedCommandTimes(StartQueryExecutionCommand, 1);
    expect(athena).not.toHaveReceivedCommand(GetQueryResultsCommand);
  });

  it('raises AthenaQueryError when the query was CANCELLED', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-cancelled' });
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce(status('RUNNING'))
      .resolves(status('CANCELLED', { StateChangeReason: 'Query cancelled by user' }));
    await expect(engine().query('SELECT 1')).rejects.toMatchObject({
      name: 'AthenaQueryError',
      state: 'CANCELLED',
      reason: 'Query cancelled by user',
      queryExecutionId: 'q-cancelled',
    });
    expect(athena).toHaveReceivedCommandTimes(StartQueryExecutionCommand, 1);
  });

  it('restarts a query that FAILED with a retryable error, then returns its rows', async () => {
    athena
      .on(StartQueryExecutionCommand)
      .resolvesOnce({ QueryExecutionId: 'q-1' })
      .resolvesOnce({ QueryExecutionId: 'q-2' });
    athena.on(GetQueryExecutionCommand, { QueryExecutionId: 'q-1' }).resolves(
      status('FAILED', {
        StateChangeReason: 'GENERIC_INTERNAL_ERROR: transient',
        AthenaError: { ErrorCategory: 1, Retryable: true },
      }),
    );
    athena.on(GetQueryExecutionCommand, { QueryExecutionId: 'q-2' }).resolves(status('SUCCEEDED'));
    athena
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q-2' })
      .resolves(resultPage([['n', 'bigint']], [['n'], ['7']]));

    expect(await engine().query('SELECT count(*) AS n FROM t')).toEqual([{ n: 7 }]);
    expect(athena).toHaveReceivedCommandTimes(StartQueryExecutionCommand, 2);
    expect(athena).toHaveReceivedCommandWith(GetQueryResultsCommand, { QueryExecutionId: 'q-2' });
  });

  it('surfaces a retryable failure after the restart limit', async () => {
    let started = 0;
    athena.on(StartQueryExecutionCommand).callsFake(() => ({ QueryExecutionId: `q-${++started}` }));
    athena
      .on(GetQueryExecutionCommand)
      .resolves(status('FAILED', { StateChangeReason: 'transient', AthenaError: { Retryable: true } }));

    await expect(engine({ maxRestarts: 2 }).query('SELECT 1')).rejects.toMatchObject({
      name: 'AthenaQueryError',
      queryExecutionId: 'q-3',
      retryable: true,
      message: 'Athena query q-3 FAILED: transient (after 3 attempts)',
    });
    // One start and two restarts.
    expect(athena).toHaveReceivedCommandTimes(StartQueryExecutionCommand, 3);
  });

  it('retries a throttled StartQueryExecution with exponential backoff', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    athena
      .on(StartQueryExecutionCommand)
      .rejectsOnce(new TooManyRequestsException({ message: 'Too many requests', $metadata: {} }))
      .rejectsOnce(throttled)
      .rejectsOnce(
        new InvalidRequestException({
          message: 'You have exceeded the limit for the number of queries you can run concurrently.',
          $metadata: {},
        }),
      )
      .resolves({ QueryExecutionId: 'q-1' });
    athena.on(GetQueryExecutionCommand).resolves(status('SUCCEEDED'));
    athena.on(GetQueryResultsCommand).resolves(resultPage([['ok', 'boolean']], [['ok'], ['true']]));

    expect(await engine({ throttleDelayMs: 1000 }).query('SELECT true AS ok')).toEqual([{ ok: true }]);
    // 1000, then doubled twice.
    expect(sleeps).toEqual([1000, 2000, 4000]);
    expect(athena).toHaveReceivedCommandTimes(StartQueryExecutionCommand, 4);
  });

  it('surfaces throttling after the attempt limit', async () => {
    athena
      .on(StartQueryExecutionCommand)
      .rejects(new TooManyRequestsException({ message: 'Too many requests', $metadata: {} }));

    await expect(
      engine({ maxStartAttempts: 3, throttleDelayMs: 500 }).query('SELECT 1'),
    ).rejects.toMatchObject({ name: 'TooManyRequestsException' });
    expect(athena).toHaveReceivedCommandTimes(StartQueryExecutionCommand, 3);
    expect(sleeps).toEqual([500, 1000]);
    expect(athena).not.toHaveReceivedCommand(GetQueryExecutionCommand);
  });

  it('does not retry an invalid request that is not about limits', async () => {
    athena
      .on(StartQueryExecutionCommand)
      .rejects(new InvalidRequestException({ message: "line 1:1: mismatched input 'SELEC'", $metadata: {} }));
    await expect(engine().query('SELEC 1')).rejects.toMatchObject({ name: 'InvalidRequestException' });
    expect(athena).toHaveReceivedCommandTimes(StartQueryExecutionCommand, 1);
    expect(sleeps).toEqual([]);
  });

  it('tells throttling errors from others', () => {
    const named = (name: string, message: string) => Object.assign(new Error(message), { name });
    expect(isThrottling(named('ThrottlingException', 'Rate exceeded'))).toBe(true);
    expect(isThrottling(named('TooManyRequestsException', ''))).toBe(true);
    expect(isThrottling(named('InvalidRequestException', 'Rate exceeded'))).toBe(true);
    expect(isThrottling(named('InvalidRequestException', 'Query limit exceeded for this workgroup'))).toBe(
      true,
    );
    expect(isThrottling(named('InvalidRequestException', 'Table not found'))).toBe(false);
    expect(isThrottling(named('AccessDeniedException', 'Rate exceeded'))).toBe(false);
    expect(isThrottling('Rate exceeded')).toBe(false);
  });

  it('stops waiting after maxWaitMs, stops the query and raises a timeout', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-slow' });
    athena.on(GetQueryExecutionCommand).resolves(status('RUNNING'));
    athena.on(StopQueryExecutionCommand).resolves({});

    const error = await engine({ pollIntervalMs: 1000, maxWaitMs: 2500 })
      .query('SELECT 1')
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AthenaQueryTimeoutError);
    expect(error).toMatchObject({ queryExecutionId: 'q-slow', waitedMs: 2500 });
    // Polls at 0, 1000, 2000 and 2500 ms: the last pause is cut to what remains of the budget.
    expect(sleeps).toEqual([1000, 1000, 500]);
    expect(athena).toHaveReceivedCommandTimes(GetQueryExecutionCommand, 4);
    expect(athena).toHaveReceivedCommandExactlyOnceWith(StopQueryExecutionCommand, {
      QueryExecutionId: 'q-slow',
    });
    expect(athena).not.toHaveReceivedCommand(GetQueryResultsCommand);
  });

  it('counts the wait before a restart against the same maxWaitMs', async () => {
    athena
      .on(StartQueryExecutionCommand)
      .resolvesOnce({ QueryExecutionId: 'q-1' })
      .resolvesOnce({ QueryExecutionId: 'q-2' });
    athena
      .on(GetQueryExecutionCommand, { QueryExecutionId: 'q-1' })
      .resolvesOnce(status('RUNNING'))
      .resolvesOnce(status('RUNNING'))
      .resolves(status('FAILED', { StateChangeReason: 'transient', AthenaError: { Retryable: true } }));
    athena.on(GetQueryExecutionCommand, { QueryExecutionId: 'q-2' }).resolves(status('RUNNING'));
    athena.on(StopQueryExecutionCommand).resolves({});

    // q-1 polls at 0, 1000, 2000 (FAILED); q-2 polls at 2000 and 3000, when the 3000 ms are spent.
    await expect(engine({ pollIntervalMs: 1000, maxWaitMs: 3000 }).query('SELECT 1')).rejects.toMatchObject({
      name: 'AthenaQueryTimeoutError',
      queryExecutionId: 'q-2',
      waitedMs: 3000,
    });
    expect(sleeps).toEqual([1000, 1000, 1000]);
    expect(athena).toHaveReceivedCommandTimes(GetQueryExecutionCommand, 5);
    expect(athena).toHaveReceivedCommandExactlyOnceWith(StopQueryExecutionCommand, {
      QueryExecutionId: 'q-2',
    });
  });

  it('still raises the timeout when stopping the query fails', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-slow' });
    athena.on(GetQueryExecutionCommand).resolves(status('QUEUED'));
    athena.on(StopQueryExecutionCommand).rejects(new Error('network down'));
    await expect(engine({ pollIntervalMs: 1000, maxWaitMs: 1000 }).query('SELECT 1')).rejects.toBeInstanceOf(
      AthenaQueryTimeoutError,
    );
    expect(sleeps).toEqual([1000]);
  });
});

describe('AthenaEngine tables', () => {
  it('createTable runs a CTAS into the run prefix and waits for it', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-ctas' });
    athena.on(GetQueryExecutionCommand).resolvesOnce(status('RUNNING')).resolves(status('SUCCEEDED'));

    await engine().createTable('classified_cost', 'SELECT 1 AS one');

    expect(athena).toHaveReceivedCommandExactlyOnceWith(StartQueryExecutionCommand, {
      QueryString:
        'CREATE TABLE "cost_per_customer"."run_r20261001a_classified_cost"\n' +
        "WITH (format = 'PARQUET', write_compression = 'ZSTD', " +
        "external_location = 's3://cpc-results/runs/run=r20261001a/classified_cost/')\n" +
        'AS\nSELECT 1 AS one',
      WorkGroup: 'cost-per-customer',
      QueryExecutionContext: { Database: 'cost_per_customer' },
      ResultReuseConfiguration: { ResultReuseByAgeConfiguration: { Enabled: false } },
    });
    expect(sleeps).toEqual([1000]);
    expect(athena).not.toHaveReceivedCommand(GetQueryResultsCommand);
  });

  it('createView stores the rows in S3 like a table', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-view' });
    athena.on(GetQueryExecutionCommand).resolves(status('SUCCEEDED'));
    await engine().createView('customer_daily_service_cost', 'SELECT 1 AS one');
    expect(athena).toHaveReceivedCommandWith(StartQueryExecutionCommand, {
      QueryString: expect.stringContaining(
        "external_location = 's3://cpc-results/runs/run=r20261001a/customer_daily_service_cost/'",
      ),
    });
  });

  it('createTable surfaces a failed CTAS', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-ctas' });
    athena.on(GetQueryExecutionCommand).resolves(
      status('FAILED', {
        StateChangeReason: 'HIVE_PATH_ALREADY_EXISTS: Target directory for table already exists',
      }),
    );
    await expect(engine().createTable('daily_summary', 'SELECT 1 AS one')).rejects.toMatchObject({
      name: 'AthenaQueryError',
      state: 'FAILED',
      queryExecutionId: 'q-ctas',
    });
  });

  it('never creates an input table', async () => {
    await expect(engine().createTable('customers', 'SELECT 1 AS one')).rejects.toThrow(/is an input/);
    expect(athena).not.toHaveReceivedAnyCommand();
  });

  it('runAttribution on Athena sends each stage as a CTAS around the shared SQL, and each check', async () => {
    const run = { runId: LAYOUT.runId, sources: billingSources(BILLING_FORMATS.cur2), rules: defaultRules() };
    const sent: string[] = [];
    athena.on(StartQueryExecutionCommand).callsFake((input: { QueryString: string }) => {
      sent.push(input.QueryString);
      return { QueryExecutionId: `q-${sent.length}` };
    });
    athena.on(GetQueryExecutionCommand).resolves(status('SUCCEEDED'));
    athena
      .on(GetQueryResultsCommand)
      .resolves(resultPage([['usage_date', 'date']], [['usage_date']]))
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q-4' })
      .resolves(resultPage([['invalid_groups', 'bigint']], [['invalid_groups'], ['0']]));
    const athenaEngine = engine();

    await runAttribution(athenaEngine, run);

    const layout = athenaEngine.layout;
    const ctas = (step: (typeof STORED_STEPS)[number]) =>
      layout.ctas(step.name, renderStep(step, athenaEngine.tableRef, run));
    const [usage, classified, ...rest] = STORED_STEPS;
    expect([usage?.name, classified?.name]).toEqual(['usage_rows', 'classified_cost']);
    expect(sent).toEqual([
      ...(usage ? [ctas(usage)] : []),
      renderCheck('invalid_telemetry', athenaEngine.tableRef),
      ...(classified ? [ctas(classified)] : []),
      renderCheck('invalid_line_items', athenaEngine.tableRef),
      ...rest.map(ctas),
      renderCheck('conservation_check', athenaEngine.tableRef),
    ]);
  });

  it('runAttribution on Athena stops at invalid line items', async () => {
    const run = { runId: LAYOUT.runId, sources: billingSources(BILLING_FORMATS.cur2), rules: defaultRules() };
    let started = 0;
    athena.on(StartQueryExecutionCommand).callsFake(() => ({ QueryExecutionId: `q-${++started}` }));
    athena.on(GetQueryExecutionCommand).resolves(status('SUCCEEDED'));
    athena
      .on(GetQueryResultsCommand)
      .resolves(resultPage([['source_file', 'varchar']], [['source_file']]))
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q-4' })
      .resolves(resultPage([['invalid_groups', 'bigint']], [['invalid_groups'], ['2']]));
    await expect(runAttribution(engine(), run)).rejects.toMatchObject({ name: 'InvalidLineItemsError' });
    // usage_rows, the telemetry check, classified_cost, then the check; nothing after.
    expect(athena).toHaveReceivedCommandTimes(StartQueryExecutionCommand, 4);
  });
});
