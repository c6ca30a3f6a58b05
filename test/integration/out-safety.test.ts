import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import { writeCsv } from '../../lib/local/output-files.ts';
import { runLocal } from '../../lib/local/run-local.ts';
import { hashTree } from '../support/file-hashes.ts';
import {
  type TestCustomer,
  type TestLineItem,
  type TestUsage,
  tempDir,
  writeCur2,
  writeCustomersCsv,
  writeTelemetryCsv,
} from '../support/fixtures.ts';
import { readCsv } from '../support/run-scenario.ts';

/**
 * The safety rules of `cpc run --out` (docs/local-run.md "How `--out` is replaced"): a folder is
 * replaced only when it is absent, empty or a previous result, everything that can fail happens before
 * the switch, and CSV text cells cannot start a spreadsheet formula.
 */

const CPC = fileURLToPath(new URL('../../bin/cpc.js', import.meta.url));
const D1 = '2026-10-01';

const CUSTOMERS: TestCustomer[] = [
  { id: 'acme', name: '=HYPERLINK("http://x")' },
  { id: 'beta', name: '-minus' },
  { id: 'gamma', name: '@at' },
  { id: 'delta', name: 'Normal Name' },
];
const ITEMS: TestLineItem[] = [
  { date: D1, service: 'AmazonEC2', cost: 10, tenant: 'acme' },
  { date: D1, service: 'AmazonEC2', cost: 4, tenant: 'beta' },
  { date: D1, service: 'AmazonEC2', cost: 2, tenant: 'gamma' },
  { date: D1, service: 'AmazonEC2', cost: 1, tenant: 'delta' },
  { date: D1, service: 'AmazonS3', cost: 6 },
];
// storage_bytes too: without it the untagged S3 cost would stay unattributed, and the run would warn
// on stderr, which these tests expect to be empty.
const USAGE: TestUsage[] = [
  ...CUSTOMERS.map((c, i) => ({ date: D1, tenant: c.id, metric: 'requests', quantity: i + 1 })),
  { date: D1, tenant: 'acme', metric: 'storage_bytes', quantity: 100 },
];

interface Inputs {
  readonly dir: string;
  /** The folder holding the billing export, as `--cur exports/cur`. */
  readonly exports: string;
  readonly cur: string;
  readonly telemetry: string;
  readonly customers: string;
}

async function writeInputs(dir: string): Promise<Inputs> {
  const cur = join(dir, 'exports', 'cur');
  mkdirSync(cur, { recursive: true });
  await writeCur2(join(cur, 'cur.parquet'), ITEMS);
  return {
    dir,
    exports: join(dir, 'exports'),
    cur,
    telemetry: writeTelemetryCsv(join(dir, 'telemetry.csv'), USAGE),
    customers: writeCustomersCsv(join(dir, 'customers.csv'), CUSTOMERS),
  };
}

function cpc(args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  delete env.CPC_DEBUG;
  const result = spawnSync(process.execPath, [CPC, ...args], {
    cwd: options.cwd ?? process.cwd(),
    encoding: 'utf8',
    timeout: 120_000,
    env,
  });
  expect(result.error).toBeUndefined();
  return result;
}

const runArgs = (inputs: Inputs, out: string, extra: readonly string[] = []): string[] => [
  'run',
  '--cur',
  inputs.cur,
  '--telemetry',
  inputs.telemetry,
  '--customers',
  inputs.customers,
  '--out',
  out,
  ...extra,
];

/** Expects a refusal: exit 1 and one line on stderr, `cpc: ...`, that says why and names the path. */
function expectRefused(result: ReturnType<typeof cpc>, why: RegExp, path: string): void {
  expect(result.status).toBe(1);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^cpc: /);
  expect(lines[0]).toMatch(why);
  expect(lines[0]).toContain(path);
}

const runLocalInto = (inputs: Inputs, outDir: string, runId = 'out-safety-test') =>
  runLocal({
    billing: [inputs.cur],
    telemetry: [inputs.telemetry],
    customers: inputs.customers,
    outDir,
    runId,
    engine: { threads: 1 },
  });

