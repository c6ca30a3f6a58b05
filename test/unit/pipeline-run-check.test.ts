import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  type GetQueryResultsCommandOutput,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import { billingSources } from '../../lib/attribution/stages.ts';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { BILLING_FORMAT_NAMES, BILLING_FORMATS } from '../../lib/attribution/billing-formats.ts';
import { defaultRules, parseRules } from '../../lib/attribution/rules.ts';
import {
  ConservationError,
  InvalidLineItemsError,
  InvalidTelemetryError,
  RUN_CHECK_NAMES,
  renderCheck,
} from '../../lib/attribution/stages.ts';
import { AthenaEngine } from '../../lib/engine/athena-engine.ts';
import { planAthenaRun } from '../../lib/pipeline/athena-run-plan.ts';
import { runCheck, runCheckInputSchema } from '../../lib/pipeline/run-check.ts';
import { PipelineInputError, parseInput } from '../../lib/pipeline/run-contract.ts';

const athena = mockClient(AthenaClient);
beforeEach(() => athena.reset());

const RUN_ID = '2026-10_6d2f3c1e-4b5a-4f7e-9a8b-1c2d3e4f5a6b_0123456789abcdef01234567';
const PLACE = { database: 'cost_per_customer', resultsBucket: 'cpc-results-111122223333' };
const RUN = { runId: RUN_ID, billingPeriod: '2026-10' };

/** The check items of a plan, as the Map hands them to run-check. */
function plannedChecks(format: (typeof BILLING_FORMAT_NAMES)[number] = 'cur2', rules = defaultRules()) {
  const statements = planAthenaRun(
    { runId: RUN_ID, sources: billingSources(BILLING_FORMATS[format]), rules },
    {
      ...PLACE,
      runPrefix: 'runs',
      billingPeriod: '2026-10',
      inputTables: { billing_source: `bill_${format}` },
    },
  ).flat();
  return Object.fromEntries(statements.flatMap((s) => (s.kind === 'check' ? [[s.name, s]] : [])));
}

/** What the handler does with the event before the core sees it. */
const input = (event: unknown) => parseInput(runCheckInputSchema, event, 'run-check input');

const engine = (run: { runId: string; billingPeriod: string } = RUN) =>
  new AthenaEngine({
    client: new AthenaClient({ region: 'eu-west-1' }),
    workgroup: 'cost-per-customer',
    ...PLACE,
    ...run,
    sleep: async () => undefined,
  });
function answers(columns: [string, string][], rows: string[][]): void {
  athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
  athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
  const page: GetQueryResultsCommandOutput = {
    $metadata: {},
    ResultSet: {
      ResultSetMetadata: { ColumnInfo: columns.map(([Name, Type]) => ({ Name, Type })) },
      // The first row of the first page repeats the column names.
      Rows: [columns.map(([name]) => name), ...rows].map((row) => ({
        Data: row.map((VarCharValue) => ({ VarCharValue })),
      })),
    },
  };
  athena.on(GetQueryResultsCommand).resolves(page);
}

const TELEMETRY_COLUMNS: [string, string][] = [
  ['source_file', 'varchar'],
  ['usage_date', 'date'],
  ['tenant_id', 'varchar'],
  ['metric', 'varchar'],
  ['quantity', 'double'],
  ['problem', 'varchar'],
  ['bad_rows', 'bigint'],
];

const BREACH_COLUMNS: [string, string][] = [
  ['usage_date', 'date'],
  ['total_cost', 'double'],
  ['customer_cost', 'double'],
  ['unattributed_cost', 'double'],
  ['excluded_cost', 'double'],
  ['difference', 'double'],
];

