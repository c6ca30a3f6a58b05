import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateSyntheticMonth,
  type SyntheticMonthFiles,
  type SyntheticMonthOptions,
  UNKNOWN_TENANT_IDS,
} from '../../lib/generator/synthetic-month.ts';

const LINE_ITEMS = 2000;
const CUSTOMERS = 40;

const EXPECTED_CUR_COLUMNS: [string, string][] = [
  ['bill_billing_period_start_date', 'TIMESTAMP'],
  ['bill_billing_period_end_date', 'TIMESTAMP'],
  ['bill_payer_account_id', 'VARCHAR'],
  ['line_item_usage_account_id', 'VARCHAR'],
  ['line_item_line_item_type', 'VARCHAR'],
  ['line_item_usage_start_date', 'TIMESTAMP'],
  ['line_item_usage_end_date', 'TIMESTAMP'],
  ['line_item_product_code', 'VARCHAR'],
  ['line_item_usage_type', 'VARCHAR'],
  ['line_item_operation', 'VARCHAR'],
  ['line_item_resource_id', 'VARCHAR'],
  ['line_item_usage_amount', 'DOUBLE'],
  ['line_item_currency_code', 'VARCHAR'],
  ['line_item_unblended_cost', 'DOUBLE'],
  ['line_item_net_unblended_cost', 'DOUBLE'],
  ['resource_tags', 'MAP(VARCHAR, VARCHAR)'],
  ['savings_plan_savings_plan_a_r_n', 'VARCHAR'],
  ['savings_plan_savings_plan_effective_cost', 'DOUBLE'],
  ['savings_plan_net_savings_plan_effective_cost', 'DOUBLE'],
  ['savings_plan_total_commitment_to_date', 'DOUBLE'],
  ['savings_plan_used_commitment', 'DOUBLE'],
  ['reservation_reservation_a_r_n', 'VARCHAR'],
  ['reservation_effective_cost', 'DOUBLE'],
  ['reservation_net_effective_cost', 'DOUBLE'],
  ['reservation_unused_amortized_upfront_fee_for_billing_period', 'DOUBLE'],
  ['reservation_net_unused_amortized_upfront_fee_for_billing_period', 'DOUBLE'],
  ['reservation_unused_recurring_fee', 'DOUBLE'],
  ['reservation_net_unused_recurring_fee', 'DOUBLE'],
];

const LINE_ITEM_TYPES = [
  'Usage',
  'SavingsPlanCoveredUsage',
  'SavingsPlanNegation',
  'SavingsPlanRecurringFee',
  'DiscountedUsage',
  'RIFee',
  'Tax',
  'Credit',
];

const CUSTOMER_HEADER = 'customer_id,tenant_id,name,tier,plan_status,mrr,start_date,end_date,owner_team';

type Row = Record<string, string | number | boolean | null>;

let root: string;
let first: SyntheticMonthFiles;
let second: SyntheticMonthFiles;
let otherSeed: SyntheticMonthFiles;
let instance: DuckDBInstance;
let con: DuckDBConnection;

function options(dir: string, seed: number): SyntheticMonthOptions {
  return {
    outDir: path.join(root, dir),
    month: '2026-10',
    seed,
    lineItems: LINE_ITEMS,
    customers: CUSTOMERS,
  };
}

function fileList(files: readonly string[]): string {
  return `[${files.map((f) => `'${f.replaceAll("'", "''")}'`).join(', ')}]`;
}

async function rows(sql: string): Promise<Row[]> {
  const result = await con.runAndReadAll(sql);
  return result.getRowObjectsJson() as Row[];
}

function allFiles(files: SyntheticMonthFiles): string[] {
  return [...files.curFiles, ...files.telemetryFiles, files.customersFile];
}

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'cpc-generator-test-'));
  first = await generateSyntheticMonth(options('a', 7));
  second = await generateSyntheticMonth(options('b', 7));
  otherSeed = await generateSyntheticMonth(options('c', 8));
  instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  con = await instance.connect();
  await con.run(
    `CREATE VIEW cur AS SELECT * FROM read_parquet(${fileList(first.curFiles)}, hive_partitioning = false)`,
  );
  await con.run(`CREATE VIEW telemetry AS SELECT * FROM read_parquet(${fileList(first.telemetryFiles)})`);
  await con.run(
    `CREATE VIEW customers AS SELECT *, coalesce(tenant_id, customer_id) AS tenant
     FROM read_csv('${first.customersFile.replaceAll("'", "''")}', header = true, all_varchar = true)`,
  );
});

