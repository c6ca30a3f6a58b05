/**
 * Entry point of the synthetic month generator. The work is split by concern: plan.ts (options, month,
 * seeded macros, event counts), customers.ts (customers, tenants, tenant-days, customers.csv),
 * usage-events.ts (the usage events), line-items.ts (CUR rows and Parquet parts), fixed-rows.ts (fees,
 * tax and credits) and telemetry.ts.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { createCustomerTables, writeCustomersFile } from './customers.ts';
import { createFixedRows } from './fixed-rows.ts';
import { writeCurParts } from './line-items.ts';
import {
  accountIds,
  installSeededMacros,
  makePlan,
  monthFacts,
  type SyntheticMonthOptions,
  validate,
} from './plan.ts';
import { writeTelemetryFile } from './telemetry.ts';

export { UNKNOWN_TENANT_IDS } from './catalog.ts';
export { CUR_COLUMNS } from './line-items.ts';
export type { SyntheticMonthOptions } from './plan.ts';

/** Paths of the files {@link generateSyntheticMonth} wrote (absolute). */
export interface SyntheticMonthFiles {
  /** CUR 2.0 Parquet parts under `<outDir>/cur/data/BILLING_PERIOD=YYYY-MM/`, in order. */
  curFiles: string[];
  /** `<outDir>/telemetry/usage-YYYY-MM.parquet`. */
  telemetryFiles: string[];
  /** `<outDir>/customers.csv`. */
  customersFile: string;
}

/**
 * Writes one synthetic month of a SaaS company's AWS bill: CUR 2.0 Parquet parts, per-tenant daily
 * telemetry and the customer dimension CSV. Everything is computed in DuckDB SQL from `range()` and
 * `hash(..., seed)`, so the same seed and options give byte-identical files, and ten million line items
 * take well under a minute on two cores.
 */
export async function generateSyntheticMonth(o: SyntheticMonthOptions): Promise<SyntheticMonthFiles> {
  const month = monthFacts(o.month);
  validate(o);
  const outDir = path.resolve(o.outDir);
  const curDir = path.join(outDir, 'cur', 'data', `BILLING_PERIOD=${o.month}`);
  const telemetryDir = path.join(outDir, 'telemetry');
  mkdirSync(curDir, { recursive: true });
  mkdirSync(telemetryDir, { recursive: true });
  // Parts of an earlier, bigger run would otherwise be read as part of this month.
  for (const name of readdirSync(curDir)) {
    if (/^cost-per-customer-\d{5}\.parquet$/.test(name)) rmSync(path.join(curDir, name));
  }

  const threads = o.threads ?? 2;
  // Spills, if any, go to a private directory rather than DuckDB's default ./.tmp in the caller's cwd.
  const spillDir = mkdtempSync(path.join(os.tmpdir(), 'cpc-generator-'));
  const instance = await DuckDBInstance.create(':memory:', {
    threads: String(threads),
    temp_directory: spillDir,
  });
  const con = await instance.connect();
  try {
    await installSeededMacros(con, o.seed);
    const plan = makePlan(o, month, await accountIds(con));

    // Order matters: each step reads the tables of the steps before it.
    await createCustomerTables(con, plan);
    const customersFile = path.join(outDir, 'customers.csv');
    await writeCustomersFile(con, customersFile);
    await createFixedRows(con, plan);
    const curFiles = await writeCurParts(instance, plan, curDir, threads);
    const telemetryFile = path.join(telemetryDir, `usage-${o.month}.parquet`);
    await writeTelemetryFile(con, plan, telemetryFile);

    return { curFiles, telemetryFiles: [telemetryFile], customersFile };
  } finally {
    con.closeSync();
    instance.closeSync();
    rmSync(spillDir, { recursive: true, force: true });
  }
}
