import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import { InputError } from '../../lib/inputs/input-error.ts';
import { type LocalRunOptions, type LocalRunResult, runLocal } from '../../lib/local/run-local.ts';
import { sqlString } from '../../lib/sql/sql-template.ts';
import {
  type TestLineItem,
  tempDir,
  writeCur2,
  writeCustomersCsv,
  writeFocus,
  writeLegacyCur,
  writeTelemetryCsv,
} from '../support/fixtures.ts';

/**
 * Every billing format the local run reads gives the same numbers on the same hand-worked month
 * (docs/attribution.md 1.1, local-run.md), several sources in one run, one currency per run and
 * --format against the files' columns.
 */

const D1 = '2026-10-01';
const D2 = '2026-10-02';
/**
 * The month, by hand: acme 10 + 5 = 15 direct, beta 4 direct; the untagged 6 of D1 is shared by D1's
 * requests (acme 1, beta 1): 3 each. acme 15 + 3 = 18, beta 4 + 3 = 7, unattributed 0.
 * Total 10 + 6 + 5 + 4 = 25 = 18 + 7 + 0.
 */
const ITEMS: TestLineItem[] = [
  { date: D1, service: 'AmazonEC2', cost: 10, tenant: 'acme' },
  { date: D1, service: 'AmazonEC2', cost: 6 },
  { date: D2, service: 'AmazonS3', cost: 5, tenant: 'acme' },
  { date: D2, service: 'AmazonEC2', cost: 4, tenant: 'beta' },
];

function setup() {
  const dir = tempDir('cpc-c2-sources-');
  const telemetry = writeTelemetryCsv(join(dir, 'telemetry.csv'), [
    { date: D1, tenant: 'acme', metric: 'requests', quantity: 1 },
    { date: D1, tenant: 'beta', metric: 'requests', quantity: 1 },
  ]);
  const customers = writeCustomersCsv(join(dir, 'customers.csv'), [{ id: 'acme' }, { id: 'beta' }]);
  return { dir, telemetry, customers };
}

function run(s: ReturnType<typeof setup>, billing: string[], extra: Partial<LocalRunOptions> = {}) {
  return runLocal({
    billing,
    telemetry: [s.telemetry],
    customers: s.customers,
    outDir: join(s.dir, `out-${Math.random().toString(36).slice(2)}`),
    runId: 'c2-sources-test',
    engine: { threads: 1 },
    ...extra,
  });
}

const costOf = (result: LocalRunResult, id: string) =>
  result.summary.topCustomers.find((c) => c.customerId === id)?.totalCost ?? 0;

/** `shared`: more untagged cost of D1, split evenly by D1's requests (1 : 1). */
function expectHandWorked(result: LocalRunResult, shared = 0) {
  expect(result.summary.totalCost).toBeCloseTo(25 + shared, 9);
  expect(costOf(result, 'acme')).toBeCloseTo(18 + shared / 2, 9);
  expect(costOf(result, 'beta')).toBeCloseTo(7 + shared / 2, 9);
  expect(result.summary.unattributedCost).toBeCloseTo(0, 9);
  // Conservation: every cost is a customer's or unattributed.
  expect(costOf(result, 'acme') + costOf(result, 'beta') + result.summary.unattributedCost).toBeCloseTo(
    result.summary.totalCost,
    9,
  );
}

/** AWS's legacy CSV header of an Athena column name: line_item_usage_start_date -> lineItem/UsageStartDate. */
function legacyHeader(column: string): string {
  const tag = /^resource_tags_user_(.+)$/.exec(column);
  if (tag) return `resourceTags/user:${tag[1]}`;
  const categories = [
    'line_item',
    'savings_plan',
    'reservation',
    'pricing',
    'product',
    'bill',
    'split_line_item',
  ];
  const category = categories.find((c) => column.startsWith(`${c}_`));
  if (!category) return column;
  const camel = (words: string) =>
    words
      .split('_')
      .map((w, i) => (i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1)))
      .join('');
  const rest = column.slice(category.length + 1);
  // single letters are an acronym's capitals: a_r_n -> ARN
  const pascal = rest
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
  return `${camel(category)}/${pascal}`;
}

