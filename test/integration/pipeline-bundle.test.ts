import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleHandler, PIPELINE_HANDLERS, type PipelineHandlerName } from '../../lib/constructs/bundling.ts';
import { REPORT_PAGE_DIR, renderReportHtml } from '../../lib/report/render-report.ts';
import type { ReportData } from '../../lib/report/report-data.ts';
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

interface FakeAws {
  /** For the handler's process: the SDK clients send every call here, with made-up credentials. */
  readonly env: Record<string, string>;
  /** SQL of each StartQueryExecution. */
  readonly queries: string[];
  /** Body of each PutObject, by `<bucket>/<key>`. */
  readonly puts: Map<string, string>;
  close(): Promise<void>;
}

/**
 * Athena, DynamoDB and S3 answered over HTTP, just enough for write-report: every query succeeds with no
 * rows, the period pointer names the run of the test, every GetObject is NoSuchKey (no alerts saved),
 * PutObject keeps the body.
 */
async function fakeAws(): Promise<FakeAws> {
  const queries: string[] = [];
  const puts = new Map<string, string>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const target = request.headers['x-amz-target'];
      const path = decodeURIComponent(new URL(request.url ?? '/', 'http://fake').pathname).slice(1);
      if (typeof target === 'string') {
        const action = target.split('.')[1];
        const json = (value: unknown) => {
          response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
          response.end(JSON.stringify(value));
        };
        if (action === 'StartQueryExecution') {
          queries.push((JSON.parse(body) as { QueryString: string }).QueryString);
          json({ QueryExecutionId: `q${queries.length}` });
        } else if (action === 'GetQueryExecution') {
          json({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
        } else if (action === 'GetQueryResults') {
          json({ ResultSet: { ResultSetMetadata: { ColumnInfo: [] }, Rows: [{ Data: [] }] } });
        } else if (action === 'GetItem') {
          json({
            Item: { run_id: { S: '2026-10_exec_abc' }, delivered_at: { S: '2026-10-14T08:00:00.000Z' } },
          });
        } else {
          response.writeHead(400).end();
        }
      } else if (request.method === 'PUT') {
        puts.set(path, body);
        response.writeHead(200, { etag: '"fake"' }).end();
      } else {
        response.writeHead(404, { 'content-type': 'application/xml' });
        response.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code></Error>');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    env: {
      AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
      AWS_ACCESS_KEY_ID: 'AKIDFAKE',
      AWS_SECRET_ACCESS_KEY: 'fake',
    },
    queries,
    puts,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The report data inside a report's HTML. */
function reportDataOf(html: string): ReportData {
  const match = /<script type="application\/json" id="report-data"[^>]*>([\s\S]*?)<\/script>/.exec(html);
  if (!match?.[1]) throw new Error('no report data in the HTML');
  return JSON.parse(match[1]) as ReportData;
}

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

  it('renders the report inside the write-report asset, from the page built into it at bundling time', async () => {
    const file = await bundle('write-report');
    const taskRoot = join(root, 'write-report');
    expect(statSync(join(taskRoot, REPORT_PAGE_DIR, 'report-page.js')).size).toBeGreaterThan(5_000);
    expect(statSync(join(taskRoot, REPORT_PAGE_DIR, 'report-page.css')).size).toBeGreaterThan(1_000);
    // As in Lambda, esbuild does not resolve from the bundle: the page can only come from the asset.
    const moduleUrl = pathToFileURL(join(taskRoot, 'lib', 'sql', 'sql-template.js')).href;
    expect(
      runModule(
        "import { createRequire } from 'node:module';" +
          `try { createRequire(${JSON.stringify(moduleUrl)}).resolve('esbuild'); console.log('found'); }` +
          " catch { console.log('missing'); }",
        root,
      ),
    ).toBe('missing');

    const aws = await fakeAws();
    try {
      const event = {
        runId: '2026-10_exec_abc',
        billingPeriod: '2026-10',
        rulesVersion: 'rules-7',
        costBasis: 'amortized',
        alertsAsOf: null,
        published: true,
      };
      // Not execFileSync: the fake answers from this process, which must keep running meanwhile.
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const m = await import(${JSON.stringify(file)});` +
            `console.log(JSON.stringify(await m.lambdaHandler(${JSON.stringify(event)})));`,
        ],
        { cwd: root, env: { ...ENV, ...aws.env }, encoding: 'utf8' },
      );
      const result = JSON.parse(stdout.trim()) as { keys: string[]; bytes: number };
      expect(result.keys).toEqual([
        'runs/run=2026-10_exec_abc/report.html',
        'reports/billing_period=2026-10/report.html',
      ]);
      // The month's nine queries: days, customers, tier margin, free tier, reconciliation, the drill-downs'
      // days, services and unit costs, and unit costs. No targets are configured and the run has no
      // month before, so neither the targets' query nor the movers' runs.
      expect(aws.queries).toHaveLength(9);
      expect(aws.queries.some((sql) => sql.includes('FULL OUTER JOIN'))).toBe(false);
      const html = aws.puts.get(`${ENV.RESULTS_BUCKET}/${result.keys[0]}`);
      expect(html).toBeDefined();
      expect(Buffer.byteLength(html ?? '')).toBe(result.bytes);
      const data = reportDataOf(html ?? '');
      expect(data.runId).toBe(event.runId);
      // The HTML is the one rendered here, where the page is built from lib/report/page.
      expect(html).toBe(renderReportHtml(data));
    } finally {
      await aws.close();
    }
  });
});
