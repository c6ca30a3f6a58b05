/**
 * `npm run bench`: the attribution benchmark of a generated month (default 10 million CUR line items,
 * 5,000 customers, 4 metrics). Each measured phase runs in its own child process so that its peak
 * memory is its own. Sizes can be lowered for a quick look: BENCH_LINE_ITEMS, BENCH_CUSTOMERS.
 */

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BILLING_FORMATS } from '../lib/attribution/billing-formats.ts';
import { defaultRules } from '../lib/attribution/rules.ts';
import { billingSources, placeholderValues } from '../lib/attribution/stages.ts';
import { bundleHandler, PIPELINE_HANDLERS } from '../lib/constructs/bundling.ts';
import { DuckDbEngine } from '../lib/engine/duckdb-engine.ts';
import { generateSyntheticMonth } from '../lib/generator/synthetic-month.ts';
import { defineBillingSource } from '../lib/local/local-sources.ts';
import { runLocal } from '../lib/local/run-local.ts';
import { SAMPLE_PIPELINE_ENVIRONMENT } from '../test/support/pipeline-environment.ts';

const LINE_ITEMS = Number(process.env.BENCH_LINE_ITEMS ?? 10_000_000);
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 5_000);
const METRICS = ['requests', 'storage_bytes', 'compute_seconds', 'active_users'];
const SEED = 42;
const MONTH = '2026-10';
const DATA_DIR = resolve('.bench-data', `${MONTH}-${LINE_ITEMS}-${CUSTOMERS}-${SEED}`);

interface PhaseReport {
  readonly ms: number;
  readonly peakRssMb: number;
  readonly detail?: Record<string, unknown>;
}

const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

const inputs = () => ({
  billing: [join(DATA_DIR, 'cur')],
  telemetry: [join(DATA_DIR, 'telemetry')],
  customers: join(DATA_DIR, 'customers.csv'),
});

/** Child phases; each prints one JSON report on its last line. */
const phases: Record<string, () => Promise<PhaseReport>> = {
  async generate() {
    const started = performance.now();
    rmSync(DATA_DIR, { recursive: true, force: true });
    await generateSyntheticMonth({
      outDir: DATA_DIR,
      month: MONTH,
      seed: SEED,
      lineItems: LINE_ITEMS,
      customers: CUSTOMERS,
      metrics: METRICS,
    });
    writeFileSync(join(DATA_DIR, 'complete'), '');
    return { ms: performance.now() - started, peakRssMb: peakRssMb() };
  },

  /** The full local run: validate inputs, attribute, check conservation, write every output file. */
  async attribute() {
    const started = performance.now();
    const out = join(DATA_DIR, 'out');
    const result = await runLocal({ ...inputs(), outDir: out, runId: 'bench' });
    return {
      ms: performance.now() - started,
      peakRssMb: peakRssMb(),
      detail: { timings: result.timings, rowCounts: result.rowCounts, totalCost: result.summary.totalCost },
    };
  },

  /**
   * DuckDB just scanning: `SELECT usage_date, sum(cost) ... GROUP BY usage_date` over the canonical line
   * items, once reading only what the cost needs ("narrow") and once also reading every other column the
   * attribution reads (tags, service, usage type, line item type, account, billing period): the same columns.
   */
  async scan() {
    const engine = await DuckDbEngine.create();
    try {
      const rules = defaultRules();
      await defineBillingSource(engine, inputs().billing, 'cur2', rules.tenantTagKey);
      const lineItems = placeholderValues(engine.tableRef, {
        runId: 'scan',
        rules,
        sources: billingSources(BILLING_FORMATS.cur2),
      }).line_items?.sql;
      const time = async (select: string) => {
        const started = performance.now();
        await engine.query(select);
        return performance.now() - started;
      };
      const narrowMs = await time(
        `SELECT usage_date, sum(cost) AS cost FROM ${lineItems} AS li GROUP BY usage_date`,
      );
      const sameColumnsMs = await time(
        `SELECT usage_date, sum(cost) AS cost, count(tenant), count(service), count(usage_type),
           count(line_item_type), count(account_id), count(billing_period_start)
         FROM ${lineItems} AS li GROUP BY usage_date`,
      );
      return { ms: sameColumnsMs, peakRssMb: peakRssMb(), detail: { narrowMs } };
    } finally {
      engine.close();
    }
  },
};

