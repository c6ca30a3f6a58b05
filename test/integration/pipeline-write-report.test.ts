import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import { loadRunResults } from '../../lib/local/query-command.ts';
import { runLocal } from '../../lib/local/run-local.ts';
import { runAlertsKey } from '../../lib/pipeline/run-alerts.ts';
import { PipelineInputError, parseInput } from '../../lib/pipeline/run-contract.ts';
import { writeReportInputSchema, writeRunReport } from '../../lib/pipeline/write-report.ts';
import type { ReportData } from '../../lib/report/report-data.ts';
import { tempDir, writeCur2, writeCustomersCsv, writeTelemetryCsv } from '../support/fixtures.ts';
import { generatedRun } from '../support/generated-run.ts';
import { readCsv } from '../support/run-scenario.ts';

// The deployed report step on DuckDB: a real local run's results stand in for the run's Athena tables
// (same SQL, same seam), and its alerts.json for the one evaluate-alerts saved. What the step writes must
// agree with the run's own files.

const s3 = mockClient(S3Client);
const dynamodb = mockClient(DynamoDBClient);
beforeEach(() => {
  s3.reset();
  dynamodb.reset();
});

const BUCKET = 'cpc-results-111122223333';
const RUN = {
  runId: '2026-10_exec_abc',
  billingPeriod: '2026-10',
  rulesVersion: 'rules-7',
  costBasis: 'net_amortized',
} as const;

let engine: DuckDbEngine;
let out: string;
let localAlertsJson: string;
let localAsOf: string | null;

beforeAll(async () => {
  // A small month: without the materiality floor, so that the run has alerts for the report to list.
  const run = await generatedRun({
    seed: 5,
    lineItems: 5_000,
    customers: 30,
    runId: 'local-run',
    alertsConfig: { minMonthlyCost: 0 },
  });
  out = run.outDir;
  localAsOf = run.result.asOf;
  localAlertsJson = readFileSync(join(out, 'alerts.json'), 'utf8');
  engine = await DuckDbEngine.create();
  await loadRunResults(engine, out, { customers: run.files.customersFile });
});
afterAll(() => engine?.close());

const body = (text: string) =>
  ({ transformToString: async () => text }) as unknown as GetObjectCommandOutput['Body'];

/** The period pointer names `visibleRunId` (this run unless told). */
function options(visibleRunId: string = RUN.runId) {
  dynamodb.on(GetItemCommand).resolves({
    Item: { run_id: { S: visibleRunId }, delivered_at: { S: '2026-10-14T08:00:00.000Z' } },
  });
  const pointers = { dynamodb: new DynamoDBClient({ region: 'eu-west-1' }), tableName: 'cpc-serving' };
  return { runResults: engine, s3: new S3Client({ region: 'eu-west-1' }), resultsBucket: BUCKET, pointers };
}

function reportOf(html: string): ReportData {
  const match = /<script type="application\/json" id="report-data"[^>]*>([\s\S]*?)<\/script>/.exec(html);
  if (!match?.[1]) throw new Error('no report data in the HTML');
  return JSON.parse(match[1]) as ReportData;
}