/** Legacy CUR as AWS's CSV delivery: lineItem/ style headers, text timestamps. */
async function writeLegacyCsv(dir: string, name: string, compression: 'none' | 'gzip' | 'zip') {
  const parquet = await writeLegacyCur(join(dir, `${name}.parquet`), ITEMS);
  const engine = await DuckDbEngine.create({ threads: 1 });
  try {
    const columns = await engine.query(`DESCRIBE SELECT * FROM read_parquet(${sqlString(parquet).sql})`);
    const select = columns
      .map((c) => {
        const n = String(c.column_name);
        const value = String(c.column_type).startsWith('TIMESTAMP')
          ? `strftime("${n}", '%Y-%m-%dT%H:%M:%SZ')`
          : `"${n}"`;
        return `${value} AS "${legacyHeader(n)}"`;
      })
      .join(', ');
    const csv = join(dir, `${name}.csv${compression === 'gzip' ? '.gz' : ''}`);
    await engine.run(
      `COPY (SELECT ${select} FROM read_parquet(${sqlString(parquet).sql})) TO ${sqlString(csv).sql}` +
        ` (FORMAT csv, HEADER${compression === 'gzip' ? ', COMPRESSION gzip' : ''})`,
    );
    if (compression === 'none') expect(readFileSync(csv, 'utf8')).toMatch(/^[^\n]*lineItem\/UsageStartDate/);
    if (compression === 'none')
      expect(readFileSync(csv, 'utf8')).toMatch(/^[^\n]*resourceTags\/user:tenant_id/);
    if (compression !== 'zip') return csv;
    const zip = `${csv}.zip`;
    execFileSync('python3', [
      '-c',
      'import sys, zipfile\nwith zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED) as z: z.write(sys.argv[1], "report-1.csv")',
      csv,
      zip,
    ]);
    return zip;
  } finally {
    engine.close();
  }
}

/** FOCUS CSV with timestamps without seconds and a UTF-8 BOM. */
async function writeFocusMinuteBom(dir: string) {
  const path = await writeFocus(join(dir, 'focus-min.csv'), ITEMS, { csv: true });
  const text = readFileSync(path, 'utf8').replace(/(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d):00(\.0+)?/g, '$1T$2Z');
  writeFileSync(path, `\uFEFF${text}`);
  expect(text).toMatch(/,2026-10-01T05:00Z,/);
  expect(text).not.toMatch(/05:00:00/);
  return path;
}

describe('every billing fixture format gives the same numbers on the same hand-worked month', () => {
  const s = setup();
  const cases: [string, () => Promise<string>][] = [
    ['CUR 2.0 Parquet', () => writeCur2(join(s.dir, 'cur2.parquet'), ITEMS)],
    ['CUR 2.0 gzip CSV', () => writeCur2(join(s.dir, 'cur2.csv.gz'), ITEMS, { csv: true })],
    [
      'CUR 2.0 with tags only',
      () => writeCur2(join(s.dir, 'cur2-tags.parquet'), ITEMS, { tagColumns: 'tags' }),
    ],
    ['legacy Parquet', () => writeLegacyCur(join(s.dir, 'legacy.parquet'), ITEMS)],
    ['legacy CSV', () => writeLegacyCsv(s.dir, 'legacy-plain', 'none')],
    ['legacy CSV gzip', () => writeLegacyCsv(s.dir, 'legacy-gz', 'gzip')],
    ['legacy CSV zip', () => writeLegacyCsv(s.dir, 'legacy-zip', 'zip')],
    ['FOCUS CSV', () => writeFocus(join(s.dir, 'focus.csv'), ITEMS, { csv: true })],
    ['FOCUS Parquet', () => writeFocus(join(s.dir, 'focus.parquet'), ITEMS)],
    ['FOCUS without seconds + BOM', () => writeFocusMinuteBom(s.dir)],
  ];
  for (const [name, write] of cases) {
    it(name, async () => {
      const file = await write();
      const result = await run(s, [file]);
      expectHandWorked(result);
      expect(result.currency).toBe('USD');
      const runJson = JSON.parse(readFileSync(join(result.outDir, 'run.json'), 'utf8'));
      expect(runJson.currency).toBe('USD');
    }, 60_000);
  }
});