/**
 * What Athena would scan for this billing period: the compressed sizes of the Parquet column chunks the
 * attribution reads (Athena bills bytes scanned; partition projection limits it to the period's files).
 * `pruned` counts the columns the default rules and the amortized basis need after the engine drops
 * unused ones (rules match only service and line item type; no *_net_* column; the resource id feeds no
 * output); `upperBound` counts every column the CUR 2.0 normalization maps.
 */
async function athenaScanEstimate(): Promise<{ prunedMb: number; upperBoundMb: number; fileMb: number }> {
  const engine = await DuckDbEngine.create();
  try {
    const pruned = new Set([
      'line_item_usage_start_date',
      'bill_billing_period_start_date',
      'line_item_line_item_type',
      'line_item_product_code',
      'line_item_unblended_cost',
      'resource_tags',
      'savings_plan_savings_plan_effective_cost',
      'savings_plan_total_commitment_to_date',
      'savings_plan_used_commitment',
      'reservation_reservation_a_r_n',
      'reservation_effective_cost',
      'reservation_unused_amortized_upfront_fee_for_billing_period',
      'reservation_unused_recurring_fee',
    ]);
    const all = new Set(BILLING_FORMATS.cur2.columns('tenant_id').map((c) => c.name));
    const glob = join(DATA_DIR, 'cur', '**', '*.parquet').replaceAll("'", "''");
    const chunks = await engine.query(
      `SELECT split_part(path_in_schema, ',', 1) AS column_name, sum(total_compressed_size) AS bytes
       FROM parquet_metadata('${glob}') GROUP BY 1`,
    );
    const mb = (names: Set<string>) =>
      chunks.filter((c) => names.has(String(c.column_name))).reduce((sum, c) => sum + Number(c.bytes), 0) /
      1e6;
    const everything = chunks.reduce((sum, c) => sum + Number(c.bytes), 0) / 1e6;
    return { prunedMb: mb(pruned), upperBoundMb: mb(all), fileMb: everything };
  } finally {
    engine.close();
  }
}

function runPhase(name: string): PhaseReport {
  const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), name], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 * 1024 * 1024,
  });
  if (child.status !== 0) throw new Error(`bench phase ${name} failed with status ${child.status}`);
  const lastLine = child.stdout.trim().split('\n').pop() ?? '{}';
  return JSON.parse(lastLine) as PhaseReport;
}

function dirSizeMb(dir: string): number {
  const walk = (d: string): number =>
    readdirSync(d, { withFileTypes: true }).reduce(
      (sum, e) => sum + (e.isDirectory() ? walk(join(d, e.name)) : statSync(join(d, e.name)).size),
      0,
    );
  return Math.round(walk(dir) / 1024 / 1024);
}

const seconds = (ms: number) => (ms / 1000).toFixed(2);

const INIT_SAMPLES = 7;

/**
 * Each pipeline Lambda as it deploys (minified ESM, the SDK left to the runtime as NodejsFunction does
 * on Node.js 22): its bundle size, and its module initialisation time, the median of fresh `node`
 * processes importing the bundle (configuration validated, clients created; the SDK resolves from this
 * project's node_modules, as the runtime's own copy would). Lambda's INIT on arm64 adds its own start-up.
 */
async function lambdaFigures(): Promise<void> {
  const root = resolve('.bench-data', 'lambdas');
  rmSync(root, { recursive: true, force: true });
  console.log('Lambda bundles (minified ESM, SDK external) and module initialisation (median of 7):');
  for (const handler of PIPELINE_HANDLERS) {
    const file = await bundleHandler(handler, join(root, handler), { externalSdk: true });
    const samples: number[] = [];
    for (let i = 0; i < INIT_SAMPLES; i++) {
      const script =
        'const started = performance.now();' +
        `await import(${JSON.stringify(file)});` +
        'console.log(performance.now() - started);';
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        env: { ...process.env, ...SAMPLE_PIPELINE_ENVIRONMENT },
        encoding: 'utf8',
      });
      if (child.status !== 0) throw new Error(`${handler} failed to load: ${child.stderr}`);
      samples.push(Number(child.stdout.trim()));
    }
    samples.sort((a, b) => a - b);
    const median = samples[Math.floor(samples.length / 2)] ?? Number.NaN;
    const kb = (statSync(file).size / 1024).toFixed(1);
    console.log(`  ${handler.padEnd(20)} ${kb.padStart(7)} KB   init ${median.toFixed(0).padStart(4)} ms`);
  }
}