describe('cpc run --out: what may be replaced', () => {
  it('refuses an existing file and leaves it untouched', async () => {
    const inputs = await writeInputs(tempDir());
    const notes = join(inputs.dir, 'notes.txt');
    writeFileSync(notes, 'my notes\n');
    const before = hashTree(notes);
    expectRefused(cpc(runArgs(inputs, notes)), /is a file, not a folder/, notes);
    expect(statSync(notes).isFile()).toBe(true);
    expect(hashTree(notes)).toEqual(before);
  });

  it('refuses the folder holding the inputs, and an input itself', async () => {
    const inputs = await writeInputs(tempDir());
    const before = hashTree(inputs.dir);
    expectRefused(cpc(runArgs(inputs, inputs.exports)), /holds an input of the run/, inputs.exports);
    expect(hashTree(inputs.dir)).toEqual(before);
    // The folder given as --cur is itself an input; so is the folder of the customer file.
    await expect(runLocalInto(inputs, inputs.cur)).rejects.toThrow(/holds an input of the run/);
    await expect(runLocalInto(inputs, inputs.dir)).rejects.toThrow(/holds an input of the run/);
    expect(hashTree(inputs.dir)).toEqual(before);
  });

  it('refuses ".", the current folder and the home folder, even when empty', async () => {
    const inputs = await writeInputs(tempDir());
    const cwd = tempDir();
    writeFileSync(join(cwd, 'keep.txt'), 'keep\n');
    const before = hashTree(cwd);
    expectRefused(cpc(runArgs(inputs, '.'), { cwd }), /the current folder/, '.');
    expect(hashTree(cwd)).toEqual(before);

    const emptyCwd = tempDir();
    expectRefused(cpc(runArgs(inputs, emptyCwd), { cwd: emptyCwd }), /the current folder/, emptyCwd);
    expect(readdirSync(emptyCwd)).toEqual([]);

    const home = tempDir();
    expectRefused(cpc(runArgs(inputs, home), { env: { HOME: home } }), /home folder/, home);
    expect(readdirSync(home)).toEqual([]);
  });

  it('refuses a non-empty folder that is not a previous result', async () => {
    const inputs = await writeInputs(tempDir());
    const docs = join(inputs.dir, 'docs');
    mkdirSync(join(docs, 'sub'), { recursive: true });
    writeFileSync(join(docs, 'plan.md'), '# plan\n');
    writeFileSync(join(docs, 'sub', 'a.csv'), 'a\n1\n');
    const before = hashTree(docs);
    expectRefused(cpc(runArgs(inputs, docs)), /not empty and is not the result of a previous run/, docs);
    expect(hashTree(docs)).toEqual(before);
  });

  it('accepts an absent folder, an empty folder, and replaces a previous result', async () => {
    const inputs = await writeInputs(tempDir());
    const absent = join(inputs.dir, 'absent', 'out');
    await runLocalInto(inputs, absent);
    expect(existsSync(join(absent, 'run.json'))).toBe(true);

    const empty = join(inputs.dir, 'empty');
    mkdirSync(empty);
    await runLocalInto(inputs, empty);
    expect(existsSync(join(empty, 'run.json'))).toBe(true);

    const out = join(inputs.dir, 'results');
    const first = cpc(runArgs(inputs, out));
    expect(first.status).toBe(0);
    const firstRun = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { runId: string };
    writeFileSync(join(out, 'left-by-first-run.txt'), 'x\n');
    const second = cpc(runArgs(inputs, out));
    expect(second.stderr).toBe('');
    expect(second.status).toBe(0);
    const secondRun = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { runId: string };
    expect(secondRun.runId).not.toBe(firstRun.runId);
    expect(existsSync(join(out, 'left-by-first-run.txt'))).toBe(false);
    expect(readdirSync(inputs.dir).filter((entry) => entry.includes('.staging-'))).toEqual([]);
  });
});

