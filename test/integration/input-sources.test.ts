import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import { InputError } from '../../lib/inputs/input-error.ts';
import { type LocalRunOptions, runLocal } from '../../lib/local/run-local.ts';
import { sqlString } from '../../lib/sql/sql-template.ts';
import { hashTree } from '../support/file-hashes.ts';
import {
  type TestLineItem,
  type TestUsage,
  tempDir,
  writeCur2,
  writeCustomersCsv,
  writeLegacyCur,
  writeTelemetryCsv,
} from '../support/fixtures.ts';
import { readCsv } from '../support/run-scenario.ts';

/**
 * Which local billing files a run counts (manifests, non-billing files beside the data), the messages
 * for values the engine cannot add or read, and the warnings of docs/attribution.md section 6 about
 * tenants: each case found by trying the product, with its exit code, message and the previous --out
 * byte for byte as it was.
 */

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const D1 = '2026-10-01';
const D2 = '2026-10-02';
const EXPORT = 'my-export';
const BUCKET = 'billing-bucket';
const PERIOD_DIR = 'data/BILLING_PERIOD=2026-10';

/** The delivery the manifest lists: 20 in all. */
const NEW_ITEMS: TestLineItem[] = [
  { date: D1, service: 'AmazonEC2', cost: 10, tenant: 'acme' },
  { date: D1, service: 'AmazonEC2', cost: 6 },
  { date: D2, service: 'AmazonEC2', cost: 4, tenant: 'beta' },
];
/** An older delivery of the same period, left in the folder: 17 in all. */
const OLD_ITEMS: TestLineItem[] = [
  { date: D1, service: 'AmazonEC2', cost: 9, tenant: 'acme' },
  { date: D1, service: 'AmazonEC2', cost: 5 },
  { date: D2, service: 'AmazonEC2', cost: 3, tenant: 'beta' },
];
const USAGE: TestUsage[] = [
  { date: D1, tenant: 'acme', metric: 'requests', quantity: 1 },
  { date: D1, tenant: 'beta', metric: 'requests', quantity: 2 },
];

interface Setup {
  readonly dir: string;
  readonly telemetry: string;
  readonly customers: string;
  readonly outDir: string;
  /** Hashes of the previous result in outDir. */
  readonly hash: () => Record<string, string>;
}

/** Telemetry, customers and a first good run in `out`, which a refused run must keep. */
async function withGoodRun(): Promise<Setup> {
  const dir = tempDir('cpc-input-sources-');
  const telemetry = writeTelemetryCsv(join(dir, 'telemetry.csv'), USAGE);
  const customers = writeCustomersCsv(join(dir, 'customers.csv'), [{ id: 'acme' }, { id: 'beta' }]);
  const outDir = join(dir, 'out');
  const first = await writeCur2(join(dir, 'first.parquet'), NEW_ITEMS);
  await runLocal({
    billing: [first],
    telemetry: [telemetry],
    customers,
    outDir,
    runId: 'good-run',
    engine: { threads: 1 },
  });
  return { dir, telemetry, customers, outDir, hash: () => hashTree(outDir) };
}

function run(setup: Setup, billing: readonly string[], extra: Partial<LocalRunOptions> = {}) {
  return runLocal({
    billing,
    telemetry: [setup.telemetry],
    customers: setup.customers,
    outDir: setup.outDir,
    runId: 'input-sources-test',
    engine: { threads: 1 },
    ...extra,
  });
}

function cli(setup: Setup, billing: readonly string[], extra: readonly string[] = []) {
  const args = ['bin/cpc.js', 'run', '--out', setup.outDir, '--customers', setup.customers];
  for (const file of billing) args.push('--cur', file);
  args.push('--telemetry', setup.telemetry);
  const result = spawnSync(process.execPath, [...args, ...extra], {
    cwd: REPO_ROOT,
    timeout: 60_000,
    encoding: 'utf8',
  });
  expect(result.error).toBeUndefined();
  return result;
}

async function refusal(promise: Promise<unknown>): Promise<InputError> {
  const outcome = await promise.then(
    () => 'the run succeeded',
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(InputError);
  return outcome as InputError;
}

function writeJsonFile(path: string, value: unknown): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(value));
  return path;
}

