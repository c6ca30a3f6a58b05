import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatMoney, formatPercent } from '../../lib/common/money.ts';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import { FINANCE_VIEW_NAMES } from '../../lib/finance/finance-registry.ts';
import { generateSyntheticMonth } from '../../lib/generator/synthetic-month.ts';
import { progressReporter, type RunDocument } from '../../lib/local/cli-output.ts';
import { runDemo } from '../../lib/local/demo.ts';
import { runLocal } from '../../lib/local/run-local.ts';
import { summaryText } from '../../lib/local/summary-text.ts';
import { tempDir } from '../support/fixtures.ts';
import { type CsvRow, readCsv } from '../support/run-scenario.ts';

/**
 * The conventions of the cpc command line, tested as a person or a script uses it: `node bin/cpc.js`
 * in a child process. Exit codes: 0 success, 1 bad input, 2 usage error, 3 internal error; stdout
 * carries results only.
 */

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PACKAGE = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
const CSV_FILES = [
  'customer_daily_cost.csv',
  'customer_daily_service_cost.csv',
  'customer_daily_usage.csv',
  'daily_summary.csv',
  'unattributed.csv',
];

function cpc(args: readonly string[], env: Record<string, string> = {}) {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  // The runner's own debugging setting must not change what these tests see.
  if (env.CPC_DEBUG === undefined) delete childEnv.CPC_DEBUG;
  const result = spawnSync(process.execPath, ['bin/cpc.js', ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    env: childEnv,
  });
  expect(result.error).toBeUndefined();
  return result;
}

/** The entries of a help's "Options:" section, each wrapped entry joined onto one line. */
function helpOptions(help: string): string[] {
  const section = help.split('\nOptions:\n')[1]?.split('\n\n')[0] ?? '';
  const entries: string[] = [];
  for (const line of section.split('\n')) {
    if (/^ {2}-/.test(line)) entries.push(line.trim());
    else if (entries.length > 0) entries[entries.length - 1] += ` ${line.trim()}`;
  }
  return entries;
}

/** The long flags of the options a help marks "(required)". */
function requiredInHelp(help: string): string[] {
  return helpOptions(help)
    .filter((entry) => entry.endsWith('(required)'))
    .map((entry) => entry.split(' ')[0] as string);
}

/**
 * Expects `rows` (parsed JSON or CSV) to be the rows of `csv`: same columns in the same order, text
 * equal, numbers equal up to their last digits. Two runs of one view may differ there, as DuckDB adds
 * doubles in parallel, in no fixed order.
 */
function expectRowsOf(rows: readonly Record<string, unknown>[], csv: readonly CsvRow[]): void {
  expect(rows).toHaveLength(csv.length);
  rows.forEach((row, i) => {
    const line = csv[i] ?? {};
    expect(Object.keys(row)).toEqual(Object.keys(line));
    for (const [column, value] of Object.entries(row)) {
      const expected = line[column] ?? '';
      const actual = value === null ? '' : String(value);
      if (/^-?\d+(\.\d+)?$/.test(expected)) {
        const tolerance = 1e-9 * Math.max(1, Math.abs(Number(expected)));
        expect({ column, actual, close: Math.abs(Number(actual) - Number(expected)) <= tolerance }).toEqual({
          column,
          actual,
          close: true,
        });
      } else {
        expect({ column, actual }).toEqual({ column, actual: expected });
      }
    }
  });
}

interface Inputs {
  readonly cur: string;
  readonly telemetry: readonly string[];
  readonly customers: string;
}

let inputs: Inputs;
/** Output directory of one `cpc run --json`, and the document it printed. */
let runOut: string;
let runDoc: RunDocument;
let runStdout: string;

const runArgs = (out: string, extra: readonly string[] = []): string[] => [
  'run',
  '--cur',
  inputs.cur,
  '--telemetry',
  ...inputs.telemetry,
  '--customers',
  inputs.customers,
  '--out',
  out,
  ...extra,
];

