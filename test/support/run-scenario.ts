import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { BillingFormatName } from '../../lib/attribution/billing-formats.ts';
import { type LocalRunResult, runLocal } from '../../lib/local/run-local.ts';
import {
  type TestCustomer,
  type TestLineItem,
  type TestUsage,
  tempDir,
  writeCur2,
  writeCustomersCsv,
  writeFocus,
  writeLegacyCur,
  writeTelemetryCsv,
} from './fixtures.ts';

/** How a scenario's billing data is written: each must give the same numbers. */
export type BillingFixture = 'cur2-parquet' | 'cur2-csv' | 'legacy-parquet' | 'focus-csv' | 'focus-parquet';

export interface Scenario {
  readonly items: readonly TestLineItem[];
  readonly usage?: readonly TestUsage[];
  readonly customers: readonly TestCustomer[];
  /** A rules document; the shipped default rules when omitted. */
  readonly rules?: unknown;
  readonly fixture?: BillingFixture;
  readonly tenantTagKey?: string;
}

export type CsvRow = Record<string, string>;

export interface ScenarioOutput {
  readonly result: LocalRunResult;
  readonly outDir: string;
  readonly customerDaily: CsvRow[];
  readonly serviceCost: CsvRow[];
  readonly summary: CsvRow[];
  readonly unattributed: CsvRow[];
}

export function readCsv(path: string): CsvRow[] {
  return parse(readFileSync(path, 'utf8'), { columns: true }) as CsvRow[];
}

async function writeBilling(
  dir: string,
  scenario: Scenario,
): Promise<{ path: string; format: BillingFormatName }> {
  const key = scenario.tenantTagKey ?? 'tenant_id';
  switch (scenario.fixture ?? 'cur2-parquet') {
    case 'cur2-parquet':
      return {
        path: await writeCur2(join(dir, 'cur.parquet'), scenario.items, { tenantTagKey: key }),
        format: 'cur2',
      };
    case 'cur2-csv':
      return {
        path: await writeCur2(join(dir, 'cur.csv.gz'), scenario.items, { tenantTagKey: key, csv: true }),
        format: 'cur2',
      };
    case 'legacy-parquet':
      return {
        path: await writeLegacyCur(join(dir, 'legacy.parquet'), scenario.items, key),
        format: 'legacy',
      };
    case 'focus-csv':
      return {
        path: await writeFocus(join(dir, 'focus.csv'), scenario.items, { tenantTagKey: key, csv: true }),
        format: 'focus',
      };
    case 'focus-parquet':
      return {
        path: await writeFocus(join(dir, 'focus.parquet'), scenario.items, { tenantTagKey: key }),
        format: 'focus',
      };
  }
}

/** Writes a scenario's inputs, runs the local pipeline (format detected) and reads every output back. */
export async function runScenario(scenario: Scenario): Promise<ScenarioOutput> {
  const dir = tempDir();
  const billing = await writeBilling(dir, scenario);
  let rulesFile: string | undefined;
  if (scenario.rules !== undefined) {
    rulesFile = join(dir, 'rules.json');
    writeFileSync(rulesFile, JSON.stringify(scenario.rules));
  }
  const outDir = join(dir, 'out');
  const result = await runLocal({
    billing: [billing.path],
    telemetry: [writeTelemetryCsv(join(dir, 'telemetry.csv'), scenario.usage ?? [])],
    customers: writeCustomersCsv(join(dir, 'customers.csv'), scenario.customers),
    rulesFile,
    outDir,
    runId: 'test-run',
    engine: { threads: 1 },
  });
  return {
    result,
    outDir,
    customerDaily: readCsv(join(outDir, 'customer_daily_cost.csv')),
    serviceCost: readCsv(join(outDir, 'customer_daily_service_cost.csv')),
    summary: readCsv(join(outDir, 'daily_summary.csv')),
    unattributed: readCsv(join(outDir, 'unattributed.csv')),
  };
}

/** `customer_id -> total_cost` on one day, as numbers. */
export function costByCustomer(
  rows: readonly CsvRow[],
  day: string,
  field = 'total_cost',
): Record<string, number> {
  return Object.fromEntries(
    rows.filter((r) => r.usage_date === day).map((r) => [r.customer_id as string, Number(r[field])]),
  );
}

/** `reason -> cost` summed over services on one day. */
export function unattributedByReason(rows: readonly CsvRow[], day: string): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const r of rows.filter((row) => row.usage_date === day)) {
    totals[r.reason as string] = (totals[r.reason as string] ?? 0) + Number(r.cost);
  }
  return totals;
}