describe('cpc run: nothing fails after the switch', () => {
  it('a --state file in a missing folder fails before the switch and leaves the previous results', async () => {
    const inputs = await writeInputs(tempDir());
    const out = join(inputs.dir, 'results');
    expect(cpc(runArgs(inputs, out)).status).toBe(0);
    const before = hashTree(out);
    const listingBefore = readdirSync(inputs.dir).sort();
    const state = join(inputs.dir, 'missing-dir', 'state.json');
    expectRefused(cpc(runArgs(inputs, out, ['--state', state])), /folder does not exist/, state);
    expect(hashTree(out)).toEqual(before);
    expect(readdirSync(inputs.dir).sort()).toEqual(listingBefore);
    expect(existsSync(state)).toBe(false);
  });

  it('a state folder that goes away during the run fails before the switch, leaving nothing behind', async () => {
    const inputs = await writeInputs(tempDir());
    const out = join(inputs.dir, 'results');
    await runLocalInto(inputs, out, 'first-run');
    const before = hashTree(out);
    const stateDir = join(inputs.dir, 'state-dir');
    mkdirSync(stateDir);
    const listingBefore = readdirSync(inputs.dir).sort();
    const state = join(stateDir, 'state.json');
    const run = runLocal({
      billing: [inputs.cur],
      telemetry: [inputs.telemetry],
      customers: inputs.customers,
      stateFile: state,
      outDir: out,
      runId: 'second-run',
      engine: { threads: 1 },
      // Past the up-front check: the state is then written beside its file just before the switch.
      onProgress: (phase) => {
        if (phase === 'writing report') rmSync(stateDir, { recursive: true });
      },
    });
    await expect(run).rejects.toThrow(/cannot write the alert state file: its folder does not exist/);
    expect(hashTree(out)).toEqual(before);
    expect(readdirSync(inputs.dir).sort()).toEqual(listingBefore.filter((entry) => entry !== 'state-dir'));
  });

  it('a --state file that cannot be written leaves the previous results and no staging folder', async () => {
    const inputs = await writeInputs(tempDir());
    const out = join(inputs.dir, 'results');
    expect(cpc(runArgs(inputs, out)).status).toBe(0);
    const before = hashTree(out);
    const listingBefore = readdirSync(inputs.dir).sort();
    // A folder where the state file should be: reading it fails, so nothing may be switched.
    const state = join(inputs.dir, 'state-is-a-folder');
    mkdirSync(state);
    const result = cpc(runArgs(inputs, out, ['--state', state, '--as-of', D1]));
    expect(result.status).not.toBe(0);
    expect(hashTree(out)).toEqual(before);
    expect(readdirSync(inputs.dir).sort()).toEqual([...listingBefore, 'state-is-a-folder'].sort());
  });

  it('a --state file in an existing folder is written after a successful run', async () => {
    const inputs = await writeInputs(tempDir());
    const out = join(inputs.dir, 'results');
    const state = join(inputs.dir, 'state.json');
    const result = cpc(runArgs(inputs, out, ['--state', state]));
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    // Only the state file and the results are new: no temporary file stays beside them.
    expect(readdirSync(inputs.dir).sort()).toEqual(
      [
        'customers.csv',
        'exports',
        'results',
        'telemetry.csv',
        ...(existsSync(state) ? ['state.json'] : []),
      ].sort(),
    );
  });
});