afterAll(() => {
  con?.closeSync();
  instance?.closeSync();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('generateSyntheticMonth', () => {
  it('writes the files where the layout says', () => {
    expect(first.curFiles.length).toBeGreaterThan(0);
    for (const file of first.curFiles) {
      expect(file).toMatch(/[/\\]cur[/\\]data[/\\]BILLING_PERIOD=2026-10[/\\][^/\\]+\.parquet$/);
    }
    expect(first.telemetryFiles).toEqual([path.join(root, 'a', 'telemetry', 'usage-2026-10.parquet')]);
    expect(first.customersFile).toBe(path.join(root, 'a', 'customers.csv'));
  });

  it('writes exactly the CUR 2.0 columns and types', async () => {
    const described = await rows('DESCRIBE SELECT * FROM cur');
    expect(described.map((r) => [r.column_name, r.column_type])).toEqual(EXPECTED_CUR_COLUMNS);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const bytes = (files: SyntheticMonthFiles) => allFiles(files).map((f) => readFileSync(f));
    const a = bytes(first);
    const b = bytes(second);
    expect(b.length).toBe(a.length);
    a.forEach((buffer, i) => {
      expect(buffer.equals(b[i] ?? Buffer.alloc(0))).toBe(true);
    });
    const c = bytes(otherSeed);
    expect(c.length).toBe(a.length);
    a.forEach((buffer, i) => {
      expect(buffer.equals(c[i] ?? Buffer.alloc(0))).toBe(false);
    });
  });

  it('hits the line item target within 5% with 50-70% tenant-tagged rows', async () => {
    const [stats] = await rows(`SELECT count(*)::INTEGER AS n,
        (count(*) FILTER (WHERE cardinality(resource_tags) > 0))::INTEGER AS tagged,
        (count(*) FILTER (WHERE resource_tags IS NULL))::INTEGER AS null_tags
      FROM cur`);
    const n = Number(stats?.n);
    expect(Math.abs(n - LINE_ITEMS) / LINE_ITEMS).toBeLessThanOrEqual(0.05);
    const share = Number(stats?.tagged) / n;
    expect(share).toBeGreaterThanOrEqual(0.5);
    expect(share).toBeLessThanOrEqual(0.7);
    expect(stats?.null_tags).toBe(0);
  });

  it('has every line item type, with cost columns only where they apply', async () => {
    const types = await rows('SELECT DISTINCT line_item_line_item_type AS t FROM cur ORDER BY t');
    expect(types.map((r) => r.t).sort()).toEqual([...LINE_ITEM_TYPES].sort());
    const [checks] = await rows(`SELECT
        (count(*) FILTER (WHERE line_item_line_item_type = 'Usage' AND (savings_plan_savings_plan_effective_cost
          IS NOT NULL OR reservation_effective_cost IS NOT NULL)))::INTEGER AS usage_with_discount,
        (count(*) FILTER (WHERE line_item_line_item_type = 'SavingsPlanCoveredUsage'
          AND savings_plan_savings_plan_effective_cost IS NULL))::INTEGER AS covered_without_rate,
        (count(*) FILTER (WHERE line_item_line_item_type = 'SavingsPlanCoveredUsage'))::INTEGER AS covered,
        (count(*) FILTER (WHERE line_item_line_item_type = 'SavingsPlanNegation'))::INTEGER AS negations,
        (count(*) FILTER (WHERE line_item_line_item_type = 'SavingsPlanRecurringFee'
          AND savings_plan_total_commitment_to_date < savings_plan_used_commitment))::INTEGER AS overused,
        (count(*) FILTER (WHERE line_item_line_item_type IN ('DiscountedUsage', 'RIFee')
          AND coalesce(reservation_reservation_a_r_n, '') = ''))::INTEGER AS ri_without_arn,
        (count(*) FILTER (WHERE line_item_line_item_type IN ('Tax', 'SavingsPlanRecurringFee', 'RIFee')
          AND line_item_resource_id <> ''))::INTEGER AS fees_with_resource
      FROM cur`);
    expect(checks).toMatchObject({
      usage_with_discount: 0,
      covered_without_rate: 0,
      overused: 0,
      ri_without_arn: 0,
      fees_with_resource: 0,
    });
    expect(checks?.negations).toBe(checks?.covered);
  });

  it('uses only tenants from customers.csv, apart from the known unknown ids', async () => {
    const tenants = await rows(`
      SELECT DISTINCT resource_tags['user_tenant_id'] AS tenant FROM cur WHERE cardinality(resource_tags) > 0
      UNION SELECT DISTINCT tenant_id FROM telemetry`);
    const known = new Set((await rows('SELECT DISTINCT tenant FROM customers')).map((r) => String(r.tenant)));
    const strangers = tenants.map((r) => String(r.tenant)).filter((t) => !known.has(t));
    expect(strangers.length).toBeGreaterThan(0);
    for (const tenant of strangers) expect(UNKNOWN_TENANT_IDS).toContain(tenant);
  });

  it('gives inactive customers neither tagged cost nor telemetry', async () => {
    const outside = (date: string) =>
      `(c.start_date IS NOT NULL AND ${date} < CAST(c.start_date AS DATE))
        OR (c.end_date IS NOT NULL AND ${date} > CAST(c.end_date AS DATE))`;
    const [result] = await rows(`SELECT
        (SELECT count(*) FROM cur JOIN customers c ON c.tenant = resource_tags['user_tenant_id']
          WHERE ${outside('CAST(line_item_usage_start_date AS DATE)')})::INTEGER AS cost,
        (SELECT count(*) FROM telemetry JOIN customers c ON c.tenant = telemetry.tenant_id
          WHERE ${outside('usage_date')})::INTEGER AS usage`);
    expect(result).toEqual({ cost: 0, usage: 0 });
  });

  it('writes a customer file with every plan status and consistent multi-tenant customers', () => {
    const text = readFileSync(first.customersFile, 'utf8');
    expect(text.split('\n')[0]).toBe(CUSTOMER_HEADER);
    const records: Record<string, string>[] = parse(text, { columns: true });
    expect(new Set(records.map((r) => r.plan_status))).toEqual(new Set(['paid', 'trial', 'free']));
    expect(new Set(records.map((r) => r.tier))).toEqual(new Set(['enterprise', 'growth', 'self-serve']));
    for (const r of records.filter((x) => x.plan_status !== 'paid')) {
      expect(Number(r.mrr)).toBe(0);
      expect(r.tier).toBe('self-serve');
    }
    expect(records.map((r) => r.name)).toEqual(
      expect.arrayContaining(["O'Brien Analytics", 'Zürich Data AG']),
    );

    const byCustomer = new Map<string, Record<string, string>[]>();
    for (const r of records)
      byCustomer.set(r.customer_id ?? '', [...(byCustomer.get(r.customer_id ?? '') ?? []), r]);
    const multi = [...byCustomer.values()].filter((group) => group.length > 1);
    expect(multi.length).toBeGreaterThan(0);
    for (const group of multi) {
      const fields = group.map(({ tenant_id: _tenant, ...rest }) => rest);
      for (const f of fields) expect(f).toEqual(fields[0]);
      expect(new Set(group.map((r) => r.tenant_id || r.customer_id)).size).toBe(group.length);
    }
    const tenantIds = records.map((r) => r.tenant_id || r.customer_id);
    expect(new Set(tenantIds).size).toBe(tenantIds.length);
    expect(records.some((r) => r.tenant_id === '')).toBe(true);
    expect(records.some((r) => r.tenant_id === r.customer_id)).toBe(true);
  });

  it('writes non-negative telemetry with no storage_bytes on the 10th', async () => {
    const [stats] = await rows(`SELECT
        (count(*) FILTER (WHERE quantity < 0 OR quantity IS NULL))::INTEGER AS negative,
        (count(*) FILTER (WHERE metric = 'storage_bytes' AND usage_date = DATE '2026-10-10'))::INTEGER AS tenth,
        (count(*) FILTER (WHERE metric = 'storage_bytes' AND usage_date = DATE '2026-10-11'))::INTEGER AS eleventh,
        count(DISTINCT metric)::INTEGER AS metrics
      FROM telemetry`);
    expect(stats).toEqual({ negative: 0, tenth: 0, eleventh: expect.any(Number), metrics: 4 });
    expect(Number(stats?.eleventh)).toBeGreaterThan(0);
    const [duplicates] = await rows(`SELECT count(*)::INTEGER AS n FROM (
        SELECT usage_date, tenant_id, metric FROM telemetry GROUP BY ALL HAVING count(*) > 1)`);
    expect(Number(duplicates?.n)).toBeGreaterThan(0);
  });

  it('rejects malformed options', async () => {
    await expect(generateSyntheticMonth({ ...options('d', 1), month: '2026-13' })).rejects.toThrow(/YYYY-MM/);
    await expect(generateSyntheticMonth({ ...options('d', 1), customers: 2 })).rejects.toThrow(/customers/);
  });
});