/** A CUR 2.0 manifest as AWS Data Exports writes it (the fields the run reads, and a few it ignores). */
function cur2Manifest(executionId: string, dataFiles: readonly string[]) {
  return {
    version: '1.0',
    exportArn: `arn:aws:bcm-data-exports:us-east-1:111122223333:export/${EXPORT}-0a1b2c`,
    executionId,
    billingPeriod: { start: '2026-10-01T00:00:00.000Z', end: '2026-11-01T00:00:00.000Z' },
    dataFiles: dataFiles.map((key) => `s3://${BUCKET}/cur/${EXPORT}/${key}`),
  };
}

async function writeCur2At(root: string, relative: string, items: readonly TestLineItem[]): Promise<string> {
  const path = join(root, relative);
  mkdirSync(dirname(path), { recursive: true });
  return writeCur2(path, items);
}

describe('CUR 2.0 manifests decide which files count', () => {
  it('reads only the files the manifest lists, and warns naming the older delivery it skipped', async () => {
    const setup = await withGoodRun();
    const root = join(setup.dir, EXPORT);
    const oldFile = await writeCur2At(root, `${PERIOD_DIR}/exec-1/${EXPORT}-00001.snappy.parquet`, OLD_ITEMS);
    await writeCur2At(root, `${PERIOD_DIR}/exec-2/${EXPORT}-00001.snappy.parquet`, NEW_ITEMS);
    const manifest = writeJsonFile(
      join(root, 'metadata/BILLING_PERIOD=2026-10', `${EXPORT}-Manifest.json`),
      cur2Manifest('exec-2', [`${PERIOD_DIR}/exec-2/${EXPORT}-00001.snappy.parquet`]),
    );
    const result = await run(setup, [root]);
    // 20, not 20 + 17: the older delivery of the same period is not counted.
    expect(result.summary.totalCost).toBeCloseTo(20, 9);
    const warning =
      `1 billing file not listed by the newest manifest of its billing period was skipped (an older or` +
      ` partial delivery): ${oldFile} (manifest ${manifest}, 2026-10)`;
    expect(result.warnings).toEqual([warning]);
    const runJson = JSON.parse(readFileSync(join(setup.outDir, 'run.json'), 'utf8'));
    expect(runJson.warnings).toEqual([warning]);
    expect(runJson.sources.billing.manifests).toEqual([manifest]);
    expect(runJson.sources.billing.read).toEqual([
      join(root, `${PERIOD_DIR}/exec-2/${EXPORT}-00001.snappy.parquet`),
    ]);
    expect(runJson.sources.billing.skipped).toEqual([
      { file: oldFile, reason: `not listed by the newest manifest ${manifest}` },
    ]);

    const cliRun = cli(setup, [root], ['--json']);
    expect(cliRun.status).toBe(0);
    expect(cliRun.stderr).toBe(`cpc: warning: ${warning}\n`);
    expect(JSON.parse(cliRun.stdout).warnings).toEqual([warning]);
  });

  it('takes the newest of two per-delivery manifests (by modification time)', async () => {
    const setup = await withGoodRun();
    const root = join(setup.dir, EXPORT);
    await writeCur2At(root, `${PERIOD_DIR}/exec-1/part-1.parquet`, OLD_ITEMS);
    await writeCur2At(root, `${PERIOD_DIR}/exec-2/part-1.parquet`, NEW_ITEMS);
    const older = writeJsonFile(
      join(root, 'metadata/BILLING_PERIOD=2026-10/exec-1', `${EXPORT}-Manifest.json`),
      cur2Manifest('f3c9-older', [`${PERIOD_DIR}/exec-1/part-1.parquet`]),
    );
    // The older delivery's id sorts after the newer one's (ids are not in delivery order): time decides.
    const newer = writeJsonFile(
      join(root, 'metadata/BILLING_PERIOD=2026-10/exec-2', `${EXPORT}-Manifest.json`),
      cur2Manifest('0a17-newer', [`${PERIOD_DIR}/exec-2/part-1.parquet`]),
    );
    utimesSync(older, new Date('2026-10-03T00:00:00Z'), new Date('2026-10-03T00:00:00Z'));
    utimesSync(newer, new Date('2026-10-04T00:00:00Z'), new Date('2026-10-04T00:00:00Z'));
    const result = await run(setup, [root]);
    expect(result.summary.totalCost).toBeCloseTo(20, 9);
    const runJson = JSON.parse(readFileSync(join(setup.outDir, 'run.json'), 'utf8'));
    expect(runJson.sources.billing.manifests).toEqual([newer]);
    expect(runJson.sources.billing.skipped).toEqual([
      {
        file: join(root, `${PERIOD_DIR}/exec-1/part-1.parquet`),
        reason: `not listed by the newest manifest ${newer}`,
      },
      { file: older, reason: `an older manifest of the period than ${newer}` },
    ]);
  });

  it('finds each listed file in its own export when two exports name their files alike', async () => {
    const setup = await withGoodRun();
    for (const [name, items] of [
      ['export-a', NEW_ITEMS],
      ['export-b', [{ date: D2, service: 'AmazonEC2', cost: 5, tenant: 'acme' }]],
    ] as const) {
      const root = join(setup.dir, 'exports', name);
      await writeCur2At(root, `${PERIOD_DIR}/part-1.parquet`, items);
      writeJsonFile(join(root, 'metadata/BILLING_PERIOD=2026-10', `${name}-Manifest.json`), {
        executionId: `${name}-exec`,
        billingPeriod: { start: '2026-10-01T00:00:00.000Z' },
        dataFiles: [`s3://${BUCKET}/cur/${name}/${PERIOD_DIR}/part-1.parquet`],
      });
    }
    const result = await run(setup, [join(setup.dir, 'exports')]);
    expect(result.summary.totalCost).toBeCloseTo(25, 9);
    expect(result.warnings).toEqual([]);
  });

  it('refuses a manifest that lists a file the folder does not hold, naming both, exit 1', async () => {
    const setup = await withGoodRun();
    const root = join(setup.dir, EXPORT);
    await writeCur2At(root, `${PERIOD_DIR}/${EXPORT}-00001.snappy.parquet`, NEW_ITEMS);
    const manifest = writeJsonFile(
      join(root, 'metadata/BILLING_PERIOD=2026-10', `${EXPORT}-Manifest.json`),
      cur2Manifest('exec-2', [
        `${PERIOD_DIR}/${EXPORT}-00001.snappy.parquet`,
        `${PERIOD_DIR}/${EXPORT}-00002.snappy.parquet`,
      ]),
    );
    const before = setup.hash();
    const error = await refusal(run(setup, [root]));
    const expected =
      `${manifest}: lists s3://${BUCKET}/cur/${EXPORT}/${PERIOD_DIR}/${EXPORT}-00002.snappy.parquet, which is not` +
      ` among the billing files (no file ending in ${PERIOD_DIR}/${EXPORT}-00002.snappy.parquet):` +
      ' copy the whole delivery, or give the folder that holds it';
    expect(error.message).toBe(expected);
    expect(error.location.file).toBe(manifest);
    expect(setup.hash()).toEqual(before);
    const result = cli(setup, [root]);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(`cpc: ${expected}`);
    expect(setup.hash()).toEqual(before);
  });

  it('skips non-billing files AWS delivers beside the data, with a warning', async () => {
    const setup = await withGoodRun();
    const root = join(setup.dir, EXPORT);
    const data = await writeCur2At(root, `${PERIOD_DIR}/part-1.parquet`, NEW_ITEMS);
    // The Athena integration's status table and crawler template.
    const status = join(root, 'cost_and_usage_data_status/cost_and_usage_data_status.parquet');
    mkdirSync(dirname(status), { recursive: true });
    const engine = await DuckDbEngine.create({ threads: 1 });
    await engine.run(`COPY (SELECT 'READY' AS status) TO ${sqlString(status).sql} (FORMAT parquet)`);
    engine.close();
    const crawler = join(root, 'crawler-cfn.yml');
    writeFileSync(crawler, 'AWSTemplateFormatVersion: 2010-09-09\n');
    const result = await run(setup, [root]);
    expect(result.summary.totalCost).toBeCloseTo(20, 9);
    expect(result.warnings).toEqual([
      `2 files that are not billing data were skipped: ${status}, ${crawler}`,
    ]);
    const runJson = JSON.parse(readFileSync(join(setup.outDir, 'run.json'), 'utf8'));
    expect(runJson.sources.billing.read).toEqual([data]);
    expect(runJson.sources.billing.skipped).toEqual([
      { file: status, reason: 'not billing data (CUR data status table)' },
      { file: crawler, reason: 'not billing data (CloudFormation or crawler template)' },
    ]);
  });

  it('gives no warning and no skipped file for an export folder read whole', async () => {
    const setup = await withGoodRun();
    const root = join(setup.dir, EXPORT);
    await writeCur2At(root, `${PERIOD_DIR}/part-1.parquet`, NEW_ITEMS);
    const manifest = writeJsonFile(
      join(root, 'metadata/BILLING_PERIOD=2026-10', `${EXPORT}-Manifest.json`),
      cur2Manifest('exec-1', [`${PERIOD_DIR}/part-1.parquet`]),
    );
    const result = await run(setup, [root]);
    expect(result.warnings).toEqual([]);
    const runJson = JSON.parse(readFileSync(join(setup.outDir, 'run.json'), 'utf8'));
    expect(runJson.sources.billing).toEqual({
      read: [join(root, `${PERIOD_DIR}/part-1.parquet`)],
      byFormat: [
        { format: 'cur2', table: 'billing_source', files: [join(root, `${PERIOD_DIR}/part-1.parquet`)] },
      ],
      manifests: [manifest],
      skipped: [],
    });
    expect(runJson.sources.telemetry).toEqual([setup.telemetry]);
    expect(runJson.sources.customers).toBe(setup.customers);
  });
});

