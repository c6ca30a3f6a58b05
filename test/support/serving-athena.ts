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
  /** @default the period the table is created for */
  readonly billingPeriod?: string;
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

/** customer_daily_cost as the run's CTAS writes it, billing_period included (Trino's type names). */
export const CUSTOMER_DAILY_COST_COLUMNS = [
  { name: 'usage_date', type: 'date' },
  { name: 'customer_id', type: 'varchar' },
  { name: 'customer_name', type: 'varchar' },
  { name: 'tier', type: 'varchar' },
  { name: 'plan_status', type: 'varchar' },
  { name: 'mrr', type: 'double' },
  { name: 'direct_cost', type: 'double' },
  { name: 'shared_cost', type: 'double' },
  { name: 'total_cost', type: 'double' },
  { name: 'rules_version', type: 'varchar' },
  { name: 'run_id', type: 'varchar' },
  { name: 'billing_period', type: 'varchar' },
] as const;
const COLUMNS = CUSTOMER_DAILY_COST_COLUMNS.map((c) => `${c.name} ${c.type}`).join(', ');

/** A customer-day as a row of customer_daily_cost: name (upper-cased id), tier, plan and mrr defaulted. */
export function customerDailyCostRow(
  runId: string,
  period: string,
  d: TestDay,
): Record<string, string | number | null> {
  return {
    usage_date: d.date,
    customer_id: d.customer,
    customer_name: d.name === undefined ? d.customer.toUpperCase() : d.name,
    tier: d.tier === undefined ? 'growth' : d.tier,
    plan_status: 'paid',
    mrr: d.mrr === undefined ? 1000 : d.mrr,
    direct_cost: d.direct,
    shared_cost: d.shared,
    total_cost: d.direct + d.shared,
    rules_version: 'v1',
    run_id: runId,
    billing_period: d.billingPeriod ?? period,
  };
}

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
        CUSTOMER_DAILY_COST_COLUMNS.map(({ name, type }) => {
          const value = customerDailyCostRow(runId, period, d)[name] ?? null;
          if (value === null) return 'NULL';
          if (type === 'date') return `DATE ${sqlString(String(value)).sql}`;
          return type === 'double' ? sqlNumber(Number(value)).sql : sqlString(String(value)).sql;
        }).join(', '),
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
