import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../lib/inputs/input-error.ts';
import { type LocalRunOptions, runLocal } from '../../lib/local/run-local.ts';
import { hashTree } from '../support/file-hashes.ts';
import {
  type TestLineItem,
  type TestUsage,
  tempDir,
  writeCur2,
  writeCustomersCsv,
  writeTelemetryCsv,
} from '../support/fixtures.ts';

/**
 * Section 6 of docs/attribution.md, the cases found by trying the product: each bad input is an
 * InputError naming file, column and row, and leaves the previous --out byte for byte as it was.
 */

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const D1 = '2026-10-01';
const D2 = '2026-10-02';

const GOOD_ITEMS: TestLineItem[] = [
  { date: D1, service: 'AmazonEC2', cost: 10, tenant: 'acme' },
  { date: D1, service: 'AmazonEC2', cost: 6 },
  { date: D2, service: 'AmazonEC2', cost: 4, tenant: 'beta' },
];
const GOOD_USAGE: TestUsage[] = [
  { date: D1, tenant: 'acme', metric: 'requests', quantity: 1 },
  { date: D1, tenant: 'beta', metric: 'requests', quantity: 2 },
];

interface Inputs {
  readonly billing: readonly string[];
  readonly telemetry: readonly string[];
  readonly customers: string;
  readonly outDir: string;
}

/** Good inputs in a fresh folder, and a first good run in its `out`, which the bad run must keep. */
async function withGoodRun(): Promise<{ dir: string; inputs: Inputs; hash: () => Record<string, string> }> {
  const dir = tempDir('cpc-input-errors-');
  const inputs: Inputs = {
    billing: [await writeCur2(join(dir, 'cur.parquet'), GOOD_ITEMS)],
    telemetry: [writeTelemetryCsv(join(dir, 'telemetry.csv'), GOOD_USAGE)],
    customers: writeCustomersCsv(join(dir, 'customers.csv'), [{ id: 'acme' }, { id: 'beta' }]),
    outDir: join(dir, 'out'),
  };
  await run(inputs, { runId: 'good-run' });
  const hash = () => hashTree(inputs.outDir);
  return { dir, inputs, hash };
}

function run(inputs: Inputs, extra: Partial<LocalRunOptions> = {}): ReturnType<typeof runLocal> {
  return runLocal({
    billing: inputs.billing,
    telemetry: inputs.telemetry,
    customers: inputs.customers,
    outDir: inputs.outDir,
    runId: 'input-errors-test',
    engine: { threads: 1 },
    ...extra,
  });
}

interface Expected {
  readonly file: string;
  readonly column?: string;
  readonly row?: number;
  readonly problem: string;
}

