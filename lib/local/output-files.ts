import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { DuckDbEngine } from '../engine/duckdb-engine.ts';
import { sqlIdentifier, sqlString } from '../sql/sql-template.ts';
import { plainDecimal } from './plain-decimal.ts';

/** A CSV output of local-run.md: its file name, source table, exact columns and row order. */
export interface CsvOutput {
  readonly file: string;
  readonly table: string;
  readonly columns: readonly string[];
  readonly orderBy: string;
}

export const CSV_OUTPUTS: readonly CsvOutput[] = [
  {
    file: 'customer_daily_cost.csv',
    table: 'customer_daily_cost',
    columns: [
      'usage_date',
      'customer_id',
      'customer_name',
      'tier',
      'plan_status',
      'mrr',
      'direct_cost',
      'shared_cost',
      'total_cost',
      'rules_version',
      'run_id',
    ],
    orderBy: 'usage_date, customer_id',
  },
  {
    file: 'customer_daily_service_cost.csv',
    table: 'customer_daily_service_cost',
    columns: ['usage_date', 'customer_id', 'service', 'rule_id', 'driver', 'cost'],
    orderBy: 'usage_date, customer_id, service, rule_id',
  },
  {
    file: 'daily_summary.csv',
    table: 'daily_summary',
    columns: [
      'usage_date',
      'total_cost',
      'direct_cost',
      'shared_cost',
      'unattributed_cost',
      'excluded_cost',
      'unattributed_pct',
    ],
    orderBy: 'usage_date',
  },
  {
    file: 'unattributed.csv',
    table: 'unattributed_cost',
    columns: ['usage_date', 'reason', 'service', 'cost'],
    orderBy: 'usage_date, reason, service',
  },
];

function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return plainDecimal(value);
  if (typeof value === 'bigint') return value.toString();
  const text = String(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * Writes one table as CSV, streaming in chunks. Doubles come from DuckDB as JavaScript numbers and
 * are written by {@link plainDecimal}: DuckDB's own text form rounds to 15 digits or uses exponents.
 */
export async function writeCsv(engine: DuckDbEngine, output: CsvOutput, path: string): Promise<number> {
  const select = output.columns
    .map((column) =>
      column === 'usage_date' ? `CAST(usage_date AS VARCHAR) AS usage_date` : sqlIdentifier(column).sql,
    )
    .join(', ');
  const result = await engine.connection.stream(
    `SELECT ${select} FROM ${sqlIdentifier(output.table).sql} ORDER BY ${output.orderBy}`,
  );
  const handle = await open(path, 'w');
  let rows = 0;
  try {
    await handle.write(`${output.columns.join(',')}\n`);
    for await (const chunk of result.yieldRowsJs()) {
      const lines = chunk.map((row) => row.map(csvField).join(','));
      if (lines.length === 0) continue;
      rows += lines.length;
      await handle.write(`${lines.join('\n')}\n`);
    }
  } finally {
    await handle.close();
  }
  return rows;
}

/** Writes a table as Parquet with all its columns (billing_period, rules_version and run_id included). */
export async function writeParquet(engine: DuckDbEngine, table: string, path: string): Promise<void> {
  await engine.run(
    `COPY ${sqlIdentifier(table).sql} TO ${sqlString(path).sql} (FORMAT parquet, COMPRESSION zstd)`,
  );
}

/** Writes a JSON document, pretty-printed for people. */
export function writeJson(path: string, document: unknown): void {
  writeFileSync(path, `${JSON.stringify(document, null, 2)}\n`);
}

/**
 * A sibling of the output directory to write a run into. The previous results stay untouched until
 * {@link publishStaged}; a failed run is removed by {@link discardStaged}.
 */
export function stagingDirectory(outDir: string, runId: string): string {
  const target = resolve(outDir);
  const staging = join(dirname(target), `.${basename(target)}.staging-${runId}`);
  mkdirSync(staging, { recursive: true });
  return staging;
}

/** Replaces the output directory by the staged run in two renames, so readers never see a mix. */
export function publishStaged(staging: string, outDir: string): void {
  const target = resolve(outDir);
  const previous = `${staging}.previous`;
  let hadPrevious = true;
  try {
    renameSync(target, previous);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    hadPrevious = false;
  }
  renameSync(staging, target);
  if (hadPrevious) rmSync(previous, { recursive: true, force: true });
}

export function discardStaged(staging: string): void {
  rmSync(staging, { recursive: true, force: true });
}