beforeAll(async () => {
  const dir = tempDir();
  const files = await generateSyntheticMonth({
    outDir: join(dir, 'in'),
    month: '2026-10',
    seed: 5,
    lineItems: 3_000,
    customers: 12,
  });
  inputs = { cur: join(dir, 'in', 'cur'), telemetry: files.telemetryFiles, customers: files.customersFile };
  runOut = join(dir, 'out');
  // A 12-customer month costs little: without the materiality floor, so the document holds alerts.
  const alertsConfig = join(dir, 'alerts-config.json');
  writeFileSync(alertsConfig, '{"minMonthlyCost": 0}');
  const cli = cpc(runArgs(runOut, ['--json', '--alerts-config', alertsConfig]));
  expect(cli.stderr).toBe('');
  expect(cli.status).toBe(0);
  runStdout = cli.stdout;
  runDoc = JSON.parse(cli.stdout) as RunDocument;
}, 120_000);

describe('cpc --version and --help', () => {
  it.each([['--version'], ['-V']])('cpc %s prints the package version on one line and exits 0', (flag) => {
    const cli = cpc([flag]);
    expect(cli.status).toBe(0);
    expect(cli.stdout).toBe(`${PACKAGE.version}\n`);
    expect(cli.stderr).toBe('');
  });

  it('marks exactly the required options of each command as required, and cites the docs', () => {
    const run = cpc(['run', '--help']);
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('');
    expect(requiredInHelp(run.stdout)).toEqual(['--cur', '--telemetry', '--customers', '--out']);
    // The parser itself: the optional --format entry is there, unmarked.
    expect(helpOptions(run.stdout).some((entry) => entry.startsWith('--format <format>'))).toBe(true);
    expect(run.stdout.trimEnd().endsWith('See docs/local-run.md and docs/attribution.md')).toBe(true);

    const query = cpc(['query', '--help']).stdout;
    expect(requiredInHelp(query)).toEqual(['--results']);
    const views = query.split('\nViews:\n')[1] ?? '';
    expect(views.split('\n').flatMap((line) => /^ {2}(\w+) /.exec(line)?.[1] ?? [])).toEqual([
      ...FINANCE_VIEW_NAMES,
    ]);
    expect(views.trimEnd().endsWith('See docs/finance.md')).toBe(true);

    expect(requiredInHelp(cpc(['demo', '--help']).stdout)).toEqual([]);
    expect(cpc(['--help']).stdout).toContain('Exit status: 0 success');
  });
});

describe('usage errors exit 2 with one message on stderr', () => {
  it('cpc run without options names every missing required option at once', () => {
    const cli = cpc(['run']);
    expect(cli.status).toBe(2);
    expect(cli.stdout).toBe('');
    expect(cli.stderr.split('\n')[0]).toBe(
      "cpc: required options not specified: '--cur <paths...>', '--telemetry <paths...>', '--customers <csv>', '--out <dir>'",
    );
    // The help follows, so the person sees which options there are.
    expect(cli.stderr).toContain('Usage: cpc run [options]');
  });

  it('names only the required options still missing, in the singular for one', () => {
    const two = cpc(['run', '--cur', inputs.cur, '--customers', inputs.customers]);
    expect(two.status).toBe(2);
    expect(two.stderr.split('\n')[0]).toBe(
      "cpc: required options not specified: '--telemetry <paths...>', '--out <dir>'",
    );
    const one = cpc(
      runArgs(join(tempDir(), 'out')).filter((arg, i, all) => arg !== '--out' && all[i - 1] !== '--out'),
    );
    expect(one.status).toBe(2);
    expect(one.stdout).toBe('');
    expect(one.stderr.split('\n')[0]).toBe("cpc: required option '--out <dir>' not specified");
  });

  it.each([
    [['run', '--bogus'], "cpc: unknown option '--bogus'"],
    [['frobnicate'], "cpc: unknown command 'frobnicate'"],
    [
      ['run', '--format', 'csv'],
      "cpc: option '--format <format>' argument 'csv' is invalid. Allowed choices are cur2, legacy, focus.",
    ],
    [
      ['run', '--as-of', '2026-13-01'],
      "cpc: option '--as-of <date>' argument '2026-13-01' is invalid. expected a date, YYYY-MM-DD",
    ],
    [
      ['demo', '--seed', 'x'],
      "cpc: option '--seed <n>' argument 'x' is invalid. expected an integer from 1 to 9007199254740991",
    ],
    [
      ['demo', '--customers', '3'],
      "cpc: option '--customers <n>' argument '3' is invalid. expected an integer from 5 to 100000",
    ],
    [
      ['query', 'margins', '--results', 'out'],
      `cpc: command-argument value 'margins' is invalid for argument 'view'. Allowed choices are ${FINANCE_VIEW_NAMES.join(', ')}.`,
    ],
    [
      ['query', 'tier_margin', '--results', 'out', '--json', '--csv', 'x.csv'],
      "cpc: option '--json' cannot be used with option '--csv <file>'",
    ],
    [['query', 'tier_margin'], "cpc: required option '--results <dir>' not specified"],
  ])('cpc %j', (args, message) => {
    const cli = cpc(args);
    expect(cli.status).toBe(2);
    expect(cli.stdout).toBe('');
    expect(cli.stderr.split('\n')[0]).toBe(message);
  });

  it('cpc without a command shows the help on stderr and exits 2', () => {
    const cli = cpc([]);
    expect(cli.status).toBe(2);
    expect(cli.stdout).toBe('');
    expect(cli.stderr.startsWith('Usage: cpc [options] [command]')).toBe(true);
  });
});

