import { execFileSync, execSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { pipelineBundling } from '../../lambdas/bundling.ts';

// Each handler bundled as the deployment bundles it (ESM, minified, SDK included) into its own folder that
// stands in for /var/task, then loaded by a plain `node` with no `require` in scope, as Lambda's ESM loader does.
const HANDLERS = [
  'on-delivery',
  'prepare-run',
  'run-check',
  'publish-run',
  'load-serving-table',
  'evaluate-alerts',
  'cleanup',
];
const root = mkdtempSync(join(tmpdir(), 'cpc-bundle-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ENV = {
  ...process.env,
  AWS_REGION: 'eu-west-1',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  POWERTOOLS_METRICS_DISABLED: 'true',
  STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:111122223333:stateMachine:cpc-attribution',
  CUR_BUCKET: 'cpc-cur-111122223333',
  CUR_PREFIX: 'cur',
  CUR_EXPORT_NAME: 'cpc-export',
  DATA_BUCKET: 'cpc-data-111122223333',
  RESULTS_BUCKET: 'cpc-results-111122223333',
  DATABASE: 'cost_per_customer',
  WORKGROUP: 'cost-per-customer',
  TENANT_TAG_KEY: 'tenant_id',
  COST_BASIS: 'amortized',
  TABLE_NAME: 'cpc-serving',
  ALERT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:111122223333:cpc-alerts',
  ALERT_CONFIG: '{}',
};

async function bundle(handler: string): Promise<string> {
  const taskRoot = join(root, handler);
  const settings = pipelineBundling(taskRoot);
  await build({
    entryPoints: [join(process.cwd(), 'lambdas', `${handler}.ts`)],
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    banner: { js: settings.banner },
    define: settings.define,
    outfile: join(taskRoot, 'index.mjs'),
    logLevel: 'silent',
  });
  for (const command of settings.commandHooks.afterBundling(process.cwd(), taskRoot)) execSync(command);
  return join(taskRoot, 'index.mjs');
}

/** Runs an ES module script with `node`, in the task folder, and returns what it printed. */
const runModule = (script: string, cwd: string) =>
  execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd,
    env: ENV,
    encoding: 'utf8',
  }).trim();

describe('the bundled handlers', () => {
  it.each(HANDLERS)('%s loads as an ES module and exports a handler', async (handler) => {
    const file = await bundle(handler);
    expect(statSync(file).size).toBeGreaterThan(100_000);
    expect(
      runModule(`const m = await import(${JSON.stringify(file)}); console.log(typeof m.handler);`, root),
    ).toBe('function');
  });

  it('finds the SQL files next to the bundle (run-check renders its expected check from them)', async () => {
    const file = await bundle('run-check');
    const event = {
      runId: 'r20261014a',
      billingPeriod: '2026-10',
      statement: { name: 'conservation_check', kind: 'check', sql: 'SELECT 1' },
    };
    // Rendering reads athena/attribution/conservation_check.sql; a mismatch is refused before any AWS call.
    const printed = runModule(
      `const m = await import(${JSON.stringify(file)});` +
        `try { await m.lambdaHandler(${JSON.stringify(event)}); console.log('ran'); }` +
        ' catch (e) { console.log(e.name); }',
      root,
    );
    expect(printed).toBe('UnexpectedCheckSqlError');
  });
});