/** Runs the bad run, checks its InputError and that the previous results are byte-identical. */
async function expectRefused(
  setup: { inputs: Inputs; hash: () => Record<string, string> },
  bad: Partial<LocalRunOptions>,
  expected: Expected,
): Promise<InputError> {
  const before = setup.hash();
  const outcome = await run(setup.inputs, bad).then(
    () => 'the run succeeded',
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(InputError);
  const error = outcome as InputError;
  expect(basename(error.location.file)).toBe(expected.file);
  expect(error.location.column).toBe(expected.column);
  expect(error.location.row).toBe(expected.row);
  expect(error.message.startsWith(error.location.file)).toBe(true);
  if (expected.column !== undefined) expect(error.message).toContain(`column "${expected.column}"`);
  if (expected.row !== undefined) expect(error.message).toContain(`row ${expected.row}:`);
  expect(error.message).toContain(expected.problem);
  expect(setup.hash()).toEqual(before);
  return error;
}

/** The CLI, `cpc run` with the given inputs and extra arguments. */
function cli(inputs: Inputs, extra: readonly string[] = []) {
  const args = ['bin/cpc.js', 'run', '--out', inputs.outDir, '--customers', inputs.customers];
  for (const file of inputs.billing) args.push('--cur', file);
  for (const file of inputs.telemetry) args.push('--telemetry', file);
  const result = spawnSync(process.execPath, [...args, ...extra], {
    cwd: REPO_ROOT,
    timeout: 60_000,
    encoding: 'utf8',
  });
  expect(result.error).toBeUndefined();
  return result;
}

describe('duplicated column names', () => {
  it('refuses a customers file with two mrr columns', async () => {
    const setup = await withGoodRun();
    const customers = join(setup.dir, 'customers-dup.csv');
    writeFileSync(customers, 'customer_id,name,tier,plan_status,mrr,mrr\nacme,Acme,growth,paid,1000,5\n');
    await expectRefused(
      setup,
      { customers },
      { file: 'customers-dup.csv', column: 'mrr', problem: 'the column appears twice in the header' },
    );
  });

  it('refuses a telemetry CSV with a duplicated column, through the CLI with exit 1', async () => {
    const setup = await withGoodRun();
    const telemetry = join(setup.dir, 'usage-dup.csv');
    writeFileSync(telemetry, `usage_date,tenant_id,metric,quantity,quantity\n${D1},acme,requests,1,2\n`);
    await expectRefused(
      setup,
      { telemetry: [telemetry] },
      { file: 'usage-dup.csv', column: 'quantity', problem: 'the column appears twice in the header' },
    );
    const before = setup.hash();
    const result = cli({ ...setup.inputs, telemetry: [telemetry] });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      `cpc: ${telemetry}, column "quantity": the column appears twice in the header (a column name must be unique)`,
    );
    expect(setup.hash()).toEqual(before);
  });
});
const CUSTOMERS_HEADER = 'customer_id,tenant_id,name,tier,plan_status,mrr,start_date,end_date,owner_team';

describe('a customers file without customers', () => {
  it('refuses a header without rows', async () => {
    const setup = await withGoodRun();
    const customers = join(setup.dir, 'customers-empty.csv');
    writeFileSync(customers, `${CUSTOMERS_HEADER}\n`);
    await expectRefused(
      setup,
      { customers },
      { file: 'customers-empty.csv', problem: 'has a header but no customer rows' },
    );
  });
});

describe('--as-of outside the billing days', () => {
  it('refuses a day years after the bill, through the CLI with exit 1', async () => {
    const setup = await withGoodRun();
    await expectRefused(
      setup,
      { asOf: '2031-01-01' },
      { file: '--as-of', problem: `2031-01-01 is outside the days the billing data covers (${D1} to ${D2})` },
    );
    const before = setup.hash();
    const result = cli(setup.inputs, ['--as-of', '2020-05-05']);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      `cpc: --as-of: 2020-05-05 is outside the days the billing data covers (${D1} to ${D2})`,
    );
    expect(setup.hash()).toEqual(before);
  });

  it('accepts a day inside the bill', async () => {
    const setup = await withGoodRun();
    const result = await run(setup.inputs, { asOf: D2 });
    expect(result.asOf).toBe(D2);
  });
});

describe('the same data given twice', () => {
  it('refuses two billing files with identical content, naming both', async () => {
    const setup = await withGoodRun();
    mkdirSync(join(setup.dir, 'a'));
    mkdirSync(join(setup.dir, 'b'));
    const first = join(setup.dir, 'a', 'cur.parquet');
    const second = join(setup.dir, 'b', 'cur.parquet');
    copyFileSync(setup.inputs.billing[0] as string, first);
    copyFileSync(setup.inputs.billing[0] as string, second);
    const error = await expectRefused(
      setup,
      { billing: [join(setup.dir, 'a'), join(setup.dir, 'b')] },
      { file: 'cur.parquet', problem: `has the same content as ${first}` },
    );
    expect(error.location.file).toBe(second);
  });

  it('refuses two telemetry files with identical content, through the CLI with exit 1', async () => {
    const setup = await withGoodRun();
    const copy = join(setup.dir, 'telemetry-copy.csv');
    copyFileSync(setup.inputs.telemetry[0] as string, copy);
    await expectRefused(
      setup,
      { telemetry: [setup.inputs.telemetry[0] as string, copy] },
      { file: 'telemetry-copy.csv', problem: `has the same content as ${setup.inputs.telemetry[0]}` },
    );
    const before = setup.hash();
    const result = cli({ ...setup.inputs, telemetry: [setup.inputs.telemetry[0] as string, copy] });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`cpc: ${copy}: has the same content as ${setup.inputs.telemetry[0]}`);
    expect(setup.hash()).toEqual(before);
  });

  it('accepts billing and telemetry files that differ', async () => {
    const setup = await withGoodRun();
    const other = await writeCur2(join(setup.dir, 'cur-other.parquet'), [
      { date: D2, service: 'AmazonS3', cost: 1, tenant: 'acme' },
    ]);
    const result = await run(setup.inputs, { billing: [setup.inputs.billing[0] as string, other] });
    expect(result.summary).toBeDefined();
  });
});