describe('a legacy CUR .csv.zip delivery', () => {
  it('refuses a .csv.zip billing file that is not a zip rather than leaving its cost out, exit 1', async () => {
    const setup = await withGoodRun();
    const root = join(setup.dir, 'my-report');
    await writeCur2At(root, 'part-1.parquet', NEW_ITEMS);
    const zip = join(root, 'my-report-00002.csv.zip');
    writeFileSync(zip, 'PK\u0003\u0004 not really a zip');
    const before = setup.hash();
    const expected = `${zip}: is not a valid zip file (no end of central directory)`;
    const error = await refusal(run(setup, [root]));
    expect(error.message).toBe(expected);
    expect(setup.hash()).toEqual(before);
    const result = cli(setup, [root]);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(`cpc: ${expected}`);
  });
});

describe('legacy CUR manifests', () => {
  it('reads the assembly the report-period manifest lists, not an older assembly beside it', async () => {
    const setup = await withGoodRun();
    const report = 'my-report';
    const root = join(setup.dir, report);
    const range = '20261001-20261101';
    for (const [assembly, items] of [
      ['asm-1', OLD_ITEMS],
      ['asm-2', NEW_ITEMS],
    ] as const) {
      mkdirSync(join(root, range, assembly), { recursive: true });
      await writeLegacyCur(join(root, range, assembly, `${report}-00001.snappy.parquet`), items);
      // Each assembly folder keeps its own copy of its manifest.
      writeJsonFile(join(root, range, assembly, `${report}-Manifest.json`), {
        assemblyId: assembly,
        bucket: BUCKET,
        billingPeriod: { start: '20261001T000000.000Z', end: '20261101T000000.000Z' },
        reportKeys: [`cur/${report}/${range}/${assembly}/${report}-00001.snappy.parquet`],
      });
    }
    const current = writeJsonFile(join(root, range, `${report}-Manifest.json`), {
      assemblyId: 'asm-2',
      bucket: BUCKET,
      billingPeriod: { start: '20261001T000000.000Z', end: '20261101T000000.000Z' },
      reportKeys: [`cur/${report}/${range}/asm-2/${report}-00001.snappy.parquet`],
    });
    const result = await run(setup, [root]);
    expect(result.format).toBe('legacy');
    expect(result.summary.totalCost).toBeCloseTo(20, 9);
    const runJson = JSON.parse(readFileSync(join(setup.outDir, 'run.json'), 'utf8'));
    expect(runJson.sources.billing.manifests).toEqual([current]);
    expect(runJson.sources.billing.read).toEqual([
      join(root, range, 'asm-2', `${report}-00001.snappy.parquet`),
    ]);
    expect(result.warnings).toEqual([
      '1 billing file not listed by the newest manifest of its billing period was skipped (an older or' +
        ` partial delivery): ${join(root, range, 'asm-1', `${report}-00001.snappy.parquet`)} (manifest ${current}, 2026-10)`,
    ]);
  });
});