async function main(): Promise<void> {
  const child = process.argv[2];
  if (child !== undefined) {
    const phase = phases[child];
    if (!phase) throw new Error(`unknown phase ${child}`);
    process.stdout.write(`${JSON.stringify(await phase())}\n`);
    return;
  }
  if (process.env.BENCH_ONLY === 'lambdas') {
    await lambdaFigures();
    return;
  }
  console.log(
    `Attribution benchmark: ${LINE_ITEMS.toLocaleString('en-US')} line items, ${CUSTOMERS} customers, ${METRICS.length} metrics`,
  );
  if (!existsSync(join(DATA_DIR, 'complete'))) {
    const generated = runPhase('generate');
    console.log(`generated input in ${seconds(generated.ms)} s (peak RSS ${generated.peakRssMb} MB)`);
  } else {
    console.log(`reusing generated input in ${DATA_DIR}`);
  }
  console.log(`CUR 2.0 Parquet: ${dirSizeMb(join(DATA_DIR, 'cur'))} MB`);
  // Scans first, so every measured phase reads files the OS has already cached. Best of three on both
  // sides: a shared 2-core machine varies by a quarter from one run to the next.
  const scans = [runPhase('scan'), runPhase('scan'), runPhase('scan')];
  const scan = scans.reduce((best, s) => (s.ms < best.ms ? s : best));
  const narrowMs = Math.min(...scans.map((s) => Number(s.detail?.narrowMs)));
  const attribute = [runPhase('attribute'), runPhase('attribute'), runPhase('attribute')].reduce((best, a) =>
    a.ms < best.ms ? a : best,
  );
  const timings = (attribute.detail?.timings ?? {}) as Record<string, number>;
  const attributionMs = (timings.inputs ?? 0) + (timings.attribution ?? 0);
  const lines = [
    ['full local run, best of 3 (inputs, attribution, checks, outputs)', `${seconds(attribute.ms)} s`],
    ['  of which input validation + attribution + checks', `${seconds(attributionMs)} s`],
    ['  of which writing outputs (CSV + Parquet)', `${seconds(timings.outputs ?? 0)} s`],
    [
      'line items per second (full run)',
      Math.round(LINE_ITEMS / (attribute.ms / 1000)).toLocaleString('en-US'),
    ],
    [
      'line items per second (attribution)',
      Math.round(LINE_ITEMS / (attributionMs / 1000)).toLocaleString('en-US'),
    ],
    ['peak memory (RSS) of the run', `${attribute.peakRssMb} MB`],
    ['DuckDB scan of the same columns (best of 3)', `${seconds(scan.ms)} s`],
    ['DuckDB scan of the cost columns only (best of 3)', `${seconds(narrowMs)} s`],
    ['ratio attribution / same-column scan (target <= 3)', (attributionMs / scan.ms).toFixed(2)],
    ['ratio attribution / cost-only scan', (attributionMs / narrowMs).toFixed(2)],
    ['ratio full run / same-column scan', (attribute.ms / scan.ms).toFixed(2)],
  ];
  for (const [label, value] of lines) console.log(`${(label as string).padEnd(66)} ${value}`);
  console.log(`milliseconds by step: ${JSON.stringify(timings)}`);
  const scanned = await athenaScanEstimate();
  console.log(
    `Athena bytes scanned for the period (compressed column chunks read): ${scanned.prunedMb.toFixed(1)} MB ` +
      `(every mapped column: ${scanned.upperBoundMb.toFixed(1)} MB; whole files: ${scanned.fileMb.toFixed(1)} MB)`,
  );
  console.log(`output rows: ${JSON.stringify(attribute.detail?.rowCounts)}`);
  await lambdaFigures();
}

await main();
