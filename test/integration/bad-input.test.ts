import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import { InputError } from '../../lib/inputs/input-error.ts';
import { type LocalRunOptions, runLocal } from '../../lib/local/run-local.ts';
import { sqlString } from '../../lib/sql/sql-template.ts';
import {
  type TestCustomer,
  type TestLineItem,
  type TestUsage,
  tempDir,
  writeCur2,
  writeCustomersCsv,
  writeTelemetryCsv,
} from '../support/fixtures.ts';
import { type CsvRow, readCsv } from '../support/run-scenario.ts';

/**
 * Section 6 of docs/attribution.md: bad input is refused with an error naming file, column and row, and a
 * failed run leaves the previous results as they were. Valid edge cases (no catch-all rule, empty inputs,
 * odd tenant ids) must not be refused.
 */

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const D1 = '2026-10-01';

// ---------------------------------------------------------------------------------------------------
// Inputs

const GOOD_ITEMS: TestLineItem[] = [
  { date: D1, service: 'AmazonEC2', cost: 10, tenant: 'acme' },
  { date: D1, service: 'AmazonEC2', cost: 6 },
];
const GOOD_USAGE: TestUsage[] = [
  { date: D1, tenant: 'acme', metric: 'requests', quantity: 1 },
  { date: D1, tenant: 'beta', metric: 'requests', quantity: 2 },
];
const GOOD_CUSTOMERS: TestCustomer[] = [{ id: 'acme' }, { id: 'beta' }];

interface Inputs {
  readonly billing: string;
  readonly telemetry: string;
  readonly customers: string;
}

/** A good CUR 2.0 Parquet, telemetry and customers in `dir`; each test then spoils one of them. */
async function goodInputs(dir: string): Promise<Inputs> {
  return {
    billing: await writeCur2(join(dir, 'cur.parquet'), GOOD_ITEMS),
    telemetry: writeTelemetryCsv(join(dir, 'telemetry.csv'), GOOD_USAGE),
    customers: writeCustomersCsv(join(dir, 'customers.csv'), GOOD_CUSTOMERS),
  };
}

function run(
  dir: string,
  inputs: Inputs,
  extra: Partial<Pick<LocalRunOptions, 'rulesFile' | 'outDir' | 'runId'>> = {},
): ReturnType<typeof runLocal> {
  return runLocal({
    billing: [inputs.billing],
    telemetry: [inputs.telemetry],
    customers: inputs.customers,
    outDir: join(dir, 'out'),
    runId: 'bad-input-test',
    engine: { threads: 1 },
    ...extra,
  });
}

/** CSV text from rows of already escaped fields. */
function csvText(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return `${[header, ...rows].map((fields) => fields.join(',')).join('\n')}\n`;
}

const CUR_CSV_HEADER = [
  'bill_billing_period_start_date',
  'line_item_usage_start_date',
  'line_item_line_item_type',
  'line_item_product_code',
  'line_item_usage_type',
  'line_item_unblended_cost',
  'resource_tags',
];

/** One hand-written CUR 2.0 CSV row: resource_tags as JSON text, as AWS writes it. */
function curCsvRow(cost: string, { start = `${D1}T05:00:00Z`, tenant = '' } = {}): string[] {
  const tags = tenant === '' ? '{}' : `"{""user_tenant_id"":""${tenant}""}"`;
  return ['2026-10-01T00:00:00Z', start, 'Usage', 'AmazonEC2', 'USE1-BoxUsage', cost, tags];
}

function writeCurCsv(path: string, rows: readonly (readonly string[])[]): string {
  writeFileSync(path, csvText(CUR_CSV_HEADER, rows));
  return path;
}

const TELEMETRY_HEADER = ['usage_date', 'tenant_id', 'metric', 'quantity'];
const CUSTOMERS_HEADER = [
  'customer_id',
  'tenant_id',
  'name',
  'tier',
  'plan_status',
  'mrr',
  'start_date',
  'end_date',
  'owner_team',
];

/** A customer row with good defaults; `fields` overrides by column name. */
function customerRow(id: string, fields: Record<string, string> = {}): string[] {
  const row: Record<string, string> = {
    customer_id: id,
    tenant_id: '',
    name: `Customer ${id}`,
    tier: 'growth',
    plan_status: 'paid',
    mrr: '1000',
    start_date: '',
    end_date: '',
    owner_team: '',
    ...fields,
  };
  return CUSTOMERS_HEADER.map((column) => row[column] as string);
}