describe('several billing sources in one run', () => {
  it('CUR 2.0 and a minimal FOCUS CSV of another provider add up', async () => {
    const s = setup();
    const cur = await writeCur2(join(s.dir, 'cur.parquet'), ITEMS);
    // Minimal FOCUS: 7 on D1 for a non-AWS provider, untagged -> shared 3.5 / 3.5: acme 21.5, beta 10.5, total 25 + 7 = 32.
    const focus = join(s.dir, 'other.csv');
    writeFileSync(
      focus,
      'ChargePeriodStart,BillingPeriodStart,ChargeCategory,ServiceName,BilledCost,EffectiveCost,ProviderName,BillingCurrency\n' +
        `${D1}T00:00:00Z,2026-10-01T00:00:00Z,Usage,Compute,7,7,OtherCloud,USD\n`,
    );
    const result = await run(s, [cur, focus]);
    expect(result.formats).toEqual(['cur2', 'focus']);
    expectHandWorked(result, 7);
  }, 60_000);

  it('mixed currencies are refused, naming a file and row of each', async () => {
    const s = setup();
    const usd = await writeCur2(
      join(s.dir, 'usd.parquet'),
      ITEMS.map((i) => ({ ...i, currency: 'USD' })),
    );
    const eur = await writeFocus(
      join(s.dir, 'eur.csv'),
      ITEMS.map((i) => ({ ...i, currency: 'EUR' })),
      {
        csv: true,
      },
    );
    const error = await run(s, [usd, eur]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    const message = String((error as Error).message);
    expect(message).toContain('usd.parquet');
    expect(message).toContain('eur.csv');
    expect(message).toContain('EUR');
    expect(message).toContain('USD');
    expect(message).toMatch(/row \d+/);
  }, 60_000);

  it('--format against the columns is refused, naming the file and both formats', async () => {
    const s = setup();
    const focus = await writeFocus(join(s.dir, 'focus.parquet'), ITEMS);
    const error = await run(s, [focus], { format: 'cur2' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    const message = String((error as Error).message);
    expect(message).toContain('focus.parquet');
    expect(message).toContain('focus');
    expect(message).toContain('cur2');
    expect(message).toContain('ChargeCategory');
  }, 60_000);
});

describe('the cpc CLI', () => {
  it('reads --cur given twice, of two formats, as two sources of one run', async () => {
    const s = setup();
    const cur = await writeCur2(join(s.dir, 'cur.parquet'), ITEMS);
    // 7 untagged on D1 from another provider, shared 1 : 1: acme 18 + 3.5, beta 7 + 3.5, total 32.
    const focus = join(s.dir, 'other.csv');
    writeFileSync(
      focus,
      'ChargePeriodStart,BillingPeriodStart,ChargeCategory,ServiceName,BilledCost,EffectiveCost,ProviderName\n' +
        `${D1}T00:00Z,2026-10-01T00:00Z,Usage,Compute,7,7,OtherCloud\n`,
    );
    const out = join(s.dir, 'out-cli');
    const args = ['bin/cpc.js', 'run', '--out', out, '--customers', s.customers, '--telemetry', s.telemetry];
    const result = spawnSync(process.execPath, [...args, '--cur', cur, '--cur', focus], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      timeout: 60_000,
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const runJson = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    expect(runJson.currency).toBe('USD');
    expect(runJson.sources.billing.byFormat.map((b: { format: string }) => b.format)).toEqual([
      'cur2',
      'focus',
    ]);
    expect(runJson.summary.totalCost).toBeCloseTo(32, 9);
    expect(runJson.summary.unattributedCost).toBeCloseTo(0, 9);
  }, 90_000);
});