describe('values the engine cannot add or read', () => {
  it('names file, column and rows of two finite costs whose sum overflows, exit 1', async () => {
    const setup = await withGoodRun();
    const huge = await writeCur2(join(setup.dir, 'cur-huge.parquet'), [
      { date: D1, service: 'AmazonEC2', cost: 1e308, tenant: 'acme' },
      { date: D1, service: 'AmazonEC2', cost: 1.5e308, tenant: 'acme' },
      { date: D2, service: 'AmazonEC2', cost: 4, tenant: 'beta' },
    ]);
    const before = setup.hash();
    const error = await refusal(run(setup, [huge]));
    const expected =
      `${huge}, column "line_item_unblended_cost": rows 1 and 2 hold 1e+308 and 1.5e+308, which add up to more` +
      ' than the largest number a cost can be (about 1.8e+308): these are not real costs, check how the file was written';
    expect(error.message).toBe(expected);
    expect(error.location).toEqual({ file: huge, column: 'line_item_unblended_cost' });
    expect(setup.hash()).toEqual(before);
    const result = cli(setup, [huge]);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(`cpc: ${expected}`);
    expect(setup.hash()).toEqual(before);
  });

  it('names the rows of a gzip CSV the same way', async () => {
    const setup = await withGoodRun();
    const huge = await writeCur2(
      join(setup.dir, 'cur-huge.csv.gz'),
      [
        { date: D2, service: 'AmazonEC2', cost: 4, tenant: 'beta' },
        { date: D1, service: 'AmazonEC2', cost: 1.5e308, tenant: 'acme' },
        { date: D1, service: 'AmazonEC2', cost: 1e308, tenant: 'acme' },
      ],
      { csv: true },
    );
    const error = await refusal(run(setup, [huge]));
    expect(error.message).toBe(
      `${huge}, column "line_item_unblended_cost": rows 2 and 3 hold 1.5e+308 and 1e+308, which add up to more` +
        ' than the largest number a cost can be (about 1.8e+308): these are not real costs, check how the file was written',
    );
  });

  it('names both files when the two costs are in different files', async () => {
    const setup = await withGoodRun();
    const a = await writeCur2(join(setup.dir, 'cur-a.parquet'), [
      { date: D1, service: 'AmazonEC2', cost: 3, tenant: 'beta' },
      { date: D1, service: 'AmazonEC2', cost: 1e308, tenant: 'acme' },
    ]);
    const b = await writeCur2(join(setup.dir, 'cur-b.parquet'), [
      { date: D1, service: 'AmazonEC2', cost: 1e308, tenant: 'acme' },
    ]);
    const error = await refusal(run(setup, [a, b]));
    expect(error.message).toBe(
      `${a}, column "line_item_unblended_cost": row 2 holds 1e+308 and row 1 of ${b} holds 1e+308, which add up` +
        ' to more than the largest number a cost can be (about 1.8e+308): these are not real costs, check how the file was written',
    );
  });

  it('names file and column of a Parquet timestamp stored as an integer, and what to do, exit 1', async () => {
    const setup = await withGoodRun();
    const good = await writeCur2(join(setup.dir, 'cur-good.parquet'), NEW_ITEMS);
    const epoch = join(setup.dir, 'cur-epoch.parquet');
    const engine = await DuckDbEngine.create({ threads: 1 });
    await engine.run(
      `COPY (SELECT * REPLACE (CAST(epoch_ms(line_item_usage_start_date) AS BIGINT) AS line_item_usage_start_date)` +
        ` FROM read_parquet(${sqlString(good).sql})) TO ${sqlString(epoch).sql} (FORMAT parquet)`,
    );
    engine.close();
    const before = setup.hash();
    const error = await refusal(run(setup, [epoch]));
    const expected =
      `${epoch}, column "line_item_usage_start_date": is stored as an integer (BIGINT), not a timestamp:` +
      ' write it as a Parquet TIMESTAMP, or as text such as 2026-10-01T05:00:00Z';
    expect(error.message).toBe(expected);
    expect(setup.hash()).toEqual(before);
    const result = cli(setup, [epoch]);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(`cpc: ${expected}`);
    expect(setup.hash()).toEqual(before);
  });
});