describe('files that cannot be read', () => {
  it('refuses a truncated .csv.gz billing file in plain words', async () => {
    const setup = await withGoodRun();
    const whole = await writeCur2(join(setup.dir, 'whole.csv.gz'), GOOD_ITEMS, { csv: true });
    const bytes = readFileSync(whole);
    const truncated = join(setup.dir, 'cur-truncated.csv.gz');
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expectRefused(
      setup,
      { billing: [truncated] },
      { file: 'cur-truncated.csv.gz', problem: 'is not a valid gzip file (truncated or corrupt)' },
    );
  });

  it('refuses a file that is not valid Parquet, through the CLI with exit 1', async () => {
    const setup = await withGoodRun();
    const broken = join(setup.dir, 'cur-broken.parquet');
    writeFileSync(broken, 'this is not parquet\n');
    await expectRefused(
      setup,
      { billing: [broken] },
      { file: 'cur-broken.parquet', problem: 'is not a valid Parquet file' },
    );
    const before = setup.hash();
    const result = cli({ ...setup.inputs, billing: [broken] });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toMatch(new RegExp(`^cpc: ${broken}: is not a valid Parquet file`));
    expect(setup.hash()).toEqual(before);
  });
});

describe('a broken alert state file', () => {
  it('refuses a truncated state file, naming it, through the CLI with exit 1', async () => {
    const setup = await withGoodRun();
    const state = join(setup.dir, 'state.json');
    writeFileSync(state, '{"customer_cost_spike|acme": {"severity": "warn", "sent');
    await expectRefused(
      setup,
      { stateFile: state },
      { file: 'state.json', problem: 'the alert state file is not valid JSON (truncated or corrupt' },
    );
    const before = setup.hash();
    const result = cli(setup.inputs, ['--state', state]);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toMatch(
      new RegExp(`^cpc: ${state}: the alert state file is not valid JSON \\(truncated or corrupt`),
    );
    expect(setup.hash()).toEqual(before);
    expect(readFileSync(state, 'utf8')).toBe('{"customer_cost_spike|acme": {"severity": "warn", "sent');
  });

  it('refuses a state file that is JSON but not an object of sent alerts', async () => {
    const setup = await withGoodRun();
    const state = join(setup.dir, 'state-array.json');
    writeFileSync(state, '[1, 2]\n');
    await expectRefused(
      setup,
      { stateFile: state },
      { file: 'state-array.json', problem: 'the alert state file is not a JSON object of sent alerts' },
    );
  });
});