describe('runCheck', () => {
  it('throws InvalidLineItemsError when invalid_line_items counts any group', async () => {
    const { invalid_line_items: statement } = plannedChecks();
    answers([['invalid_groups', 'bigint']], [['2']]);
    const reader = engine();
    const checked = runCheck(input({ ...RUN, statement }), { reader });
    await expect(checked).rejects.toBeInstanceOf(InvalidLineItemsError);
    await expect(checked).rejects.toThrow(`run ${RUN_ID}: 2 group(s) of billing line items`);
    expect(athena).toHaveReceivedCommandWith(StartQueryExecutionCommand, {
      QueryString: renderCheck('invalid_line_items', reader.tableRef),
      WorkGroup: 'cost-per-customer',
      QueryExecutionContext: { Database: 'cost_per_customer' },
    });
  });

  it('throws InvalidTelemetryError naming the object key and the row when invalid_telemetry returns rows', async () => {
    const { invalid_telemetry: statement } = plannedChecks();
    const key = 's3://cpc-data-111122223333/telemetry/usage_day=2026-10-03/app/part-0001.json';
    answers(TELEMETRY_COLUMNS, [
      [key, '2026-10-03', 'acme-eu', 'requests', '-5.0', 'quantity is negative', '3'],
      [key, '2026-10-04', 'acme-us', 'requests', 'NaN', 'quantity is not a finite number', '3'],
    ]);
    const reader = engine();
    const error = await runCheck(input({ ...RUN, statement }), { reader }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidTelemetryError);
    expect((error as Error).message).toBe(
      `run ${RUN_ID}: telemetry object ${key}: quantity is negative, in the row with usage_date 2026-10-03,` +
        ' tenant_id "acme-eu", metric "requests", quantity -5 (named by its values: Athena gives no line' +
        ' numbers); 3 bad rows in all',
    );
    expect((error as InvalidTelemetryError).row).toEqual({
      sourceFile: key,
      problem: 'quantity is negative',
      usageDate: '2026-10-03',
      tenantId: 'acme-eu',
      metric: 'requests',
      quantity: -5,
    });
    expect(athena).toHaveReceivedCommandWith(StartQueryExecutionCommand, {
      QueryString: renderCheck('invalid_telemetry', reader.tableRef),
    });
  });

  it('names an empty tenant and a missing quantity as empty', async () => {
    const { invalid_telemetry: statement } = plannedChecks();
    const key = 's3://cpc-data-111122223333/telemetry/usage_day=2026-10-05/app/x.json';
    // Athena sends NULL (and an empty string) as a datum without a value.
    answers(TELEMETRY_COLUMNS, [[key, '2026-10-05', '', 'requests', '', 'tenant_id is empty', '1']]);
    await expect(runCheck(input({ ...RUN, statement }), { reader: engine() })).rejects.toThrow(
      `telemetry object ${key}: tenant_id is empty, in the row with usage_date 2026-10-05, tenant_id empty,` +
        ' metric "requests", quantity empty (named by its values: Athena gives no line numbers)',
    );
  });

  it('passes when invalid_telemetry returns no row', async () => {
    const { invalid_telemetry: statement } = plannedChecks();
    answers(TELEMETRY_COLUMNS, []);
    await expect(runCheck(input({ ...RUN, statement }), { reader: engine() })).resolves.toEqual({
      runId: RUN_ID,
      name: 'invalid_telemetry',
      passed: true,
    });
  });

  it('passes when invalid_line_items counts 0', async () => {
    const { invalid_line_items: statement } = plannedChecks();
    answers([['invalid_groups', 'bigint']], [['0']]);
    await expect(runCheck(input({ ...RUN, statement }), { reader: engine() })).resolves.toEqual({
      runId: RUN_ID,
      name: 'invalid_line_items',
      passed: true,
    });
  });

  it('throws ConservationError with the breaches when conservation_check returns rows', async () => {
    const { conservation_check: statement } = plannedChecks();
    // 90 + 5 + 4 = 99 against a total of 100: off by -1.
    answers(BREACH_COLUMNS, [['2026-10-03', '100', '90', '5', '4', '-1']]);
    const error = await runCheck(input({ ...RUN, statement }), { reader: engine() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConservationError);
    expect((error as ConservationError).breaches).toEqual([
      {
        usageDate: '2026-10-03',
        totalCost: 100,
        customerCost: 90,
        unattributedCost: 5,
        excludedCost: 4,
        difference: -1,
      },
    ]);
    expect((error as Error).message).toBe(
      'Conservation broken on 1 day(s), first 2026-10-03: customers 90 + unattributed 5 + excluded 4 differs from total 100 by -1',
    );
  });

  it('passes when conservation_check returns no row', async () => {
    const { conservation_check: statement } = plannedChecks();
    answers(BREACH_COLUMNS, []);
    await expect(runCheck(input({ ...RUN, statement }), { reader: engine() })).resolves.toMatchObject({
      passed: true,
    });
  });

  it('refuses an item that carries SQL: a check travels by name, and run-check renders what it runs', async () => {
    const { conservation_check: statement } = plannedChecks();
    const tampered = { ...statement, sql: 'SELECT * FROM "cost_per_customer"."customers"' };
    expect(() => input({ ...RUN, statement: tampered })).toThrow(PipelineInputError);
    expect(() => input({ ...RUN, statement: tampered })).toThrow(/statement/);
    expect(athena).toHaveReceivedCommandTimes(StartQueryExecutionCommand, 0);
  });

  it('reads the tables of the run it is given, and only them', async () => {
    const { conservation_check: statement } = plannedChecks();
    answers(BREACH_COLUMNS, []);
    const other = { ...RUN, runId: '2026-10_other_0123456789abcdef01234567' };
    await runCheck(input({ ...other, statement }), { reader: engine(other) });
    const sent = athena.commandCalls(StartQueryExecutionCommand)[0]?.args[0].input.QueryString ?? '';
    expect(sent).toContain('"cost_per_customer"."run_2026_10_other_0123456789abcdef01234567_');
    expect(sent).not.toContain(RUN_ID.toLowerCase().replaceAll('-', '_'));
  });

  it('refuses a statement that is not a check', () => {
    const statement = { name: 'classified_cost', kind: 'ctas', sql: 'CREATE TABLE x AS SELECT 1' };
    expect(() => input({ ...RUN, statement })).toThrow(/statement\.name|statement\.kind/);
  });
});

describe('planned checks', () => {
  it("are the same names whatever the billing format and the rules, and read only the run's tables", () => {
    const custom = parseRules(
      {
        version: 'custom-9',
        costBasis: 'unblended',
        tenantTagKey: 'org',
        rules: [{ id: 'all', match: {}, driver: 'requests' }],
      },
      'custom',
    );
    for (const format of BILLING_FORMAT_NAMES) {
      for (const rules of [defaultRules(), custom]) {
        expect(plannedChecks(format, rules)).toEqual({
          invalid_telemetry: { name: 'invalid_telemetry', kind: 'check' },
          invalid_line_items: { name: 'invalid_line_items', kind: 'check' },
          conservation_check: { name: 'conservation_check', kind: 'check' },
        });
      }
    }
    const tableRef = engine().tableRef;
    // Checks read only the run's own tables: run-check needs no access to the inputs (the telemetry
    // check reads the run's stored copy, usage_rows).
    for (const name of RUN_CHECK_NAMES) {
      const sql = renderCheck(name, tableRef);
      expect(sql).toMatch(/"cost_per_customer"\."run_/);
      expect(sql).not.toMatch(/bill_|"cur2"|"telemetry"|customers"/);
    }
  });
});