describe('CSV text cells cannot start a formula', () => {
  let inputs: Inputs;
  let out: string;
  beforeAll(async () => {
    inputs = await writeInputs(tempDir());
    out = join(inputs.dir, 'results');
    expect(cpc(runArgs(inputs, out)).status).toBe(0);
  });

  const expectedNames = {
    acme: `'=HYPERLINK("http://x")`,
    beta: `'-minus`,
    gamma: `'@at`,
    delta: 'Normal Name',
  };

  it('writes a leading quote in the run CSVs, and raw values in the Parquet twins', async () => {
    const rows = readCsv(join(out, 'customer_daily_cost.csv'));
    expect(Object.fromEntries(rows.map((row) => [row.customer_id, row.customer_name]))).toEqual(
      expectedNames,
    );
    const text = readFileSync(join(out, 'customer_daily_cost.csv'), 'utf8');
    expect(text).toContain(`"'=HYPERLINK(""http://x"")"`);
    // Numbers are never quoted.
    expect(rows.find((row) => row.customer_id === 'acme')?.mrr).toBe('1000');
    expect(Number(rows.find((row) => row.customer_id === 'acme')?.direct_cost)).toBe(10);

    const engine = await DuckDbEngine.create({ threads: 1 });
    try {
      const parquet = await engine.query(
        `SELECT customer_id, customer_name FROM read_parquet('${join(out, 'customer_daily_cost.parquet')}')`,
      );
      expect(Object.fromEntries(parquet.map((row) => [row.customer_id, row.customer_name]))).toEqual({
        acme: '=HYPERLINK("http://x")',
        beta: '-minus',
        gamma: '@at',
        delta: 'Normal Name',
      });
    } finally {
      engine.close();
    }
  });

  it('guards every text cell starting with = + - @ tab or CR, and never a number', async () => {
    const engine = await DuckDbEngine.create({ threads: 1 });
    const path = join(tempDir(), 't.csv');
    try {
      await engine.run(
        `CREATE TABLE t AS SELECT * FROM (VALUES
          (1, '=1+1', CAST(-1.5 AS DOUBLE), -3),
          (2, '+1', CAST(2 AS DOUBLE), 4),
          (3, '-minus', CAST(-0.25 AS DOUBLE), -1),
          (4, '@at', CAST(0 AS DOUBLE), 0),
          (5, chr(9) || 'tab', CAST(1 AS DOUBLE), 1),
          (6, chr(13) || 'cr', CAST(1 AS DOUBLE), 1),
          (7, 'a=b', CAST(1 AS DOUBLE), 1),
          (8, '', CAST(1 AS DOUBLE), 1),
          (9, NULL, CAST(1 AS DOUBLE), 1)
        ) AS v(id, name, cost, n)`,
      );
      await writeCsv(
        engine,
        { file: 't.csv', table: 't', columns: ['id', 'name', 'cost', 'n'], orderBy: 'id' },
        path,
      );
    } finally {
      engine.close();
    }
    const rows = parse(readFileSync(path, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows.map((row) => row.name)).toEqual([
      "'=1+1",
      "'+1",
      "'-minus",
      "'@at",
      "'\ttab",
      "'\rcr",
      'a=b',
      '',
      '',
    ]);
    expect(rows.map((row) => row.cost)).toEqual(['-1.5', '2', '-0.25', '0', '1', '1', '1', '1', '1']);
    expect(rows.map((row) => row.n)).toEqual(['-3', '4', '-1', '0', '1', '1', '1', '1', '1']);
  });

  it('cpc query --csv <file> and --csv - guard text cells too', () => {
    const file = join(inputs.dir, 'monthly.csv');
    const written = cpc(['query', 'customer_monthly_cost', '--results', out, '--csv', file]);
    expect(written.status).toBe(0);
    const fromFile = readCsv(file);
    expect(Object.fromEntries(fromFile.map((row) => [row.customer_id, row.customer_name]))).toEqual(
      expectedNames,
    );
    expect(fromFile.find((row) => row.customer_id === 'acme')?.mrr).toBe('1000');

    const piped = cpc(['query', 'customer_monthly_cost', '--results', out, '--csv', '-']);
    expect(piped.status).toBe(0);
    const fromStdout = parse(piped.stdout, { columns: true }) as Record<string, string>[];
    expect(Object.fromEntries(fromStdout.map((row) => [row.customer_id, row.customer_name]))).toEqual(
      expectedNames,
    );
  });
});