describe('writeRunReport', () => {
  it("writes the run's report next to its results and as the period's latest, with the run's numbers and alerts", async () => {
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: runAlertsKey(RUN.runId) }).resolves({
      Body: body(localAlertsJson),
    });
    s3.on(PutObjectCommand).resolves({});
    const result = await writeRunReport({ ...RUN, alertsAsOf: localAsOf }, options());

    expect(result.keys).toEqual([
      'runs/run=2026-10_exec_abc/report.html',
      'reports/billing_period=2026-10/report.html',
    ]);
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 2);
    const calls = s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input);
    expect(calls.map((input) => input.Key)).toEqual(result.keys);
    for (const input of calls) {
      expect(input).toMatchObject({
        Bucket: BUCKET,
        ContentType: 'text/html; charset=utf-8',
        Metadata: { 'run-id': RUN.runId },
      });
    }
    const html = String(calls[0]?.Body);
    expect(Buffer.byteLength(html)).toBe(result.bytes);
    const data = reportOf(html);
    expect(data).toMatchObject({
      // The generated bill names no currency.
      currency: 'USD',
      runId: RUN.runId,
      rulesVersion: 'rules-7',
      // The cost basis is the run's, as prepare-run passed it.
      costBasis: 'net_amortized',
      // A deployed run reports its own billing month.
      defaultPeriod: '2026-10',
      alertsAsOf: localAsOf,
    });
    expect(data.months.map((month) => month.billingPeriod)).toEqual(['2026-10']);

    // The month's total, summed independently from the run's daily_summary.csv.
    const days = readCsv(join(out, 'daily_summary.csv'));
    const total = days.reduce((sum, row) => sum + Number(row.total_cost), 0);
    expect(total).toBeGreaterThan(0);
    // The HTML embeds amounts to a millionth.
    expect(Math.abs((data.months[0]?.totals.totalCost ?? 0) - total)).toBeLessThanOrEqual(1e-6);
    // The alerts are the ones saved for the run.
    const localAlerts = JSON.parse(localAlertsJson) as { type: string; subject: string }[];
    expect(localAlerts.length).toBeGreaterThan(0);
    expect(data.alerts.map((a) => `${a.type}|${a.subject}`).sort()).toEqual(
      localAlerts.map((a) => `${a.type}|${a.subject}`).sort(),
    );
  });

  it("writes a EUR run's report in euros: the currency comes from the run's tables, not from the step", async () => {
    // A small local run on a EUR bill stands in for a deployed run's tables: acme 300 + 1234.50, and 65.50
    // untagged. Total 1600.00.
    const dir = tempDir();
    await runLocal({
      billing: [
        await writeCur2(join(dir, 'cur.parquet'), [
          { date: '2026-10-29', service: 'AmazonRDS', cost: 300, tenant: 'acme', currency: 'EUR' },
          { date: '2026-10-30', service: 'AmazonRDS', cost: 1234.5, tenant: 'acme', currency: 'EUR' },
          { date: '2026-10-30', service: 'AmazonS3', cost: 65.5, currency: 'EUR' },
        ]),
      ],
      telemetry: [writeTelemetryCsv(join(dir, 'usage.csv'), [])],
      customers: writeCustomersCsv(join(dir, 'customers.csv'), [{ id: 'acme', mrr: 5000 }]),
      outDir: join(dir, 'out'),
      engine: { threads: 1 },
    });
    const euroEngine = await DuckDbEngine.create({ threads: 1 });
    try {
      await loadRunResults(euroEngine, join(dir, 'out'), { customers: join(dir, 'customers.csv') });
      s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'no', $metadata: {} }));
      s3.on(PutObjectCommand).resolves({});
      await writeRunReport({ ...RUN, alertsAsOf: null }, { ...options(), runResults: euroEngine });
      const data = reportOf(String(s3.commandCalls(PutObjectCommand)[0]?.args[0].input.Body));
      expect(data.currency).toBe('EUR');
      expect(data.months[0]?.totals.totalCost).toBeCloseTo(1600, 9);
    } finally {
      euroEngine.close();
    }
  });

  it('writes a report without alerts when none were saved for the run', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'no', $metadata: {} }));
    s3.on(PutObjectCommand).resolves({});
    await writeRunReport({ ...RUN, alertsAsOf: null }, options());
    const data = reportOf(String(s3.commandCalls(PutObjectCommand)[0]?.args[0].input.Body));
    expect(data.alerts).toEqual([]);
    expect(data.alertsAsOf).toBeNull();
    expect(data.months[0]?.totals.totalCost).toBeGreaterThan(0);
  });

  it('embeds the same report data as the local run wrote for the same results', async () => {
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: runAlertsKey(RUN.runId) }).resolves({
      Body: body(localAlertsJson),
    });
    s3.on(PutObjectCommand).resolves({});
    await writeRunReport({ ...RUN, alertsAsOf: localAsOf }, options());
    const deployed = reportOf(String(s3.commandCalls(PutObjectCommand)[0]?.args[0].input.Body));
    const local = reportOf(readFileSync(join(out, 'report.html'), 'utf8'));
    // The run's own facts differ (its id, rules version and cost basis come from the step, and the local
    // run's warnings are printed by `cpc run`); what the results give is the same, number for number.
    // The local run summed its tables in memory, the deployed one reads their Parquet, so sums may differ
    // in the last bits: numbers agree within a millionth (the precision the drill-downs are written in).
    const same = (a: unknown, b: unknown, at: string): void => {
      if (typeof a === 'number' && typeof b === 'number') {
        expect({ at, off: Math.abs(a - b) <= 1.5e-6 * Math.max(1, Math.abs(a)) }).toEqual({ at, off: true });
      } else if (Array.isArray(a) && Array.isArray(b)) {
        expect({ at, length: b.length }).toEqual({ at, length: a.length });
        for (const [i, item] of a.entries()) same(item, b[i], `${at}[${i}]`);
      } else if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
        expect({ at, keys: Object.keys(b).sort() }).toEqual({ at, keys: Object.keys(a).sort() });
        for (const key of Object.keys(a)) {
          same((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], `${at}.${key}`);
        }
      } else {
        expect({ at, value: b }).toEqual({ at, value: a });
      }
    };
    expect(local.months.length).toBe(1);
    expect(Object.keys(local.months[0]?.drillDowns ?? {}).length).toBeGreaterThan(10);
    same(local.months, deployed.months, 'months');
    expect(deployed.currency).toBe(local.currency);
    expect(deployed.defaultPeriod).toBe(local.defaultPeriod);
    expect(deployed.alerts).toEqual(local.alerts);
  });

  it("measures the month against the configuration's unit-cost targets", async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'no', $metadata: {} }));
    s3.on(PutObjectCommand).resolves({});
    await writeRunReport(
      { ...RUN, alertsAsOf: null },
      {
        ...options(),
        unitCostTargets: [
          { id: 'per-customer', scope: { service: 'AmazonEC2' }, per: 'customer', target: 1 },
        ],
      },
    );
    const month = reportOf(String(s3.commandCalls(PutObjectCommand)[0]?.args[0].input.Body)).months[0];
    // The month's EC2 cost of customers over its customers with cost, from the run's own CSVs.
    const ec2 = readCsv(join(out, 'customer_daily_service_cost.csv'))
      .filter((row) => row.service === 'AmazonEC2')
      .reduce((sum, row) => sum + Number(row.cost), 0);
    const customers = new Set(readCsv(join(out, 'customer_daily_cost.csv')).map((row) => row.customer_id))
      .size;
    expect(ec2).toBeGreaterThan(0);
    expect(month?.unitTargets).toEqual([
      expect.objectContaining({
        targetId: 'per-customer',
        measured: expect.closeTo(ec2 / customers, 6),
        target: 1,
      }),
    ]);
  });

  it('writes only the run’s own report when the pointer names another run', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'no', $metadata: {} }));
    s3.on(PutObjectCommand).resolves({});
    const result = await writeRunReport(
      { ...RUN, alertsAsOf: null },
      options('2026-10_exec_later_0123456789abcdef01234567'),
    );
    expect(result).toMatchObject({ keys: ['runs/run=2026-10_exec_abc/report.html'], visible: false });
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 1);
    expect(s3).not.toHaveReceivedCommandWith(PutObjectCommand, {
      Key: 'reports/billing_period=2026-10/report.html',
    });
  });

  it('refuses an input without the rules version or the alerts day, naming them (parsed once, by the handler)', () => {
    const parse = () =>
      parseInput(
        writeReportInputSchema,
        { runId: RUN.runId, billingPeriod: '2026-10' },
        'write-report input',
      );
    expect(parse).toThrow(PipelineInputError);
    expect(parse).toThrow(/rulesVersion.*alertsAsOf/);
  });
});