describe('failures exit 1 (bad input) or 3 (internal error)', () => {
  it('bad customers exit 1 with the located message alone on stderr', () => {
    const customers = join(tempDir(), 'customers-bad.csv');
    writeFileSync(
      customers,
      'customer_id,tenant_id,name,tier,plan_status,mrr,start_date,end_date,owner_team\n' +
        'acme,,Acme,growth,paid,1000,,,\nbeta,,Beta,growth,gold,1000,,,\n',
    );
    const out = join(tempDir(), 'out');
    const cli = cpc([...runArgs(out).slice(0, -4), '--customers', customers, '--out', out]);
    expect(cli.status).toBe(1);
    expect(cli.stdout).toBe('');
    expect(cli.stderr).toBe(
      `cpc: ${customers}, column "plan_status", row 2: "gold" is not one of paid, trial, free\n`,
    );
    expect(existsSync(out)).toBe(false);
  });

  it('cpc query on a directory that is not a run exits 1', () => {
    const dir = tempDir();
    const cli = cpc(['query', 'tier_margin', '--results', dir]);
    expect(cli.status).toBe(1);
    expect(cli.stdout).toBe('');
    expect(cli.stderr).toBe(
      `cpc: ${join(dir, 'customer_daily_cost.parquet')}: results file not found: is this the output directory of a run?\n`,
    );
  });

  it('anything else is an internal error, exit 3, with the stack only when CPC_DEBUG=1', () => {
    // The output directory's parent is a file: the staging directory cannot be made (ENOTDIR).
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, '');
    const plain = cpc(runArgs(join(file, 'out')));
    expect(plain.status).toBe(3);
    expect(plain.stdout).toBe('');
    expect(plain.stderr).toMatch(/^cpc: internal error: ENOTDIR: not a directory, mkdir '[^\n]+'\n$/);

    const debug = cpc(runArgs(join(file, 'out')), { CPC_DEBUG: '1' });
    expect(debug.status).toBe(3);
    const [first, ...stack] = debug.stderr.trimEnd().split('\n');
    expect(first).toMatch(/^cpc: internal error: ENOTDIR/);
    expect(stack[0]).toMatch(/^Error: ENOTDIR/);
    expect(stack.some((line) => /^ {4}at .*output-files\.ts/.test(line))).toBe(true);
  });
});