describe('CSV that is not comma-separated UTF-8', () => {
  const rows = [
    CUSTOMERS_HEADER,
    'acme,,"Acme ""One""",growth,paid,1000,,,',
    'beta,,Beta,growth,paid,1000,,,',
  ];

  it('refuses a ;-separated customers file, saying so, through the CLI with exit 1', async () => {
    const setup = await withGoodRun();
    const customers = join(setup.dir, 'customers-semicolon.csv');
    writeFileSync(customers, `${rows.map((line) => line.replaceAll(',', ';')).join('\n')}\n`);
    await expectRefused(
      setup,
      { customers },
      { file: 'customers-semicolon.csv', problem: 'looks `;`-separated: cpc reads comma-separated CSV' },
    );
    const before = setup.hash();
    const result = cli({ ...setup.inputs, customers });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      `cpc: ${customers}: looks \`;\`-separated: cpc reads comma-separated CSV (save it with , between fields)`,
    );
    expect(setup.hash()).toEqual(before);
  });

  it('refuses a UTF-16 customers file, saying so', async () => {
    const setup = await withGoodRun();
    const customers = join(setup.dir, 'customers-utf16.csv');
    writeFileSync(
      customers,
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${rows.join('\r\n')}\r\n`, 'utf16le')]),
    );
    await expectRefused(
      setup,
      { customers },
      { file: 'customers-utf16.csv', problem: 'is UTF-16 encoded: save it as UTF-8' },
    );
  });

  it('reads a ;-separated telemetry file (the engine detects its delimiter)', async () => {
    const setup = await withGoodRun();
    const telemetry = join(setup.dir, 'usage-semicolon.csv');
    writeFileSync(telemetry, `usage_date;tenant_id;metric;quantity\n${D1};acme;requests;1\n`);
    const result = await run(setup.inputs, { telemetry: [telemetry] });
    expect(result.summary).toBeDefined();
  });
});

describe('NDJSON quantities given as text', () => {
  const line = (quantity: string) =>
    `{"usage_date": "${D1}", "tenant_id": "acme", "metric": "requests", "quantity": ${quantity}}`;

  it('refuses a quoted quantity among numbers, naming file, column and row, through the CLI', async () => {
    const setup = await withGoodRun();
    const telemetry = join(setup.dir, 'usage-mixed.ndjson');
    writeFileSync(telemetry, `${[line('1'), line('"26772.677"'), line('3')].join('\n')}\n`);
    await expectRefused(
      setup,
      { telemetry: [telemetry] },
      {
        file: 'usage-mixed.ndjson',
        column: 'quantity',
        row: 2,
        problem: '"26772.677" is text, not a number (write it without quotes)',
      },
    );
    const before = setup.hash();
    const result = cli({ ...setup.inputs, telemetry: [telemetry] });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      `cpc: ${telemetry}, column "quantity", row 2: "26772.677" is text, not a number (write it without quotes)`,
    );
    expect(setup.hash()).toEqual(before);
  });

  it('refuses quantities that are all quoted', async () => {
    const setup = await withGoodRun();
    const telemetry = join(setup.dir, 'usage-text.ndjson');
    writeFileSync(telemetry, `${[line('"26772.677"'), line('"5"')].join('\n')}\n`);
    await expectRefused(
      setup,
      { telemetry: [telemetry] },
      {
        file: 'usage-text.ndjson',
        column: 'quantity',
        row: 1,
        problem: '"26772.677" is text, not a number (write it without quotes)',
      },
    );
  });

  it('reads numeric quantities', async () => {
    const setup = await withGoodRun();
    const telemetry = join(setup.dir, 'usage.ndjson');
    writeFileSync(telemetry, `${[line('1'), line('2.5')].join('\n')}\n`);
    expect((await run(setup.inputs, { telemetry: [telemetry] })).summary).toBeDefined();
  });
});

describe('warnings: the run succeeds but the result is probably wrong', () => {
  const STORAGE_UNMATCHED =
    '1 rule of the rules file matched no line item: "storage" (a rule with a driver is tried on untagged' +
    ' cost only, after the rules before it): check its match';
  const rulesFile = (dir: string, tenantTagKey: string) => {
    const path = join(dir, `rules-${tenantTagKey}.json`);
    writeFileSync(
      path,
      JSON.stringify({
        version: 'warnings-test',
        tenantTagKey,
        rules: [
          { id: 'compute', match: { services: ['AmazonEC2'] }, driver: 'requests' },
          { id: 'storage', match: { services: ['AmazonS3'] }, driver: 'storage_bytes' },
        ],
      }),
    );
    return path;
  };

  it('warns of a rule whose metric has no telemetry in the run days, on stderr, run.json and --json', async () => {
    const setup = await withGoodRun();
    const rules = rulesFile(setup.dir, 'tenant_id');
    const expected =
      'rule "storage": metric "storage_bytes" has no telemetry row from 2026-10-01 to 2026-10-02,' +
      ' so the cost it matches stays unattributed (no_usage_signal)';
    const s3 = await writeCur2(join(setup.dir, 'cur-s3.parquet'), [
      { date: D2, service: 'AmazonS3', cost: 3 },
    ]);
    const inputs = { ...setup.inputs, billing: [...setup.inputs.billing, s3] };
    const result = await run(inputs, { rulesFile: rules });
    expect(result.warnings).toEqual([expected]);
    const runJson = JSON.parse(readFileSync(join(setup.inputs.outDir, 'run.json'), 'utf8'));
    expect(runJson.warnings).toEqual([expected]);
    const cliRun = cli(inputs, ['--rules', rules, '--json']);
    expect(cliRun.status).toBe(0);
    expect(cliRun.stderr).toBe(`cpc: warning: ${expected}\n`);
    expect(JSON.parse(cliRun.stdout).warnings).toEqual([expected]);
  });

  it('warns of each metric a blend or a window reads that has no telemetry in the run days', async () => {
    const setup = await withGoodRun();
    const path = join(setup.dir, 'rules-v2-drivers.json');
    writeFileSync(
      path,
      JSON.stringify({
        version: 'warnings-v2',
        tenantTagKey: 'tenant_id',
        rules: [
          {
            id: 'compute',
            match: { services: ['AmazonEC2'] },
            driver: { weights: { requests: 0.6, storage_bytes: 0.4 } },
          },
          {
            id: 'storage',
            match: { services: ['AmazonS3'] },
            driver: { metric: 'storage_bytes', windowDays: 7 },
          },
        ],
      }),
    );
    const s3 = await writeCur2(join(setup.dir, 'cur-s3.parquet'), [
      { date: D2, service: 'AmazonS3', cost: 3 },
    ]);
    const result = await run(
      { ...setup.inputs, billing: [...setup.inputs.billing, s3] },
      { rulesFile: path },
    );
    // requests has telemetry; storage_bytes has none, read by the blend's second part and by the window.
    expect(result.warnings).toEqual(
      ['compute', 'storage'].map(
        (rule) =>
          `rule "${rule}": metric "storage_bytes" has no telemetry row from 2026-10-01 to 2026-10-02,` +
          ' so the cost it matches stays unattributed (no_usage_signal)',
      ),
    );
  });

  it('warns when no line item has the tenant tag key, listing the keys that exist', async () => {
    const setup = await withGoodRun();
    const rules = rulesFile(setup.dir, 'tenantid');
    const result = await run(setup.inputs, { rulesFile: rules });
    // The storage rule matches no cost here: no metric warning for it, but it matched nothing.
    expect(result.warnings).toEqual([
      'no line item has the tenant tag "tenantid" of the rules (tag keys in the bill: user_env, user_tenant_id),' +
        ' so no cost is attributed directly: check tenantTagKey',
      STORAGE_UNMATCHED,
    ]);
  });

  it('gives no warning for a good run; a rule of the rules file that matches no cost is the only one', async () => {
    const setup = await withGoodRun();
    expect((await run(setup.inputs, { rulesFile: rulesFile(setup.dir, 'tenant_id') })).warnings).toEqual([
      STORAGE_UNMATCHED,
    ]);
    const rules = join(setup.dir, 'rules-good.json');
    writeFileSync(
      rules,
      JSON.stringify({
        version: 'warnings-test',
        rules: [{ id: 'compute', match: {}, driver: 'requests' }],
      }),
    );
    expect((await run(setup.inputs, { rulesFile: rules })).warnings).toEqual([]);
  });
});
