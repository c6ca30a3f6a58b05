import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { DuckDbEngine } from '../engine/duckdb-engine.ts';
import { InputError } from '../inputs/input-error.ts';
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
    columns: ['usage_date', 'customer_id', 'provider', 'service', 'rule_id', 'driver', 'cost'],
    orderBy: 'usage_date, customer_id, provider, service, rule_id',
  },
  {
    file: 'customer_daily_usage.csv',
    table: 'customer_daily_usage',
    columns: ['usage_date', 'customer_id', 'metric', 'quantity'],
    orderBy: 'usage_date, customer_id, metric',
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
    columns: ['usage_date', 'reason', 'provider', 'service', 'cost'],
    orderBy: 'usage_date, reason, provider, service',
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

/**
 * A DuckDB macro for CSV text cells: a cell starting with `=`, `+`, `-`, `@`, tab or carriage return
 * gets a leading `'`, so a spreadsheet shows it as text instead of running it as a formula (CSV
 * formula injection: a customer named `=HYPERLINK(...)`). Only VARCHAR columns go through it, so a
 * negative number stays `-1.5`. One comparison of the first character per row: cheap on millions.
 */
export const CSV_TEXT_MACRO =
  "CREATE OR REPLACE MACRO csv_text(t) AS CASE WHEN left(t, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) THEN '''' || t ELSE t END";

/** The macros {@link csvCell} uses; run them on the engine before a COPY that selects csv cells. */
export const CSV_MACROS: readonly string[] = [...PLAIN_DECIMAL_MACROS, CSV_TEXT_MACRO];

/**
 * The SELECT item writing one column to CSV: DOUBLEs as plain decimals ({@link PLAIN_DECIMAL_MACROS}),
 * dates as YYYY-MM-DD, text guarded by {@link CSV_TEXT_MACRO}, anything else as DuckDB writes it.
 */
export function csvCell(column: string, type: string | undefined): string {
  const ref = sqlIdentifier(column).sql;
  if (type === 'DOUBLE') return `plain_decimal(${ref}) AS ${ref}`;
  if (type === 'DATE') return `CAST(${ref} AS VARCHAR) AS ${ref}`;
  if (type === 'VARCHAR') return `csv_text(${ref}) AS ${ref}`;
  return ref;
}

/**
 * The default CSV row limit of a local run: the rows a spreadsheet sheet holds (Excel's 1,048,576, the
 * header included). A bigger CSV opens in no spreadsheet, which is what the CSV twins are for, and
 * writing it is most of a large run's time (50,000 customers: a 34M-row service breakdown); its Parquet
 * twin holds every row.
 */
export const DEFAULT_CSV_ROW_LIMIT = 1_048_575;

/** Writes one table as CSV with the exact columns of the spec, each cell as {@link csvCell} says. */
export async function writeCsv(engine: DuckDbEngine, output: CsvOutput, path: string): Promise<void> {
  for (const macro of CSV_MACROS) await engine.run(macro);
  const types = new Map(
    (await engine.query(`DESCRIBE ${sqlIdentifier(output.table).sql}`)).map((row) => [
      String(row.column_name),
      String(row.column_type),
    ]),
  );
  const select = output.columns.map((column) => csvCell(column, types.get(column))).join(', ');
  await engine.run(
    `COPY (SELECT ${select} FROM ${sqlIdentifier(output.table).sql} ORDER BY ${output.orderBy})` +
      ` TO ${sqlString(path).sql} (FORMAT csv, HEADER)`,
  );
}

/**
 * Writes a table as Parquet with all its columns (billing_period, rules_version and run_id included).
 * Returns the rows written.
 */
export async function writeParquet(engine: DuckDbEngine, table: string, path: string): Promise<number> {
  const [written] = await engine.query(
    `COPY ${sqlIdentifier(table).sql} TO ${sqlString(path).sql} (FORMAT parquet, COMPRESSION zstd)`,
  );
  return Number(written?.Count ?? 0);
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
  try {
    renameSync(staging, target);
  } catch (error) {
    // Put the previous results back: a failed run must leave --out as it was.
    if (hadPrevious) renameSync(previous, target);
    throw error;
  }
  if (hadPrevious) rmSync(previous, { recursive: true, force: true });
}

/** The file a run writes into its results, by which a folder is known as a previous result. */
export const RUN_FILE = 'run.json';

/** Whether `path` is `folder` or lies inside it. */
function isWithin(path: string, folder: string): boolean {
  return path === folder || path.startsWith(folder.endsWith(sep) ? folder : `${folder}${sep}`);
}

/** The part of a path or glob before its first wildcard: the file or folder the glob reads from. */
function globBase(pattern: string): string {
  const wildcard = pattern.search(/[*?[{]/);
  return resolve(wildcard === -1 ? pattern : dirname(`${pattern.slice(0, wildcard)}x`));
}

/**
 * Refuses an output folder a run must not replace, before any work, so that a typo never costs the
 * user files: `--out` is deleted as a whole when the results are switched in. Accepted: an absent
 * folder, an empty one, or a previous result (it holds {@link RUN_FILE}). Refused: a file, `.`, the
 * current folder, the home folder, a folder that is or holds one of `inputs` (paths or globs), and
 * any other non-empty folder.
 */
export function checkOutDir(outDir: string, inputs: readonly string[]): void {
  const target = resolve(outDir);
  const refuse = (why: string): never => {
    throw new InputError(`${why}; cpc replaces --out as a whole, so choose a new or empty folder`, {
      file: `--out ${outDir}`,
    });
  };
  if (outDir === '.' || target === process.cwd()) refuse('is the current folder');
  if (target === resolve(homedir())) refuse('is your home folder');
  for (const input of inputs) {
    if (isWithin(globBase(input), target)) refuse(`is or holds an input of the run (${input})`);
  }
  if (!existsSync(target)) return;
  if (!statSync(target).isDirectory()) refuse('is a file, not a folder');
  const entries = readdirSync(target);
  if (entries.length > 0 && !entries.includes(RUN_FILE)) {
    refuse(`is not empty and is not the result of a previous run (no ${RUN_FILE} in it)`);
  }
}

export function discardStaged(staging: string): void {
  rmSync(staging, { recursive: true, force: true });
}