/** Copies a Parquet file through a DuckDB SELECT over it (`src` names the original in the FROM clause). */
async function rewriteParquet(from: string, to: string, select: (src: string) => string): Promise<string> {
  const engine = await DuckDbEngine.create({ threads: 1 });
  try {
    await engine.run(
      `COPY (${select(`read_parquet(${sqlString(from).sql})`)}) TO ${sqlString(to).sql} (FORMAT parquet)`,
    );
  } finally {
    engine.close();
  }
  return to;
}

function writeRules(dir: string, text: string): string {
  const path = join(dir, 'rules.json');
  writeFileSync(path, text);
  return path;
}

// ---------------------------------------------------------------------------------------------------
// Assertions

/** The InputError a run rejects with; fails the test if it succeeds or throws anything else. */
async function inputErrorOf(work: Promise<unknown>): Promise<InputError> {
  const outcome = await work.then(
    () => 'the run succeeded',
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(InputError);
  return outcome as InputError;
}

interface Expected {
  /** The file's base name. */
  readonly file: string;
  readonly column?: string;
  readonly row?: number;
  /** What is wrong, as the message says it. */
  readonly problem: string | RegExp;
}

/** Checks the location and the message: `<file>, column "<col>", row <n>: <problem>`. */
function expectLocated(error: InputError, expected: Expected): void {
  expect(basename(error.location.file)).toBe(expected.file);
  expect(error.location.column).toBe(expected.column);
  expect(error.location.row).toBe(expected.row);
  expect(error.message.startsWith(error.location.file)).toBe(true);
  if (expected.column !== undefined) expect(error.message).toContain(`column "${expected.column}"`);
  if (expected.row !== undefined) expect(error.message).toContain(`row ${expected.row}:`);
  else expect(error.message).not.toMatch(/, row \d+:/);
  if (typeof expected.problem === 'string') expect(error.message).toContain(expected.problem);
  else expect(error.message).toMatch(expected.problem);
}

const byDayAndCustomer = (rows: readonly CsvRow[], customer: string) =>
  rows.filter((r) => r.usage_date === D1 && r.customer_id === customer);

function costOf(rows: readonly CsvRow[], customer: string): number {
  const found = byDayAndCustomer(rows, customer);
  expect(found).toHaveLength(1);
  return Number(found[0]?.total_cost);
}

// ---------------------------------------------------------------------------------------------------

describe('bad billing data', () => {
  it('names a missing required CUR column (Parquet without line_item_unblended_cost)', async () => {
    const dir = tempDir();
    const inputs = await goodInputs(dir);
    const billing = await rewriteParquet(
      inputs.billing,
      join(dir, 'no-cost.parquet'),
      (src) => `SELECT * EXCLUDE (line_item_unblended_cost) FROM ${src}`,
    );
    const error = await inputErrorOf(run(dir, { ...inputs, billing }));
    expectLocated(error, {
      file: 'no-cost.parquet',
      column: 'line_item_unblended_cost',
      problem: 'required cur2 column is missing',
    });
  });

  it('names a missing required CUR column in a hand-written CSV', async () => {
    const dir = tempDir();
    const inputs = await goodInputs(dir);
    const header = CUR_CSV_HEADER.filter((c) => c !== 'line_item_product_code');
    const billing = join(dir, 'cur.csv');
    writeFileSync(
      billing,
      csvText(header, [['2026-10-01T00:00:00Z', `${D1}T05:00:00Z`, 'Usage', 'USE1-BoxUsage', '1', '{}']]),
    );
    const error = await inputErrorOf(run(dir, { ...inputs, billing }));
    expectLocated(error, {
      file: 'cur.csv',
      column: 'line_item_product_code',
      problem: 'required cur2 column is missing',
    });
  });

  it('names the row of a cost that is not a number in a CUR CSV', async () => {
    const dir = tempDir();
    const inputs = await goodInputs(dir);
    const billing = writeCurCsv(join(dir, 'cur.csv'), [
      curCsvRow('10', { tenant: 'acme' }),
      curCsvRow('6'),
      curCsvRow('abc'),
      curCsvRow('1.5'),
    ]);
    const error = await inputErrorOf(run(dir, { ...inputs, billing }));
    expectLocated(error, {
      file: 'cur.csv',
      column: 'line_item_unblended_cost',
      row: 3,
      problem: '"abc" is not a finite number',
    });
  });

  it.each(['Infinity', 'NaN', '-Infinity', '1e999'])(
    'refuses the non-finite cost text %s in a CUR CSV',
    async (bad) => {
      const dir = tempDir();
      const inputs = await goodInputs(dir);
      const billing = writeCurCsv(join(dir, 'cur.csv'), [curCsvRow('2'), curCsvRow(bad)]);
      const error = await inputErrorOf(run(dir, { ...inputs, billing }));
      expectLocated(error, {
        file: 'cur.csv',
        column: 'line_item_unblended_cost',
        row: 2,
        problem: `"${bad}" is not a finite number`,
      });
    },
  );

  it('names row 3 of a CUR Parquet whose cost is NaN', async () => {
    const dir = tempDir();
    const inputs = await goodInputs(dir);
    // Row 3 is told apart by its usage type; its cost becomes NaN in the copy.
    const items: TestLineItem[] = [
      { date: D1, service: 'AmazonEC2', cost: 1, tenant: 'acme' },
      { date: D1, service: 'AmazonEC2', cost: 2 },
      { date: D1, service: 'AmazonEC2', cost: 3, usageType: 'ROW-3' },
      { date: D1, service: 'AmazonEC2', cost: 4 },
    ];
    const original = await writeCur2(join(dir, 'four.parquet'), items);
    const billing = await rewriteParquet(
      original,
      join(dir, 'nan.parquet'),
      (src) =>
        `SELECT * REPLACE (CASE WHEN line_item_usage_type = 'ROW-3' THEN CAST('NaN' AS DOUBLE)` +
        ` ELSE line_item_unblended_cost END AS line_item_unblended_cost) FROM ${src}`,
    );
    const error = await inputErrorOf(run(dir, { ...inputs, billing }));
    expectLocated(error, {
      file: 'nan.parquet',
      column: 'line_item_unblended_cost',
      row: 3,
      problem: 'is not a finite number',
    });
  });

  it('refuses a cost that is not a number even where the cost basis does not read it', async () => {
    // docs/attribution.md section 2: "Non-numeric or non-finite values are bad input", whatever the line item
    // type. A SavingsPlanNegation costs 0 under every basis but unblended, so "abc" here must not slip
    // through: the same file would otherwise be valid or not depending on costBasis.
    const dir = tempDir();
    const inputs = await goodInputs(dir);
    const negation = curCsvRow('abc');
    negation[2] = 'SavingsPlanNegation';
    const billing = writeCurCsv(join(dir, 'cur.csv'), [curCsvRow('1'), negation]);
    const error = await inputErrorOf(run(dir, { ...inputs, billing }));
    expectLocated(error, {
      file: 'cur.csv',
      column: 'line_item_unblended_cost',
      row: 2,
      problem: '"abc" is not a finite number',
    });
  });

  it.each(['yesterday', '2026-10-32T05:00:00Z'])(
    'names the column and row of a usage start "%s" that does not parse',
    async (bad) => {
      const dir = tempDir();
      const inputs = await goodInputs(dir);
      const billing = writeCurCsv(join(dir, 'cur.csv'), [
        curCsvRow('1'),
        curCsvRow('2', { start: bad }),
        curCsvRow('3'),
      ]);
      const error = await inputErrorOf(run(dir, { ...inputs, billing }));
      expectLocated(error, {
        file: 'cur.csv',
        column: 'line_item_usage_start_date',
        row: 2,
        problem: `"${bad}" is not a timestamp`,
      });
    },
  );
});

describe('bad telemetry', () => {
  async function telemetryError(rows: readonly (readonly string[])[], header = TELEMETRY_HEADER) {
    const dir = tempDir();
    const inputs = await goodInputs(dir);
    const telemetry = join(dir, 'usage.csv');
    writeFileSync(telemetry, csvText(header, rows));
    return inputErrorOf(run(dir, { ...inputs, telemetry }));
  }

  it('refuses a negative quantity', async () => {
    const error = await telemetryError([
      [D1, 'acme', 'requests', '1'],
      [D1, 'beta', 'requests', '-2'],
    ]);
    expectLocated(error, { file: 'usage.csv', column: 'quantity', row: 2, problem: '"-2" is negative' });
  });

  it('refuses a quantity that is not a number', async () => {
    const error = await telemetryError([
      [D1, 'acme', 'requests', '1'],
      [D1, 'beta', 'requests', '2'],
      [D1, 'beta', 'requests', 'lots'],
    ]);
    expectLocated(error, {
      file: 'usage.csv',
      column: 'quantity',
      row: 3,
      problem: '"lots" is not a finite number',
    });
  });

  it.each(['2026-13-01', '01/10/2026'])('refuses the usage date "%s"', async (bad) => {
    const error = await telemetryError([
      [bad, 'acme', 'requests', '1'],
      [D1, 'beta', 'requests', '2'],
    ]);
    expectLocated(error, {
      file: 'usage.csv',
      column: 'usage_date',
      row: 1,
      problem: `"${bad}" is not a date (YYYY-MM-DD)`,
    });
  });

  it('names a missing metric column', async () => {
    const error = await telemetryError(
      [[D1, 'acme', '1']],
      TELEMETRY_HEADER.filter((c) => c !== 'metric'),
    );
    expectLocated(error, { file: 'usage.csv', column: 'metric', problem: 'required column is missing' });
  });

  it('refuses an empty tenant_id', async () => {
    const error = await telemetryError([
      [D1, 'acme', 'requests', '1'],
      [D1, 'beta', 'requests', '2'],
      [D1, '', 'requests', '3'],
    ]);
    expectLocated(error, { file: 'usage.csv', column: 'tenant_id', row: 3, problem: 'is empty' });
  });

  it('names line 2 of an NDJSON file with a bad quantity', async () => {
    const dir = tempDir();
    const inputs = await goodInputs(dir);
    const telemetry = join(dir, 'usage.ndjson');
    const line = (quantity: unknown) =>
      JSON.stringify({ usage_date: D1, tenant_id: 'acme', metric: 'requests', quantity });
    writeFileSync(telemetry, `${[line(1), line('plenty'), line(3)].join('\n')}\n`);
    const error = await inputErrorOf(run(dir, { ...inputs, telemetry }));
    expectLocated(error, {
      file: 'usage.ndjson',
      column: 'quantity',
      row: 2,
      problem: /plenty.* is not a finite number/,
    });
  });

  it('names line 2 of an NDJSON file with a negative quantity', async () => {
    const dir = tempDir();
    const inputs = await goodInputs(dir);
    const telemetry = join(dir, 'usage.ndjson');
    const line = (quantity: number) =>
      JSON.stringify({ usage_date: D1, tenant_id: 'acme', metric: 'requests', quantity });
    writeFileSync(telemetry, `${[line(1), line(-0.5), line(3)].join('\n')}\n`);
    const error = await inputErrorOf(run(dir, { ...inputs, telemetry }));
    expectLocated(error, { file: 'usage.ndjson', column: 'quantity', row: 2, problem: 'is negative' });
  });
});

describe('bad customers', () => {
  async function customersError(rows: readonly (readonly string[])[], header = CUSTOMERS_HEADER) {
    const dir = tempDir();
    const inputs = await goodInputs(dir);
    const customers = join(dir, 'customers.csv');
    writeFileSync(customers, csvText(header, rows));
    return inputErrorOf(run(dir, { ...inputs, customers }));
  }

  it('refuses an unknown plan_status', async () => {
    const error = await customersError([customerRow('acme'), customerRow('beta', { plan_status: 'gold' })]);
    expectLocated(error, {
      file: 'customers.csv',
      column: 'plan_status',
      row: 2,
      problem: '"gold" is not one of paid, trial, free',
    });
  });

  it('refuses a negative mrr', async () => {
    const error = await customersError([customerRow('acme', { mrr: '-5' }), customerRow('beta')]);
    expectLocated(error, { file: 'customers.csv', column: 'mrr', row: 1, problem: '"-5" is negative' });
  });

  it.each(['12k', 'NaN', 'Infinity', '1e400'])('refuses the mrr "%s" as not a number', async (bad) => {
    const error = await customersError([customerRow('acme'), customerRow('beta', { mrr: bad })]);
    expectLocated(error, {
      file: 'customers.csv',
      column: 'mrr',
      row: 2,
      problem: `"${bad}" is not a number`,
    });
  });

  it('refuses one tenant on the rows of two different customers', async () => {
    const error = await customersError([
      customerRow('acme', { tenant_id: 'shared-tenant' }),
      customerRow('beta'),
      customerRow('gamma', { tenant_id: 'shared-tenant' }),
    ]);
    expectLocated(error, {
      file: 'customers.csv',
      column: 'tenant_id',
      row: 3,
      problem: 'tenant "shared-tenant" already belongs to customer "acme"',
    });
  });

  it('refuses one customer on two rows with a different tier, naming the tier column', async () => {
    const error = await customersError([
      customerRow('acme', { tenant_id: 'acme-eu', tier: 'enterprise' }),
      customerRow('acme', { tenant_id: 'acme-us', tier: 'growth' }),
    ]);
    // The column that disagrees is `tier`: that is the one the person has to fix.
    expectLocated(error, { file: 'customers.csv', column: 'tier', row: 2, problem: /acme/ });
  });

  it('refuses an end_date before the start_date', async () => {
    const error = await customersError([
      customerRow('acme', { start_date: '2026-10-05', end_date: '2026-10-01' }),
    ]);
    expectLocated(error, {
      file: 'customers.csv',
      column: 'end_date',
      row: 1,
      problem: '2026-10-01 is before start_date 2026-10-05',
    });
  });

  it.each(['2026-02-30', '10/01/2026', 'soon'])('refuses the start_date "%s"', async (bad) => {
    const error = await customersError([customerRow('acme'), customerRow('beta', { start_date: bad })]);
    expectLocated(error, {
      file: 'customers.csv',
      column: 'start_date',
      row: 2,
      problem: `"${bad}" is not a date (YYYY-MM-DD)`,
    });
  });

  it('names a missing plan_status column', async () => {
    const header = CUSTOMERS_HEADER.filter((c) => c !== 'plan_status');
    const error = await customersError([['acme', '', 'Acme', 'growth', '1000', '', '', '']], header);
    expectLocated(error, {
      file: 'customers.csv',
      column: 'plan_status',
      problem: 'required column is missing',
    });
  });

  it('refuses an mrr above 0 for a trial customer', async () => {
    const error = await customersError([
      customerRow('acme'),
      customerRow('beta', { plan_status: 'trial', mrr: '50' }),
    ]);
    expectLocated(error, {
      file: 'customers.csv',
      column: 'mrr',
      row: 2,
      problem: 'is 50 but a trial customer pays nothing',
    });
  });
});

describe('bad rules files', () => {
  const rule = (fields: Record<string, unknown>) => ({ id: 'r1', match: {}, ...fields });
  const rulesJson = (fields: Record<string, unknown>) =>
    JSON.stringify({ version: 'v-test', rules: [rule({ driver: 'even' })], ...fields });

  async function rulesError(text: string) {
    const dir = tempDir();
    const inputs = await goodInputs(dir);
    return inputErrorOf(run(dir, inputs, { rulesFile: writeRules(dir, text) }));
  }

  it('refuses a file that is not valid JSON', async () => {
    const error = await rulesError('{ "version": "v-test", "rules": [ ');
    expectLocated(error, { file: 'rules.json', problem: 'not valid JSON' });
  });

  it('refuses an unknown field at the top level', async () => {
    const error = await rulesError(rulesJson({ costbasis: 'amortized' }));
    expectLocated(error, { file: 'rules.json', column: '(top level)', problem: /costbasis/ });
  });

  it("refuses an unknown field inside a rule's match", async () => {
    const error = await rulesError(
      rulesJson({ rules: [rule({ match: { servicez: ['AmazonEC2'] }, driver: 'requests' })] }),
    );
    expectLocated(error, { file: 'rules.json', column: 'rules.0.match', problem: /servicez/ });
  });

  it('refuses an unknown costBasis', async () => {
    const error = await rulesError(rulesJson({ costBasis: 'blended' }));
    expectLocated(error, { file: 'rules.json', column: 'costBasis', problem: /amortized/ });
  });

  it('refuses a rule with neither an action nor a driver', async () => {
    const error = await rulesError(
      rulesJson({ rules: [rule({ driver: 'even' }), { id: 'r2', match: { services: ['AmazonS3'] } }] }),
    );
    expectLocated(error, {
      file: 'rules.json',
      column: 'rules.1',
      problem: 'a rule needs exactly one of "action": "exclude" or a "driver"',
    });
  });

  it('refuses a rule with both an action and a driver', async () => {
    const error = await rulesError(rulesJson({ rules: [rule({ action: 'exclude', driver: 'requests' })] }));
    expectLocated(error, {
      file: 'rules.json',
      column: 'rules.0',
      problem: 'a rule needs exactly one of "action": "exclude" or a "driver"',
    });
  });
});

describe('nothing is lost', () => {
  const stagingLeftovers = (dir: string) => readdirSync(dir).filter((name) => name.includes('.staging-'));

  it('keeps the previous results byte for byte when a later run fails, and leaves no staging', async () => {
    const dir = tempDir();
    const inputs = await goodInputs(dir);
    const outDir = join(dir, 'out');
    await run(dir, inputs, { outDir, runId: 'good-run' });
    const published = join(outDir, 'customer_daily_cost.csv');
    const before = readFileSync(published);
    // The good run itself: acme 10 direct + 6 x 1/3 = 12, beta 6 x 2/3 = 4.
    const rows = readCsv(published);
    expect(costOf(rows, 'acme')).toBeCloseTo(12, 10);
    expect(costOf(rows, 'beta')).toBeCloseTo(4, 10);

    // Fails while reading the inputs: customers with an unknown plan.
    const customers = join(dir, 'bad-customers.csv');
    writeFileSync(customers, csvText(CUSTOMERS_HEADER, [customerRow('acme', { plan_status: 'gold' })]));
    await expect(run(dir, { ...inputs, customers }, { outDir, runId: 'bad-customers' })).rejects.toThrow(
      InputError,
    );
    expect(readFileSync(published).equals(before)).toBe(true);
    expect(stagingLeftovers(dir)).toEqual([]);

    // Fails in the attribution: a cost that is not a number.
    const billing = writeCurCsv(join(dir, 'bad-cur.csv'), [curCsvRow('1'), curCsvRow('abc')]);
    await expect(run(dir, { ...inputs, billing }, { outDir, runId: 'bad-cost' })).rejects.toThrow(InputError);
    expect(readFileSync(published).equals(before)).toBe(true);
    expect(stagingLeftovers(dir)).toEqual([]);

    // Fails while writing the staged outputs: a directory stands where the first CSV must go.
    mkdirSync(join(dir, '.out.staging-late-failure', 'customer_daily_cost.csv'), { recursive: true });
    await expect(run(dir, inputs, { outDir, runId: 'late-failure' })).rejects.toThrow(
      /EISDIR|Is a directory/,
    );
    expect(readFileSync(published).equals(before)).toBe(true);
    expect(stagingLeftovers(dir)).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(
      ['bad-cur.csv', 'bad-customers.csv', 'cur.parquet', 'customers.csv', 'out', 'telemetry.csv'].sort(),
    );
  });

  it('the CLI exits non-zero on bad customers, says where, and creates no output directory', async () => {
    const dir = tempDir();
    const inputs = await goodInputs(dir);
    const customers = join(dir, 'customers-bad.csv');
    writeFileSync(
      customers,
      csvText(CUSTOMERS_HEADER, [customerRow('acme'), customerRow('beta', { plan_status: 'gold' })]),
    );
    const outDir = join(dir, 'cli-out');
    const cli = spawnSync(
      process.execPath,
      [
        'bin/cpc.js',
        'run',
        '--cur',
        inputs.billing,
        '--telemetry',
        inputs.telemetry,
        '--customers',
        customers,
        '--out',
        outDir,
      ],
      { cwd: REPO_ROOT, timeout: 60_000, encoding: 'utf8' },
    );
    expect(cli.error).toBeUndefined();
    expect(cli.status).not.toBe(0);
    expect(cli.status).not.toBeNull();
    expect(cli.stderr).toContain('customers-bad.csv');
    expect(cli.stderr).toContain('column "plan_status"');
    expect(cli.stderr).toContain('row 2');
    expect(cli.stderr).toContain('"gold" is not one of paid, trial, free');
    expect(existsSync(outDir)).toBe(false);
    expect(readdirSync(dir).filter((name) => name.includes('.staging-'))).toEqual([]);
  });
});

describe('valid edge cases that are not errors', () => {
  it('a rules file without a catch-all rule leaves unmatched untagged cost unattributed (no_rule)', async () => {
    const dir = tempDir();
    const inputs = {
      ...(await goodInputs(dir)),
      billing: await writeCur2(join(dir, 'cur.parquet'), [
        { date: D1, service: 'AmazonEC2', cost: 6 },
        { date: D1, service: 'AmazonCloudWatch', cost: 7 },
        { date: D1, service: 'AmazonCloudWatch', cost: 3, tenant: 'acme' },
        { date: D1, service: 'AmazonEC2', cost: 2, type: 'Tax' },
      ]),
    };
    const rulesFile = writeRules(
      dir,
      JSON.stringify({
        version: 'no-catch-all',
        rules: [
          { id: 'exclude-tax', match: { lineItemTypes: ['Tax'] }, action: 'exclude' },
          { id: 'compute', match: { services: ['AmazonEC2'] }, driver: 'requests' },
        ],
      }),
    );
    const outDir = join(dir, 'out');
    const result = await run(dir, inputs, { rulesFile, outDir });
    expect(result.rules.version).toBe('no-catch-all');

    const unattributed = readCsv(join(outDir, 'unattributed.csv'));
    // Only the untagged CloudWatch 7 matches no rule; tagged CloudWatch is direct, tagged or not, no rule needed.
    expect(unattributed).toHaveLength(1);
    expect(unattributed[0]).toMatchObject({ usage_date: D1, reason: 'no_rule', service: 'AmazonCloudWatch' });
    expect(Number(unattributed[0]?.cost)).toBeCloseTo(7, 10);

    const daily = readCsv(join(outDir, 'customer_daily_cost.csv'));
    // acme: 3 direct + EC2 6 x 1/(1+2) = 2 -> 5; beta: 6 x 2/3 = 4.
    expect(costOf(daily, 'acme')).toBeCloseTo(5, 10);
    expect(costOf(daily, 'beta')).toBeCloseTo(4, 10);

    const [summary] = readCsv(join(outDir, 'daily_summary.csv'));
    // total 6 + 7 + 3 + 2 = 18, excluded 2, unattributed 7, pct 7 / (18 - 2) = 0.4375.
    expect(Number(summary?.total_cost)).toBeCloseTo(18, 10);
    expect(Number(summary?.excluded_cost)).toBeCloseTo(2, 10);
    expect(Number(summary?.unattributed_cost)).toBeCloseTo(7, 10);
    expect(Number(summary?.unattributed_pct)).toBeCloseTo(0.4375, 10);
  });

  it('an empty CUR gives empty outputs (header lines only) and a zero summary', async () => {
    const dir = tempDir();
    const inputs = { ...(await goodInputs(dir)), billing: await writeCur2(join(dir, 'empty.parquet'), []) };
    const outDir = join(dir, 'out');
    const result = await run(dir, inputs, { outDir });
    const headers: Record<string, string> = {
      'customer_daily_cost.csv':
        'usage_date,customer_id,customer_name,tier,plan_status,mrr,direct_cost,shared_cost,total_cost,rules_version,run_id',
      'customer_daily_service_cost.csv': 'usage_date,customer_id,provider,service,rule_id,driver,cost',
      'customer_daily_usage.csv': 'usage_date,customer_id,metric,quantity',
      'daily_summary.csv':
        'usage_date,total_cost,direct_cost,shared_cost,unattributed_cost,excluded_cost,unattributed_pct',
      'unattributed.csv': 'usage_date,reason,provider,service,cost',
    };
    for (const [file, header] of Object.entries(headers)) {
      expect(readFileSync(join(outDir, file), 'utf8')).toBe(`${header}\n`);
      expect(result.rowCounts[file]).toBe(0);
    }
    expect(readCsv(join(outDir, 'daily_summary.csv'))).toEqual([]);
    expect(result.summary).toMatchObject({
      days: 0,
      customers: 0,
      totalCost: 0,
      directCost: 0,
      sharedCost: 0,
      unattributedCost: 0,
      excludedCost: 0,
      unattributedPct: 0,
    });
  });

  it('empty telemetry leaves every metric-driven pool unattributed (no_usage_signal)', async () => {
    const dir = tempDir();
    const inputs = {
      ...(await goodInputs(dir)),
      billing: await writeCur2(join(dir, 'cur.parquet'), [
        { date: D1, service: 'AmazonEC2', cost: 12 },
        { date: D1, service: 'AWSLambda', cost: 0.25 },
        { date: D1, service: 'AmazonS3', cost: 5 },
        { date: D1, service: 'AmazonCloudWatch', cost: 4 },
        { date: D1, service: 'AmazonEC2', cost: 3, tenant: 'acme' },
      ]),
      telemetry: writeTelemetryCsv(join(dir, 'empty-telemetry.csv'), []),
    };
    const outDir = join(dir, 'out');
    await run(dir, inputs, { outDir });

    const unattributed = readCsv(join(outDir, 'unattributed.csv'));
    const byService = Object.fromEntries(
      unattributed.map((r) => [`${r.reason}/${r.service}`, Number(r.cost)] as const),
    );
    // requests pools: EC2 12, Lambda 0.25; storage_bytes pool: S3 5. No telemetry at all, so all of it.
    expect(Object.keys(byService).sort()).toEqual([
      'no_usage_signal/AWSLambda',
      'no_usage_signal/AmazonEC2',
      'no_usage_signal/AmazonS3',
    ]);
    expect(byService['no_usage_signal/AmazonEC2']).toBeCloseTo(12, 10);
    expect(byService['no_usage_signal/AWSLambda']).toBeCloseTo(0.25, 10);
    expect(byService['no_usage_signal/AmazonS3']).toBeCloseTo(5, 10);

    const daily = readCsv(join(outDir, 'customer_daily_cost.csv'));
    // even: CloudWatch 4 over the 2 active customers = 2 each; acme also has 3 direct.
    expect(costOf(daily, 'acme')).toBeCloseTo(3 + 2, 10);
    expect(costOf(daily, 'beta')).toBeCloseTo(2, 10);
    const [summary] = readCsv(join(outDir, 'daily_summary.csv'));
    // unattributed 12 + 0.25 + 5 = 17.25 of 24.25; pct 17.25 / 24.25.
    expect(Number(summary?.unattributed_cost)).toBeCloseTo(17.25, 10);
    expect(Number(summary?.total_cost)).toBeCloseTo(24.25, 10);
    expect(Number(summary?.unattributed_pct)).toBeCloseTo(17.25 / 24.25, 10);
  });

  const ODD = `o'brien, "zürich"`;

  it.each([
    ['Parquet', false],
    ['gzip CSV', true],
  ])(
    'a tenant id full of quotes, commas and non-ASCII letters is just a tenant id (CUR %s)',
    async (_, csv) => {
      const dir = tempDir();
      const billing = await writeCur2(
        join(dir, csv ? 'cur.csv.gz' : 'cur.parquet'),
        [
          { date: D1, service: 'AmazonEC2', cost: 10, tenant: ODD },
          { date: D1, service: 'AmazonEC2', cost: 6 },
          { date: D1, service: 'AmazonCloudWatch', cost: 4 },
        ],
        { csv },
      );
      const telemetry = writeTelemetryCsv(join(dir, 'telemetry.csv'), [
        { date: D1, tenant: ODD, metric: 'requests', quantity: 1 },
        { date: D1, tenant: 'acme', metric: 'requests', quantity: 2 },
      ]);
      const customers = writeCustomersCsv(join(dir, 'customers.csv'), [
        { id: ODD, tenant: ODD, name: `O'Brien "Zürich", Ltd.` },
        { id: 'acme' },
      ]);
      const outDir = join(dir, 'out');
      await run(dir, { billing, telemetry, customers }, { outDir });

      const daily = readCsv(join(outDir, 'customer_daily_cost.csv'));
      // ODD: 10 direct + EC2 6 x 1/(1+2) = 2 + CloudWatch 4 / 2 = 2 -> 14; acme: 6 x 2/3 = 4 + 2 -> 6.
      expect(costOf(daily, ODD)).toBeCloseTo(14, 10);
      expect(costOf(daily, 'acme')).toBeCloseTo(6, 10);
      expect(byDayAndCustomer(daily, ODD)[0]).toMatchObject({
        customer_name: `O'Brien "Zürich", Ltd.`,
        direct_cost: '10',
      });
      expect(readCsv(join(outDir, 'unattributed.csv'))).toEqual([]);
    },
  );
});
