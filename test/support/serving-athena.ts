import { gzipSync } from 'node:zlib';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import type { QueryEngine } from '../../lib/engine/query-engine.ts';
import { runLayout } from '../../lib/pipeline/run-layout.ts';
import { sqlIdentifier, sqlNumber, sqlString } from '../../lib/sql/sql-template.ts';

/*
 * Athena as load-serving-table uses it, on DuckDB: the run's customer_daily_cost table and the
 * `customer_daily_cost_runs` partitions in a `cost_per_customer` schema, and an UNLOAD that runs its
 * SELECT on DuckDB and writes the rows as Athena's JSON UNLOAD does (gzip, one object a line, NULL
 * columns left out) into a mocked S3, which the loader then lists and streams back.
 */

export const DATABASE = 'cost_per_customer';
export const RESULTS_BUCKET = 'cpc-results-111122223333';

/** A customer-day of a run's customer_daily_cost. */
export interface TestDay {
  readonly customer: string;
  readonly date: string;
  readonly direct: number;
  readonly shared: number;
  readonly name?: string | null;
  readonly tier?: string | null;
  readonly mrr?: number | null;
}

export interface ServingAthena {
  readonly engine: Pick<QueryEngine, 'query'>;
  readonly s3: S3Client;
  readonly duck: DuckDbEngine;
  /** Every UNLOAD statement run, in order. */
  readonly unloads: string[];
  /** Creates the run's CTAS table of customer_daily_cost for `period`. */
  createRunTable(runId: string, period: string, days: readonly TestDay[]): Promise<void>;
  /** Adds the run's rows as its partition of customer_daily_cost_runs (what publish-run registers). */
  registerRun(runId: string, period: string): Promise<void>;
  close(): void;
}

const COLUMNS =
  'usage_date DATE, customer_id VARCHAR, customer_name VARCHAR, tier VARCHAR, plan_status VARCHAR,' +
  ' mrr DOUBLE, direct_cost DOUBLE, shared_cost DOUBLE, total_cost DOUBLE, rules_version VARCHAR,' +
  ' run_id VARCHAR, billing_period VARCHAR';

const nullable = (value: string | number | null | undefined, kind: 'text' | 'number') =>
  value === null || value === undefined
    ? 'NULL'
    : kind === 'text'
      ? sqlString(String(value)).sql
      : sqlNumber(Number(value)).sql;

export async function startServingAthena(): Promise<ServingAthena> {
  const duck = await DuckDbEngine.create({ threads: 1, memoryLimit: '512MB' });
  await duck.run(`CREATE SCHEMA ${DATABASE}`);
  await duck.run(`CREATE TABLE ${DATABASE}.customer_daily_cost_runs (${COLUMNS})`);
  const objects = new Map<string, Buffer>();
  const unloads: string[] = [];
  const s3Mock = mockClient(S3Client);
  s3Mock.on(ListObjectsV2Command).callsFake(async (input) => ({
    Contents: [...objects.keys()].filter((key) => key.startsWith(input.Prefix ?? '')).map((Key) => ({ Key })),
    IsTruncated: false,
  }));
  s3Mock.on(GetObjectCommand).callsFake(async (input) => {
    const bytes = objects.get(input.Key);
    if (bytes === undefined) throw Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey' });
    return { Body: bytesBody(bytes) };
  });

  const engine: Pick<QueryEngine, 'query'> = {
    async query(sql) {
      const match =
        /^UNLOAD \(\n([\s\S]*)\n\) TO '([^']*)'\nWITH \(format = 'JSON', compression = 'GZIP'\)$/.exec(sql);
      if (match === null) throw new Error(`not a serving UNLOAD: ${sql.slice(0, 80)}`);
      unloads.push(sql);
      const [, select, location] = match as unknown as [string, string, string];
      const prefix = location.replace(`s3://${RESULTS_BUCKET}/`, '');
      if ([...objects.keys()].some((key) => key.startsWith(prefix))) {
        throw new Error(`UNLOAD: ${location} is not empty`);
      }
      const rows = await duck.query(select);
      const lines = rows.map((row) =>
        JSON.stringify(Object.fromEntries(Object.entries(row).filter(([, value]) => value !== null))),
      );
      // Athena writes several files; two here, so the loader reads more than one.
      const half = Math.ceil(lines.length / 2);
      objects.set(
        `${prefix}part-0.gz`,
        gzipSync(
          lines
            .slice(0, half)
            .map((l) => `${l}\n`)
            .join(''),
        ),
      );
      objects.set(
        `${prefix}part-1.gz`,
        gzipSync(
          lines
            .slice(half)
            .map((l) => `${l}\n`)
            .join(''),
        ),
      );
      return [];
    },
  };

  return {
    engine,
    s3: new S3Client({ region: 'us-east-1' }),
    duck,
    unloads,
    async createRunTable(runId, period, days) {
      const table = runLayout(
        { runId, billingPeriod: period },
        { database: DATABASE, resultsBucket: RESULTS_BUCKET },
      ).tableRef('customer_daily_cost');
      await duck.run(`CREATE OR REPLACE TABLE ${table} (${COLUMNS})`);
      if (days.length === 0) return;
      const values = days.map((d) =>
        [
          `DATE ${sqlString(d.date).sql}`,
          sqlString(d.customer).sql,
          nullable(d.name === undefined ? d.customer.toUpperCase() : d.name, 'text'),
          nullable(d.tier === undefined ? 'growth' : d.tier, 'text'),
          sqlString('paid').sql,
          nullable(d.mrr === undefined ? 1000 : d.mrr, 'number'),
          sqlNumber(d.direct).sql,
          sqlNumber(d.shared).sql,
          sqlNumber(d.direct + d.shared).sql,
          sqlString('v1').sql,
          sqlString(runId).sql,
          sqlString(period).sql,
        ].join(', '),
      );
      await duck.run(`INSERT INTO ${table} VALUES (${values.join('), (')})`);
    },
    async registerRun(runId, period) {
      const table = runLayout(
        { runId, billingPeriod: period },
        { database: DATABASE, resultsBucket: RESULTS_BUCKET },
      ).tableRef('customer_daily_cost');
      await duck.run(
        `INSERT INTO ${DATABASE}.${sqlIdentifier('customer_daily_cost_runs').sql} SELECT * FROM ${table}`,
      );
    },
    close() {
      s3Mock.restore();
      duck.close();
    },
  };
}

function bytesBody(bytes: Buffer): GetObjectCommandOutput['Body'] {
  // A stream, as the SDK hands back in Node.
  return (async function* () {
    yield bytes;
  })() as unknown as GetObjectCommandOutput['Body'];
}
