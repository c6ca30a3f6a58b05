import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleHandler, PIPELINE_HANDLERS, type PipelineHandlerName } from '../../lib/constructs/bundling.ts';
import { SAMPLE_PIPELINE_ENVIRONMENT } from '../support/pipeline-environment.ts';

// Each handler bundled as the deployment bundles it (ESM, minified; SDK included here so that the bundle
// loads outside the project) into its own folder that stands in for /var/task, then loaded by a plain
// `node` with no `require` in scope, as Lambda's ESM loader does.
const root = mkdtempSync(join(tmpdir(), 'cpc-bundle-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ENV = { ...process.env, ...SAMPLE_PIPELINE_ENVIRONMENT };

const bundle = (handler: PipelineHandlerName) => bundleHandler(handler, join(root, handler));

/** Runs an ES module script with `node`, in the task folder, and returns what it printed. */
const runModule = (script: string, cwd: string, env: Record<string, string> = {}) =>
  execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd,
    env: { ...ENV, ...env },
    encoding: 'utf8',
  }).trim();

describe('the bundled handlers', () => {
  it.each(PIPELINE_HANDLERS)('%s loads as an ES module and exports a handler', async (handler) => {
    const file = await bundle(handler);
    expect(statSync(file).size).toBeGreaterThan(100_000);
    expect(
      runModule(`const m = await import(${JSON.stringify(file)}); console.log(typeof m.handler);`, root),
    ).toBe('function');
  });

  it('finds the SQL files next to the bundle (run-check renders the check it runs from them)', async () => {
    const file = await bundle('run-check');
    const event = {
      runId: 'r20261014a',
      billingPeriod: '2026-10',
      statement: { name: 'conservation_check', kind: 'check' },
    };
    // Rendering reads athena/attribution/conservation_check.sql before Athena is called; Athena here is
    // an endpoint nobody listens on, so the handler gets as far as the network and no further (connection refused). A missing
    // SQL file would fail earlier, with ENOENT.
    const printed = runModule(
      `const m = await import(${JSON.stringify(file)});` +
        `try { await m.lambdaHandler(${JSON.stringify(event)}); console.log('ran'); }` +
        " catch (e) { console.log(e.name + ': ' + e.message); }",
      root,
      {
        AWS_ENDPOINT_URL_ATHENA: 'http://127.0.0.1:9',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_REGION: 'eu-west-1',
        AWS_MAX_ATTEMPTS: '1',
      },
    );
    expect(printed).toBe('Error: connect ECONNREFUSED 127.0.0.1:9');
  });

  it('ships ECharts in the write-report asset, where the report resolves it from inside the bundle', async () => {
    const file = await bundle('write-report');
    const taskRoot = join(root, 'write-report');
    // The bundle's import.meta.url (see lib/constructs/bundling.ts); resolution must not leave the asset.
    const moduleUrl = pathToFileURL(join(taskRoot, 'lib', 'sql', 'sql-template.js')).href;
    const resolved = runModule(
      "import { createRequire } from 'node:module';" +
        `console.log(createRequire(${JSON.stringify(moduleUrl)}).resolve('echarts/dist/echarts.min.js'));`,
      root,
    );
    expect(resolved).toBe(join(taskRoot, 'node_modules', 'echarts', 'dist', 'echarts.min.js'));
    expect(statSync(resolved).size).toBeGreaterThan(500_000);
    expect(file.startsWith(taskRoot)).toBe(true);
    // Only the report needs it: other assets stay small.
    await bundle('cleanup');
    expect(existsSync(join(root, 'cleanup', 'node_modules'))).toBe(false);
  });
});
