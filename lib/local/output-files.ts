import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { DuckDbEngine } from '../engine/duckdb-engine.ts';
import { sqlIdentifier, sqlString } from '../sql/sql-template.ts';

/** A CSV output of docs/local-run.md: its file name, source table, exact columns and row order. */
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

/**
 * DuckDB macros writing a DOUBLE as a plain decimal with every digit needed to read back the same
 * number: never rounded and never in exponent form (1.2e-07 becomes 0.00000012), so spreadsheets and
 * finance tools read it as is. DuckDB's own text form is already the shortest round-trip one; these
 * only move the decimal point out of an exponent and drop a trailing ".0". Plain expressions, no
 * subquery, so they cost little per row.
 */
export const PLAIN_DECIMAL_MACROS = [
  // Mantissa digits without sign or point, and where the point goes, of text like '-1.25e-07'.
  `CREATE OR REPLACE MACRO plain_decimal_digits(t) AS replace(split_part(ltrim(t, '-'), 'e', 1), '.', '')`,
  `CREATE OR REPLACE MACRO plain_decimal_point(t) AS
    length(split_part(split_part(ltrim(t, '-'), 'e', 1), '.', 1)) + CAST(split_part(t, 'e', 2) AS INTEGER)`,
  `CREATE OR REPLACE MACRO plain_decimal_shift(sign, digits, point) AS
    CASE
      WHEN point <= 0 THEN sign || '0.' || repeat('0', -point) || digits
      WHEN point >= length(digits) THEN sign || digits || repeat('0', point - length(digits))
      ELSE sign || left(digits, point) || '.' || substr(digits, point + 1)
    END`,
  `CREATE OR REPLACE MACRO plain_decimal_text(t) AS
    CASE
      WHEN NOT contains(t, 'e') THEN regexp_replace(t, '\\.0$', '')
      ELSE plain_decimal_shift(CASE WHEN t LIKE '-%' THEN '-' ELSE '' END, plain_decimal_digits(t), plain_decimal_point(t))
    END`,
  `CREATE OR REPLACE MACRO plain_decimal(x) AS CASE WHEN x = 0 THEN '0' ELSE plain_decimal_text(CAST(x AS VARCHAR)) END`,
] as const;

/** Writes one table as CSV with the exact columns of the spec, DOUBLEs as {@link PLAIN_DECIMAL_MACRO}. */
export async function writeCsv(engine: DuckDbEngine, output: CsvOutput, path: string): Promise<number> {
  for (const macro of PLAIN_DECIMAL_MACROS) await engine.run(macro);
  const types = new Map(
    (await engine.query(`DESCRIBE ${sqlIdentifier(output.table).sql}`)).map((row) => [
      String(row.column_name),
      String(row.column_type),
    ]),
  );
  const select = output.columns
    .map((column) => {
      const ref = sqlIdentifier(column).sql;
      const type = types.get(column);
      if (type === 'DOUBLE') return `plain_decimal(${ref}) AS ${ref}`;
      if (type === 'DATE') return `CAST(${ref} AS VARCHAR) AS ${ref}`;
      return ref;
    })
    .join(', ');
  const [written] = await engine.query(
    `COPY (SELECT ${select} FROM ${sqlIdentifier(output.table).sql} ORDER BY ${output.orderBy})` +
      ` TO ${sqlString(path).sql} (FORMAT csv, HEADER)`,
  );
  return Number(written?.Count ?? 0);
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