describe('cpc run --json', () => {
  it('prints one JSON document, nothing else, with the figures of its own output files', () => {
    expect(Object.keys(runDoc).sort()).toEqual(
      [
        'alerts',
        'asOf',
        'costBasis',
        'csvTwins',
        'currency',
        'format',
        'formats',
        'messages',
        'outDir',
        'rowCounts',
        'rulesVersion',
        'runId',
        'summary',
        'warnings',
      ].sort(),
    );
    expect(runDoc.warnings).toEqual([]);
    expect(runDoc.outDir).toBe(resolve(runOut));
    const runJson = JSON.parse(readFileSync(join(runOut, 'run.json'), 'utf8')) as Record<string, unknown>;
    expect(runDoc).toMatchObject({
      runId: runJson.runId,
      rulesVersion: runJson.rulesVersion,
      costBasis: runJson.costBasis,
      format: 'cur2',
      asOf: '2026-10-30',
      summary: runJson.summary,
      rowCounts: runJson.rowCounts,
    });
    for (const file of CSV_FILES) expect(runDoc.rowCounts[file]).toBe(readCsv(join(runOut, file)).length);
    const days = readCsv(join(runOut, 'daily_summary.csv'));
    expect(runDoc.summary.days).toBe(days.length);
    expect(runDoc.summary.totalCost).toBeCloseTo(
      days.reduce((sum, day) => sum + Number(day.total_cost), 0),
      6,
    );
    expect(runDoc.summary.unattributedCost).toBeCloseTo(
      readCsv(join(runOut, 'unattributed.csv')).reduce((sum, row) => sum + Number(row.cost), 0),
      6,
    );
    // The alerts as alerts.json holds them, each saying whether it notifies.
    expect(runDoc.alerts).toEqual(JSON.parse(readFileSync(join(runOut, 'alerts.json'), 'utf8')));
    expect(runDoc.alerts.length).toBeGreaterThan(0);
    for (const alert of runDoc.alerts) expect(typeof alert.notify).toBe('boolean');
    expect(runStdout.trimStart().startsWith('{')).toBe(true);
  });

  it('without --json prints the summary for people, money through lib/common/money.ts', () => {
    const cli = cpc(runArgs(join(tempDir(), 'out')));
    expect(cli.status).toBe(0);
    expect(cli.stderr).toBe('');
    const lines = cli.stdout.split('\n');
    expect(lines).toContain(`Total cost      ${formatMoney(runDoc.summary.totalCost, 'USD')}`);
    expect(lines).toContain(
      `  unattributed  ${formatMoney(runDoc.summary.unattributedCost)}  (${formatPercent(runDoc.summary.unattributedPct)} of attributable cost)`,
    );
    expect(lines).toContain('Conservation    holds on every day');
  });

  it('--csv-row-limit leaves bigger outputs to their Parquet twins, says so in run.json and the summary', async () => {
    // The default run wrote every CSV (its outputs are far below the default limit): the row counts to
    // expect. A limit of the daily summary's rows (one per day) keeps it, as a limit is the most rows
    // written, and drops the bigger outputs.
    expect(runDoc.csvTwins).toEqual({ rowLimit: 1_048_575, notWritten: [] });
    const limit = runDoc.rowCounts['daily_summary.csv'] ?? 0;
    expect(limit).toBe(31);
    const over = CSV_FILES.filter((file) => (runDoc.rowCounts[file] ?? 0) > limit);
    const under = CSV_FILES.filter((file) => !over.includes(file));
    expect(over).toContain('customer_daily_service_cost.csv');
    expect(under).toContain('daily_summary.csv');
    const out = join(tempDir(), 'limited');
    const cli = cpc(runArgs(out, ['--csv-row-limit', String(limit)]));
    expect(cli.stderr).toBe('');
    expect(cli.status).toBe(0);
    for (const file of over) expect(existsSync(join(out, file))).toBe(false);
    for (const file of under) expect(readCsv(join(out, file))).toHaveLength(runDoc.rowCounts[file] ?? -1);
    const engine = await DuckDbEngine.create();
    try {
      for (const file of CSV_FILES) {
        const parquet = join(out, file.replace(/\.csv$/, '.parquet')).replaceAll("'", "''");
        const [row] = await engine.query(`SELECT count(*) AS n FROM read_parquet('${parquet}')`);
        expect({ file, rows: Number(row?.n) }).toEqual({ file, rows: runDoc.rowCounts[file] });
      }
    } finally {
      engine.close();
    }
    const runJson = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { csvTwins: unknown };
    expect(runJson.csvTwins).toEqual({
      rowLimit: limit,
      notWritten: over.map((file) => ({ file, rows: runDoc.rowCounts[file] })),
    });
    const service = runDoc.rowCounts['customer_daily_service_cost.csv'] ?? 0;
    expect(cli.stdout).toContain(
      `Only as Parquet, over the CSV limit of 31 rows: ${over
        .map((file) => `${file} (${(runDoc.rowCounts[file] ?? 0).toLocaleString('en-US')} rows)`)
        .join(', ')}; --csv-row-limit none writes every CSV`,
    );
    expect(cli.stdout).toContain(`customer_daily_service_cost.csv (${service.toLocaleString('en-US')} rows)`);

    const unlimited = join(tempDir(), 'unlimited');
    const all = cpc(runArgs(unlimited, ['--csv-row-limit', 'none', '--json']));
    expect(all.status).toBe(0);
    expect((JSON.parse(all.stdout) as RunDocument).csvTwins).toEqual({ rowLimit: null, notWritten: [] });
    for (const file of CSV_FILES)
      expect(readCsv(join(unlimited, file))).toHaveLength(runDoc.rowCounts[file] ?? -1);
  });

  it('--memory-limit and --temp-dir reach the engine; a bad size or row limit is a usage error', () => {
    const spill = join(tempDir(), 'spill');
    const cli = cpc(
      runArgs(join(tempDir(), 'out'), ['--memory-limit', '256MB', '--temp-dir', spill, '--json']),
    );
    expect(cli.stderr).toBe('');
    expect(cli.status).toBe(0);
    const doc = JSON.parse(cli.stdout) as RunDocument;
    expect(doc.rowCounts).toEqual(runDoc.rowCounts);
    expect(doc.summary.totalCost).toBeCloseTo(runDoc.summary.totalCost, 9);
    for (const [flag, value, message] of [
      ['--memory-limit', 'lots', 'expected a size such as 2GB or 512MiB'],
      ['--csv-row-limit', '-1', 'expected a number of rows, or none'],
    ] as const) {
      const bad = cpc(runArgs(join(tempDir(), 'out'), [flag, value]));
      expect(bad.status).toBe(2);
      expect(bad.stderr.split('\n')[0]).toContain(message);
    }
  });

  it('cpc demo --json prints the same kind of document', () => {
    const out = join(tempDir(), 'demo');
    const cli = cpc(['demo', '--out', out, '--customers', '5', '--line-items', '500', '--json']);
    expect(cli.status).toBe(0);
    const doc = JSON.parse(cli.stdout) as RunDocument;
    // So few customers make the demo's deleted tenant a fifth of the tagged cost, which is a warning:
    // stderr holds the document's warnings and nothing else.
    expect(cli.stderr).toBe(doc.warnings.map((warning) => `cpc: warning: ${warning}\n`).join(''));
    expect(Object.keys(doc).sort()).toEqual(Object.keys(runDoc).sort());
    expect(doc.outDir).toBe(resolve(out));
    expect(doc.rowCounts['daily_summary.csv']).toBe(readCsv(join(out, 'daily_summary.csv')).length);
    expect(existsSync(join(out, 'input', 'customers.csv'))).toBe(true);
  });
});