describe('warnings about tenants no customer has', () => {
  it('warns when more than 20% of the tagged cost has an unknown tenant, with the closest known id', async () => {
    const setup = await withGoodRun();
    // Tagged 10: acme 6 known; "ACME" 3 and "gamma" 1 unknown = 40%.
    const cur = await writeCur2(join(setup.dir, 'cur-unknown.parquet'), [
      { date: D1, service: 'AmazonEC2', cost: 6, tenant: 'acme' },
      { date: D1, service: 'AmazonEC2', cost: 3, tenant: 'ACME' },
      { date: D2, service: 'AmazonEC2', cost: 1, tenant: 'gamma' },
      { date: D2, service: 'AmazonEC2', cost: 5 },
    ]);
    const expected =
      '40.0% of the tagged cost ($4.00 of $10.00) has a tenant no customer has, so it stays unattributed' +
      ' (unknown_tenant); costliest: "ACME" $3.00 (customer tenant "acme" differs only by case or spaces),' +
      ' "gamma" $1.00';
    const result = await run(setup, [cur]);
    expect(result.warnings).toEqual([expected]);
    const runJson = JSON.parse(readFileSync(join(setup.outDir, 'run.json'), 'utf8'));
    expect(runJson.warnings).toEqual([expected]);
    const cliRun = cli(setup, [cur], ['--json']);
    expect(cliRun.status).toBe(0);
    expect(cliRun.stderr).toBe(`cpc: warning: ${expected}\n`);
    expect(JSON.parse(cliRun.stdout).warnings).toEqual([expected]);
  });

  it('does not warn at 20% or less', async () => {
    const setup = await withGoodRun();
    // Tagged 10: gamma 2 unknown = exactly 20%.
    const cur = await writeCur2(join(setup.dir, 'cur-20.parquet'), [
      { date: D1, service: 'AmazonEC2', cost: 8, tenant: 'acme' },
      { date: D1, service: 'AmazonEC2', cost: 2, tenant: 'gamma' },
    ]);
    expect((await run(setup, [cur])).warnings).toEqual([]);
  });

  it('warns when telemetry tenants no customer has hold more than 5% of a metric', async () => {
    const setup = await withGoodRun();
    const telemetry = writeTelemetryCsv(join(setup.dir, 'usage-unknown.csv'), [
      { date: D1, tenant: 'acme', metric: 'requests', quantity: 90 },
      { date: D1, tenant: 'ghost', metric: 'requests', quantity: 6 },
      { date: D2, tenant: 'phantom', metric: 'requests', quantity: 4 },
      // 5 of 100 is not more than 5%: no warning for this metric.
      { date: D1, tenant: 'acme', metric: 'storage_bytes', quantity: 95 },
      { date: D1, tenant: 'ghost', metric: 'storage_bytes', quantity: 5 },
    ]);
    const cur = await writeCur2(join(setup.dir, 'cur.parquet'), NEW_ITEMS);
    const expected =
      'metric "requests": 10.0% of its quantity from 2026-10-01 to 2026-10-02 (10 of 100) is of tenants no' +
      ' customer has, so their share of the cost it drives stays unattributed (unknown_tenant): "ghost" 6,' +
      ' "phantom" 4';
    const result = await run(setup, [cur], { telemetry: [telemetry] });
    expect(result.warnings).toEqual([expected]);
  });
});

