import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_ALERT_CONFIG } from '../../lib/alerts/alert-config.ts';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import { loadRunResults } from '../../lib/finance/finance-views.ts';
import { PublishedResultsEngine } from '../../lib/pipeline/published-results-engine.ts';
import { PipelineInputError } from '../../lib/pipeline/run-contract.ts';
import { writeRunReport } from '../../lib/pipeline/write-report.ts';
import type { ReportData } from '../../lib/report/report-data.ts';
import { generatedRun } from '../support/generated-run.ts';
import { readCsv } from '../support/run-scenario.ts';

// The deployed report step on DuckDB: a real local run's results stand in for the run's Athena tables
// and for the published tables (same SQL, same seam). What it writes must agree with the run's own files.

const s3 = mockClient(S3Client);
beforeEach(() => s3.reset());

let engine: DuckDbEngine;
let out: string;

beforeAll(async () => {
  const run = await generatedRun({ seed: 5, lineItems: 5_000, customers: 30, runId: 'local-run' });
  out = run.outDir;
  const files = run.files;
  engine = await DuckDbEngine.create();
  await loadRunResults(engine, out, { customers: files.customersFile });
});
afterAll(() => engine?.close());

const RUN = { runId: '2026-10_exec_abc', billingPeriod: '2026-10', rulesVersion: 'rules-7' };

function options() {
  return {
    runResults: engine,
    published: new PublishedResultsEngine({ inputs: engine, database: 'main' }),
    alertConfig: DEFAULT_ALERT_CONFIG,
    s3: new S3Client({ region: 'eu-west-1' }),
    resultsBucket: 'cpc-results-111122223333',
  };
}

function reportOf(html: string): ReportData {
  const match = /<script type="application\/json" id="report-data"[^>]*>([\s\S]*?)<\/script>/.exec(html);
  if (!match?.[1]) throw new Error('no report data in the HTML');
  return JSON.parse(match[1]) as ReportData;
}

describe('writeRunReport', () => {
  it("writes the run's report next to its results and as the period's latest, with the run's numbers", async () => {
    s3.on(PutObjectCommand).resolves({});
    const result = await writeRunReport({ ...RUN, published: true }, options());

    expect(result.keys).toEqual([
      'runs/run=2026-10_exec_abc/report.html',
      'reports/billing_period=2026-10/report.html',
    ]);
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 2);
    const calls = s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input);
    expect(calls.map((input) => input.Key)).toEqual(result.keys);
    for (const input of calls) {
      expect(input).toMatchObject({
        Bucket: 'cpc-results-111122223333',
        ContentType: 'text/html; charset=utf-8',
      });
    }
    const html = String(calls[0]?.Body);
    expect(Buffer.byteLength(html)).toBe(result.bytes);
    const data = reportOf(html);
    expect(data).toMatchObject({ runId: RUN.runId, rulesVersion: 'rules-7', billingPeriod: '2026-10' });

    // The month's total, summed independently from the run's daily_summary.csv.
    const days = readCsv(join(out, 'daily_summary.csv'));
    const total = days.reduce((sum, row) => sum + Number(row.total_cost), 0);
    expect(total).toBeGreaterThan(0);
    expect(data.totals.totalCost).toBeCloseTo(total, 6);
    // The alerts are those the local run evaluated on the same results (same rules, same day).
    const localAlerts = JSON.parse(readFileSync(join(out, 'alerts.json'), 'utf8')) as { type: string }[];
    expect(localAlerts.length).toBeGreaterThan(0);
    expect(data.alerts.length).toBe(localAlerts.length);
    expect(data.alerts.map((alert) => alert.type).sort()).toEqual(localAlerts.map((a) => a.type).sort());
  });

  it('writes nothing for a run that was not published', async () => {
    const result = await writeRunReport({ ...RUN, published: false }, options());
    expect(result).toEqual({ runId: RUN.runId, billingPeriod: '2026-10', keys: [], bytes: 0 });
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('refuses an input without the rules version, naming it', async () => {
    await expect(writeRunReport({ runId: RUN.runId, billingPeriod: '2026-10' }, options())).rejects.toThrow(
      PipelineInputError,
    );
    await expect(writeRunReport({ runId: RUN.runId, billingPeriod: '2026-10' }, options())).rejects.toThrow(
      /rulesVersion/,
    );
  });
});