describe('cpc query', () => {
  it('--results and its former name --out print the same table; two different directories are a usage error', () => {
    const results = cpc(['query', 'tier_margin', '--results', runOut]);
    expect(results.status).toBe(0);
    expect(results.stderr).toBe('');
    expect(results.stdout.split('\n')[0]).toMatch(
      /^billing_period\s+tier\s+plan_status\s+customers\s+total_cost/,
    );
    expect(results.stdout).toMatch(/\(\d+ rows\)\n$/);
    const out = cpc(['query', 'tier_margin', '--out', runOut]);
    expect(out.status).toBe(0);
    expect(out.stdout).toBe(results.stdout);
    const both = cpc(['query', 'tier_margin', '--results', runOut, '--out', runOut]);
    expect(both.status).toBe(0);
    expect(both.stdout).toBe(results.stdout);

    const conflict = cpc(['query', 'tier_margin', '--results', runOut, '--out', tempDir()]);
    expect(conflict.status).toBe(2);
    expect(conflict.stdout).toBe('');
    expect(conflict.stderr.split('\n')[0]).toBe(
      "cpc: options '--results <dir>' and '--out <dir>' are the same option, given different values",
    );
  });

  it('--csv <file> writes the file and says so on stderr; --csv - writes the same CSV to stdout only', () => {
    const file = join(tempDir(), 'breakdown.csv');
    const toFile = cpc(['query', 'customer_service_breakdown', '--results', runOut, '--csv', file]);
    expect(toFile.status).toBe(0);
    expect(toFile.stdout).toBe('');
    const rows = readCsv(file);
    expect(rows.length).toBeGreaterThan(0);
    expect(toFile.stderr).toBe(`Wrote ${rows.length} rows of customer_service_breakdown to ${file}\n`);

    const toStdout = cpc(['query', 'customer_service_breakdown', '--results', runOut, '--csv', '-']);
    expect(toStdout.status).toBe(0);
    expect(toStdout.stderr).toBe('');
    const written = readFileSync(file, 'utf8');
    expect(toStdout.stdout.split('\n')).toHaveLength(written.split('\n').length);
    expect(toStdout.stdout.split('\n')[0]).toBe(written.split('\n')[0]);
    expect(toStdout.stdout.endsWith('\n')).toBe(true);
    expectRowsOf(parse(toStdout.stdout, { columns: true }) as CsvRow[], rows);
  });

  it('--json prints the rows as one JSON array with the unrounded values of the CSV', () => {
    const file = join(tempDir(), 'monthly.csv');
    expect(cpc(['query', 'customer_monthly_cost', '--results', runOut, '--csv', file]).status).toBe(0);
    const csv = readCsv(file);
    const cli = cpc(['query', 'customer_monthly_cost', '--results', runOut, '--json']);
    expect(cli.status).toBe(0);
    expect(cli.stderr).toBe('');
    const rows = JSON.parse(cli.stdout) as Record<string, unknown>[];
    expect(rows).toHaveLength(csv.length);
    expect(rows.length).toBeGreaterThan(0);
    expectRowsOf(rows, csv);
    expect(typeof rows[0]?.total_cost).toBe('number');
    // Unrounded: some cost has more than the 2 decimals the table shows.
    expect(rows.some((row) => !Number.isInteger(Number(row.total_cost) * 100))).toBe(true);
  });

  it('ends quietly with exit 0 when the reader of stdout has gone away', async () => {
    const child = spawn(
      process.execPath,
      ['bin/cpc.js', 'query', 'customer_service_breakdown', '--results', runOut, '--csv', '-'],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    // Closed before cpc writes anything: its first write fails with EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const status = await new Promise<number | null>((done) => child.on('close', (code) => done(code)));
    expect(stderr).toBe('');
    expect(status).toBe(0);
  });

  it('cpc query ... | head -1 prints the first line and no error', () => {
    // As a person types it. The output may fit in the pipe before head exits; the test above forces EPIPE.
    const cli = spawnSync(
      'bash',
      [
        '-c',
        'node bin/cpc.js query customer_service_breakdown --results "$0" --csv - | head -1; exit "${PIPESTATUS[0]}"',
        runOut,
      ],
      { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 },
    );
    expect(cli.stderr).toBe('');
    expect(cli.status).toBe(0);
    expect(cli.stdout).toBe(
      'billing_period,customer_id,service,direct_cost,shared_cost,cost,customer_cost,share_of_customer_cost,is_complete\n',
    );
  });
});

describe('progress', () => {
  it('runLocal reports its phases in order, and the summary formats money with lib/common/money.ts', async () => {
    const phases: string[] = [];
    const result = await runLocal({
      billing: [inputs.cur],
      telemetry: inputs.telemetry,
      customers: inputs.customers,
      outDir: join(tempDir(), 'out'),
      engine: { threads: 1 },
      onProgress: (phase) => phases.push(phase),
    });
    expect(phases).toEqual([
      'reading inputs',
      'attributing',
      'evaluating alerts',
      'writing outputs',
      'writing report',
    ]);

    const text = summaryText({
      ...result,
      summary: { ...result.summary, totalCost: 1234567.891, unattributedPct: 0.12 },
    });
    expect(text).toContain('Total cost      $1,234,567.89\n');
    // One decimal always, as in the alerts and the report.
    expect(text).toContain('(12.0% of attributable cost)');
    expect(summaryText(result, 'EUR')).toContain(
      `Total cost      ${formatMoney(result.summary.totalCost, 'EUR')}\n`,
    );
  });

  it('runDemo reports generating data, then the phases of the run', async () => {
    const phases: string[] = [];
    await runDemo({
      outDir: join(tempDir(), 'out'),
      seed: 1,
      customers: 5,
      lineItems: 500,
      month: '2026-10',
      onProgress: (phase) => phases.push(phase),
    });
    expect(phases).toEqual([
      'generating data',
      'reading inputs',
      'attributing',
      'evaluating alerts',
      'writing outputs',
      'writing report',
    ]);
  });

  it('progressReporter writes each phase with the seconds elapsed, only to a terminal', () => {
    const written: string[] = [];
    const clock = [1_000, 1_000, 3_549, 63_000];
    const report = progressReporter(
      { isTTY: true, write: (text) => written.push(text) },
      () => clock.shift() ?? 0,
    );
    report?.('reading inputs');
    report?.('attributing');
    report?.('done');
    expect(written).toEqual(['    0.0s  reading inputs\n', '    2.5s  attributing\n', '   62.0s  done\n']);
    expect(progressReporter({ isTTY: false, write: () => undefined })).toBeUndefined();
    expect(progressReporter({ write: () => undefined })).toBeUndefined();
  });
});