describe('--format contradicting the columns', () => {
  it('refuses --format legacy on a CUR 2.0 file, naming both formats and the columns, exit 1', async () => {
    const setup = await withGoodRun();
    const cur = await writeCur2(join(setup.dir, 'cur2.parquet'), NEW_ITEMS);
    const before = setup.hash();
    const error = await refusal(run(setup, [cur], { format: 'legacy' }));
    const expected =
      `${cur}: is cur2 by its columns (line_item_line_item_type with resource_tags or tags), not legacy as --format says:` +
      ' leave --format out, or give it the format of the files';
    expect(error.message).toBe(expected);
    expect(setup.hash()).toEqual(before);
    const result = cli(setup, [cur], ['--format', 'legacy']);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(`cpc: ${expected}`);
    expect(setup.hash()).toEqual(before);
  });

  it('accepts --format that agrees with the columns', async () => {
    const setup = await withGoodRun();
    const cur = await writeCur2(join(setup.dir, 'cur2.parquet'), NEW_ITEMS);
    expect((await run(setup, [cur], { format: 'cur2' })).summary.totalCost).toBeCloseTo(20, 9);
  });
});

describe('rules of a rules file that match nothing', () => {
  it('warns of each rule of --rules that no line item reached, on stderr, run.json and --json', async () => {
    const setup = await withGoodRun();
    const rules = writeJsonFile(join(setup.dir, 'rules.json'), {
      version: 'unmatched-test',
      rules: [
        { id: 'no-tax', match: { lineItemTypes: ['Tax'] }, action: 'exclude' },
        { id: 'compute', match: { services: ['AmazonEC2'] }, driver: 'requests' },
        // Typo of AmazonEC2, and a rule after a catch-all: neither can get any cost.
        { id: 'typo', match: { services: ['AmazonEc2'] }, driver: 'requests' },
        { id: 'all', match: {}, driver: 'requests' },
        { id: 'after-all', match: { services: ['AmazonS3'] }, driver: 'requests' },
      ],
    });
    // The untagged S3 cost reaches the catch-all "all".
    const cur = await writeCur2(join(setup.dir, 'cur.parquet'), [
      ...NEW_ITEMS,
      { date: D2, service: 'AmazonS3', cost: 2 },
    ]);
    const expected =
      '3 rules of the rules file matched no line item: "no-tax" (exclude), "typo", "after-all"' +
      ' (a rule with a driver is tried on untagged cost only, after the rules before it): check their match';
    const result = await run(setup, [cur], { rulesFile: rules });
    expect(result.warnings).toEqual([expected]);
    const cliRun = cli(setup, [cur], ['--rules', rules, '--json']);
    expect(cliRun.status).toBe(0);
    expect(cliRun.stderr).toBe(`cpc: warning: ${expected}\n`);
    expect(JSON.parse(cliRun.stdout).warnings).toEqual([expected]);
    expect(JSON.parse(readFileSync(join(setup.outDir, 'run.json'), 'utf8')).warnings).toEqual([expected]);
  });

  it('does not warn of the shipped default rules a bill does not use', async () => {
    const setup = await withGoodRun();
    const cur = await writeCur2(join(setup.dir, 'cur.parquet'), NEW_ITEMS);
    expect((await run(setup, [cur])).warnings).toEqual([]);
  });
});

describe('telemetry written with a UTF-8 byte order mark (as Excel and PowerShell save it)', () => {
  // EC2 without a tenant tag is shared by requests (default rules): acme 3, beta 1 of 4 requests,
  // so acme takes 8 x 3/4 = 6 and beta 8 x 1/4 = 2. Read as a column named "\uFEFFusage_date" the
  // file would have no usage_date column and the run would refuse it.
  const BOM = '\uFEFF';
  const csv = `${BOM}usage_date,tenant_id,metric,quantity\n${D1},acme,requests,3\n${D1},beta,requests,1\n`;
  const ndjson =
    `${BOM}{"usage_date":"${D1}","tenant_id":"acme","metric":"requests","quantity":3}\n` +
    `{"usage_date":"${D1}","tenant_id":"beta","metric":"requests","quantity":1}\n`;

  for (const [name, text] of [
    ['usage.csv', csv],
    ['usage.ndjson', ndjson],
  ] as const) {
    it(`shares by the quantities of ${name}, its first column read by name`, async () => {
      const setup = await withGoodRun();
      const telemetry = join(setup.dir, name);
      writeFileSync(telemetry, text);
      const cur = await writeCur2(join(setup.dir, 'cur-bom.parquet'), [
        { date: D1, service: 'AmazonEC2', cost: 8 },
      ]);
      await run(setup, [cur], { telemetry: [telemetry] });
      const rows = readCsv(join(setup.outDir, 'customer_daily_cost.csv')).map((row) => [
        row.customer_id,
        row.shared_cost,
      ]);
      expect(rows).toEqual([
        ['acme', '6'],
        ['beta', '2'],
      ]);
    });
  }
});
