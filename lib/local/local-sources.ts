import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { legacyAthenaColumnName } from '../attribution/billing-formats/legacy.ts';
import {
  BILLING_FORMATS,
  type BillingColumn,
  type BillingFormatName,
  detectBillingFormat,
  type TagKeys,
} from '../attribution/billing-formats.ts';
import { billingSourceTable } from '../attribution/stages.ts';
import { trimmedIdSql } from '../engine/athena-id-blanks.ts';
import { DuckDbEngine } from '../engine/duckdb-engine.ts';
import { InputError } from '../inputs/input-error.ts';
import { sqlIdentifier, sqlString } from '../sql/sql-template.ts';
import { type BillingFileSelection, selectBillingFiles } from './billing-files.ts';
import {
  type CheckedColumn,
  fileColumnSql,
  hasBadValues,
  problemSql,
  throwFirstBadValue,
  typedValueSql,
  type ValueRule,
} from './column-checks.ts';
import { unzipSingleCsv } from './csv-zip.ts';
import {
  checkCsvHeader,
  checkGzip,
  commonKind,
  describeColumns,
  expandInput,
  type FileColumn,
  type FileKind,
  fileKind,
  numberedReaderSql,
  readerSql,
  refuseDuplicateFiles,
} from './input-files.ts';

/** Billing files of one format and file kind, read through one logical table. */
export interface LocalBillingSource {
  /** The files the engine reads (a `.csv.zip` is read through its unpacked CSV). */
  readonly files: readonly string[];
  /** Each file as the user gave it, in the order of {@link files}: what messages name. */
  readonly shownFiles: readonly string[];
  readonly kind: FileKind;
  readonly format: BillingFormatName;
  /** The logical table: `billing_source`, `billing_source_2`, ... ({@link billingSourceTable}). */
  readonly table: string;
  /** The columns read (names as the files have them), with their rules: to locate a bad value. */
  readonly columns: readonly CheckedColumn[];
  /** Which of the files the inputs hold are read, which manifests decided it, and what was skipped. */
  readonly selection: BillingFileSelection;
}

/** Every billing source of a run, the file selection and the run's one currency. */
export interface LocalBilling {
  /** One per (format, file kind, column naming), in the order of their first file. */
  readonly sources: readonly LocalBillingSource[];
  readonly selection: BillingFileSelection;
  /** The currency of every line item (docs/attribution.md 1.1), `USD` when no file names one. */
  readonly currency: string;
  /** Removes the unpacked copies of zipped files; call once the run no longer reads the sources. */
  close(): void;
}

const BILLING_RULES: Record<BillingColumn['type'], ValueRule> = {
  timestamp: 'timestamp',
  double: 'number',
  varchar: 'text',
  tag_map: 'json_object',
};

const SQL_TYPES: Record<BillingColumn['type'], string> = {
  timestamp: 'TIMESTAMP',
  double: 'DOUBLE',
  varchar: 'VARCHAR',
  tag_map: 'MAP(VARCHAR, VARCHAR)',
};

function byLowerName<T extends { name: string }>(items: readonly T[]): Map<string, T> {
  return new Map(items.map((item) => [item.name.toLowerCase(), item]));
}

/** The columns that tell each format (the detection of lib/attribution/billing-formats/), in words. */
const DECIDING_COLUMNS: Record<BillingFormatName, string> = {
  cur2: 'line_item_line_item_type with resource_tags or tags',
  legacy: 'line_item_line_item_type, without resource_tags or tags',
  focus: 'ChargeCategory and EffectiveCost',
};

/** The column that names a line item's currency in each format (absent or empty: USD). */
const CURRENCY_COLUMN: Record<BillingFormatName, string> = {
  cur2: 'line_item_currency_code',
  legacy: 'line_item_currency_code',
  focus: 'BillingCurrency',
};

const DEFAULT_CURRENCY = 'USD';

/** The Athena name of a legacy CUR CSV column (the rule lives with the legacy format). */
export const athenaColumnName = legacyAthenaColumnName;

/** A billing file as the checks saw it. */
interface CheckedFile {
  readonly file: string;
  readonly shown: string;
  readonly kind: FileKind;
  readonly format: BillingFormatName;
  /** Whether its header is the legacy CSV delivery's (`lineItem/UsageStartDate`). */
  readonly slashNames: boolean;
}

/** An InputError about an unpacked copy, told about the file the user gave. */
function shownError(error: unknown, shownAs: ReadonlyMap<string, string>): unknown {
  if (!(error instanceof InputError)) return error;
  const shown = shownAs.get(error.location.file);
  if (shown === undefined) return error;
  const parts = [error.location.file];
  if (error.location.column !== undefined) parts.push(`column "${error.location.column}"`);
  if (error.location.row !== undefined) parts.push(`row ${error.location.row}`);
  const problem = error.message.slice(`${parts.join(', ')}: `.length).replaceAll(error.location.file, shown);
  return new InputError(problem, { ...error.location, file: shown });
}

/**
 * Defines one view per billing source (`billing_source`, `billing_source_2`, ...) over the billing files
 * the inputs hold (docs/attribution.md 1.1, 1.1.1): each file's format detected from its own columns
 * (or forced by `requestedFormat`, refused where its columns say otherwise), files grouped by format,
 * file kind and column naming. Each view has the columns its format's normalization SQL reads, typed
 * as the Athena tables type them, optional ones NULL where absent. Refuses two currencies in one run.
 */
export async function defineBillingSources(
  engine: DuckDbEngine,
  inputs: readonly string[],
  requestedFormat: BillingFormatName | undefined,
  /** The tags the run reads (legacy CUR has a column per tag). */
  tenantTagKey: TagKeys,
): Promise<LocalBilling> {
  const unpacked = mkdtempSync(join(tmpdir(), 'cpc-unzipped-'));
  const close = () => rmSync(unpacked, { recursive: true, force: true });
  const shownAs = new Map<string, string>();
  try {
    const selection = await selectBillingFiles(inputs);
    await refuseDuplicateFiles(selection.read);
    const checked: CheckedFile[] = [];
    for (const shown of selection.read) {
      let file = shown;
      if (/\.zip$/i.test(shown)) {
        file = await unzipSingleCsv(shown, mkdtempSync(join(unpacked, 'f-')));
        shownAs.set(file, shown);
      }
      checked.push(await checkBillingFile(engine, file, shown, requestedFormat, tenantTagKey));
    }
    const groups = new Map<string, CheckedFile[]>();
    for (const file of checked) {
      const key = `${file.format}\u0000${file.kind}\u0000${file.slashNames}`;
      groups.set(key, [...(groups.get(key) ?? []), file]);
    }
    const sources: LocalBillingSource[] = [];
    for (const group of groups.values()) {
      sources.push(
        await defineSource(engine, group, billingSourceTable(sources.length), tenantTagKey, selection),
      );
    }
    const currency = await runCurrency(engine, sources);
    return { sources, selection, currency, close };
  } catch (error) {
    close();
    throw shownError(error, shownAs);
  }
}

/**
 * One source, as before several sources: the files must all be of one format, kind and naming.
 * For callers that read a single export (tests, the benchmark).
 */
export async function defineBillingSource(
  engine: DuckDbEngine,
  inputs: readonly string[],
  requestedFormat: BillingFormatName | undefined,
  tenantTagKey: TagKeys,
): Promise<LocalBillingSource> {
  const billing = await defineBillingSources(engine, inputs, requestedFormat, tenantTagKey);
  if (billing.sources.length !== 1) {
    billing.close();
    throw new Error(`Expected one billing source, found ${billing.sources.length}`);
  }
  return billing.sources[0] as LocalBillingSource;
}

/** Checks one billing file (readable, types, format, required columns) and tells its format. */
async function checkBillingFile(
  engine: DuckDbEngine,
  file: string,
  shown: string,
  requestedFormat: BillingFormatName | undefined,
  tenantTagKey: TagKeys,
): Promise<CheckedFile> {
  const kind = fileKind(file);
  await checkGzip(file);
  if (kind === 'csv') checkCsvHeader(file);
  const described = await describeColumns(engine, [file], kind);
  const slashNames = kind === 'csv' && described.some((c) => c.name.includes('/'));
  const named = described.map((c) => ({ ...c, name: athenaColumnName(c.name) }));
  refuseUnreadableTypes(file, named);
  const names = named.map((c) => c.name);
  const detected = detectBillingFormat(names);
  if (requestedFormat === undefined && detected === undefined) {
    throw new InputError(
      'is not a billing file this tool knows: expected CUR 2.0 (line_item_line_item_type, resource_tags),' +
        ' legacy CUR (line_item_line_item_type, or lineItem/LineItemType in a CSV delivery) or FOCUS' +
        ' (ChargeCategory, EffectiveCost) columns',
      { file },
    );
  }
  if (requestedFormat !== undefined && detected !== undefined && detected !== requestedFormat) {
    throw new InputError(
      `is ${detected} by its columns (${DECIDING_COLUMNS[detected]}), not ${requestedFormat} as --format says:` +
        ' leave --format out, or give it the format of the files',
      { file },
    );
  }
  const format = (requestedFormat ?? detected) as BillingFormatName;
  const present = new Set(names.map((n) => n.toLowerCase()));
  for (const column of BILLING_FORMATS[format].columns(tenantTagKey)) {
    if (column.required && !present.has(column.name.toLowerCase())) {
      throw new InputError(`required ${format} column is missing`, { file, column: column.name });
    }
  }
  return { file, shown, kind, format, slashNames };
}

/** The view of one group of files, its values checked when they are text. */
async function defineSource(
  engine: DuckDbEngine,
  group: readonly CheckedFile[],
  table: string,
  tenantTagKey: TagKeys,
  selection: BillingFileSelection,
): Promise<LocalBillingSource> {
  const first = group[0] as CheckedFile;
  const files = group.map((f) => f.file);
  const billingFormat = BILLING_FORMATS[first.format];
  const described = await describeColumns(engine, files, first.kind);
  const actual = new Map(described.map((c) => [athenaColumnName(c.name).toLowerCase(), c]));
  const columns: CheckedColumn[] = [];
  const selectList = billingFormat.columns(tenantTagKey).map((wanted) => {
    const found = actual.get(wanted.name.toLowerCase());
    const alias = sqlIdentifier(wanted.name).sql;
    if (!found) return `CAST(NULL AS ${SQL_TYPES[wanted.type]}) AS ${alias}`;
    const column: CheckedColumn = {
      name: found.name,
      sourceType: found.type,
      rule: BILLING_RULES[wanted.type],
      required: wanted.type === 'timestamp',
    };
    columns.push(column);
    return `${typedValueSql(column)} AS ${alias}`;
  });
  await engine.run(
    `CREATE OR REPLACE VIEW ${sqlIdentifier(table).sql} AS SELECT ${selectList.join(', ')}` +
      ` FROM ${readerSql(files, first.kind)}`,
  );

  // Text files (CSV) are checked up front, every typed column whatever the cost basis reads: a bad
  // value is bad input even where this run would not use it, and a malformed JSON tag would otherwise
  // read as "no tag" and move cost from a customer into a pool without a word. Parquet is typed by its
  // writer; its values are checked on the aggregated line items (invalid_line_items.sql) at no cost.
  const typedColumns = columns.filter((c) => c.rule !== 'text');
  if (first.kind !== 'parquet' && (await hasBadValues(engine, files, first.kind, typedColumns))) {
    await throwFirstBadValue(files, first.kind, typedColumns);
  }
  return {
    files,
    shownFiles: group.map((f) => f.shown),
    kind: first.kind,
    format: billingFormat.name,
    table,
    columns,
    selection,
  };
}

/** The currency column of a source as its files name it, when any file has one. */
async function currencyColumnOf(engine: DuckDbEngine, source: LocalBillingSource, files: readonly string[]) {
  const wanted = CURRENCY_COLUMN[source.format].toLowerCase();
  const described = await describeColumns(engine, files, source.kind);
  return described.find((c) => athenaColumnName(c.name).toLowerCase() === wanted)?.name;
}

const currencySql = (column: string | undefined) =>
  column === undefined
    ? sqlString(DEFAULT_CURRENCY).sql
    : `coalesce(nullif(trim(CAST(${fileColumnSql(column)} AS VARCHAR)), ''), ${sqlString(DEFAULT_CURRENCY).sql})`;

/**
 * The one currency of the run's line items (docs/attribution.md 1.1): `line_item_currency_code` (CUR),
 * `BillingCurrency` (FOCUS), absent or empty meaning USD. Two currencies are refused, naming a file and
 * row of each: there is no FX conversion, and a sum across currencies means nothing.
 */
async function runCurrency(engine: DuckDbEngine, sources: readonly LocalBillingSource[]): Promise<string> {
  const seen = new Set<string>();
  for (const source of sources) {
    const column = await currencyColumnOf(engine, source, source.files);
    const rows = await engine.query(
      `SELECT DISTINCT ${currencySql(column)} AS currency FROM ${readerSql(source.files, source.kind)}`,
    );
    for (const row of rows) seen.add(String(row.currency));
  }
  if (seen.size <= 1) return [...seen][0] ?? DEFAULT_CURRENCY;
  // Two or more: find where each first appears, file by file, serially (the error path only).
  const single = await DuckDbEngine.create({ threads: 1, preserveInsertionOrder: true });
  try {
    let firstSeen: { file: string; column: string; row: number; currency: string } | undefined;
    for (const source of sources) {
      for (const [index, file] of source.files.entries()) {
        const column = await currencyColumnOf(single, source, [file]);
        const rows = await single.query(
          `SELECT currency, min(source_row) AS source_row FROM (SELECT source_row, ${currencySql(column)} AS currency` +
            ` FROM ${numberedReaderSql(file, source.kind)}) GROUP BY currency ORDER BY source_row`,
        );
        const shown = source.shownFiles[index] as string;
        for (const row of rows) {
          const found = {
            file: shown,
            column: column ?? CURRENCY_COLUMN[source.format],
            row: Number(row.source_row),
            currency: String(row.currency),
          };
          if (firstSeen === undefined) firstSeen = found;
          else if (found.currency !== firstSeen.currency) {
            const absent = (c: string | undefined) => (c === undefined ? ' (no currency column: USD)' : '');
            throw new InputError(
              `is in ${firstSeen.currency}, but ${found.file} row ${found.row} is in ${found.currency}${absent(column)}:` +
                ' a run takes billing data of one currency (there is no conversion); run each currency on its own',
              { file: firstSeen.file, column: firstSeen.column, row: firstSeen.row },
            );
          }
        }
      }
    }
  } finally {
    single.close();
  }
  throw new Error(`Billing data holds ${[...seen].join(', ')} but their rows could not be located again`);
}

/** Column types a timestamp can be read from: timestamps and dates as such, text parsed. */
const TIMESTAMP_SOURCE = /^(TIMESTAMP|DATE|VARCHAR)/;

/**
 * Refuses billing timestamps stored in a type the engine cannot read as one, naming file and column:
 * the cast would fail later with the engine's own words and no file named. An integer is usually epoch
 * seconds or milliseconds from a hand-made or converted export, which cannot be told apart safely.
 */
function refuseUnreadableTypes(file: string, described: readonly FileColumn[]): void {
  const timestamps = new Set(
    Object.values(BILLING_FORMATS)
      .flatMap((format) => format.columns('tenant_id'))
      .filter((column) => column.type === 'timestamp')
      .map((column) => column.name.toLowerCase()),
  );
  for (const column of described) {
    if (!timestamps.has(column.name.toLowerCase()) || TIMESTAMP_SOURCE.test(column.type)) continue;
    const stored = /INT/.test(column.type) ? `an integer (${column.type})` : column.type;
    throw new InputError(
      `is stored as ${stored}, not a timestamp: write it as a Parquet TIMESTAMP, or as text such as 2026-10-01T05:00:00Z`,
      { file, column: column.name },
    );
  }
}

/** Telemetry columns (docs/attribution.md section 1.2) and what their values must be. */
const TELEMETRY_COLUMNS: readonly { name: string; rule: ValueRule }[] = [
  { name: 'usage_date', rule: 'date' },
  { name: 'tenant_id', rule: 'non_empty_text' },
  { name: 'metric', rule: 'non_empty_text' },
  { name: 'quantity', rule: 'non_negative_number' },
];

/**
 * Defines the `telemetry` table from usage files (CSV, NDJSON or Parquet), after checking every value:
 * telemetry is small next to billing data, so it is validated before anything runs.
 */
export async function defineTelemetry(engine: DuckDbEngine, inputs: readonly string[]): Promise<void> {
  const files = (await Promise.all(inputs.map((input) => expandInput(input, 'telemetry')))).flat();
  const kind = commonKind(files);
  await refuseDuplicateFiles(files);
  const columns: CheckedColumn[] = [];
  for (const file of files) {
    await checkGzip(file);
    if (kind === 'csv') checkCsvHeader(file);
    const present = byLowerName(await describeColumns(engine, [file], kind));
    for (const wanted of TELEMETRY_COLUMNS) {
      if (!present.has(wanted.name))
        throw new InputError('required column is missing', { file, column: wanted.name });
    }
  }
  const actual = byLowerName(await describeColumns(engine, files, kind));
  for (const wanted of TELEMETRY_COLUMNS) {
    const found = actual.get(wanted.name) as { name: string; type: string };
    columns.push({
      name: found.name,
      sourceType: found.type,
      rule: wanted.rule,
      required: true,
      fromJson: kind === 'ndjson',
    });
  }
  const [usageDate, tenantId, metric, quantity] = columns as [
    CheckedColumn,
    CheckedColumn,
    CheckedColumn,
    CheckedColumn,
  ];
  // One pass reads, types and checks the rows; only a failed check reads the files again, to locate.
  // tenant_id and metric are trimmed as usage_rows.sql trims them on every engine (trimmedIdSql), and
  // each row keeps its file (DuckDB's `filename` column of the reader), as Athena's rows keep "$path".
  const problems = columns.map((c) => `${problemSql(c)} IS NOT NULL`).join(' OR ');
  // event_id, optional: a streamed record's id, so that a record delivered twice counts once
  // (usage_rows.sql). Empty text is no id.
  const eventId = actual.get('event_id');
  const eventIdSql = eventId
    ? `nullif(CAST(${sqlIdentifier(eventId.name).sql} AS VARCHAR), '')`
    : 'CAST(NULL AS VARCHAR)';
  await engine.run(
    `CREATE OR REPLACE TABLE telemetry_rows AS SELECT ${typedValueSql(usageDate)} AS usage_date,` +
      ` ${trimmedIdSql(typedValueSql(tenantId))} AS tenant_id, ${trimmedIdSql(typedValueSql(metric))} AS metric,` +
      ` ${typedValueSql(quantity)} AS quantity, ${eventIdSql} AS event_id, filename AS source_file,` +
      ` ${problems} AS has_problem FROM ${readerSql(files, kind)}`,
  );
  const [bad] = await engine.query('SELECT count(*) AS n FROM telemetry_rows WHERE has_problem');
  if (Number(bad?.n ?? 0) > 0) await throwFirstBadValue(files, kind, columns);
  await engine.run(
    'CREATE OR REPLACE VIEW telemetry AS SELECT usage_date, tenant_id, metric, quantity, event_id, source_file FROM telemetry_rows',
  );
}

/**
 * Locates the bad value behind a failed line item validity check and throws it as an InputError. When
 * every value is a finite number, some must add up to more than a double holds (two costs of 1e308):
 * those are found and named instead.
 */
export async function locateBadBillingValue(billing: LocalBilling | LocalBillingSource): Promise<never> {
  const sources = 'sources' in billing ? billing.sources : [billing];
  const shownAs = new Map(
    sources.flatMap((s) => s.files.map((file, i) => [file, s.shownFiles[i] as string])),
  );
  try {
    for (const source of sources) {
      const checked = source.columns.filter((c) => c.rule === 'timestamp' || c.rule === 'number');
      try {
        await throwFirstBadValue(source.files, source.kind, checked);
      } catch (error) {
        if (error instanceof InputError) throw error;
      }
    }
    for (const source of sources) {
      await throwOverflow(
        source,
        source.columns.filter((c) => c.rule === 'number'),
      ).catch((error: unknown) => {
        // A source whose own sums are finite is not the one that overflowed.
        if (error instanceof InputError) throw error;
      });
    }
  } catch (error) {
    throw shownError(error, shownAs);
  }
  throw new Error('Bad line items were detected but no bad value could be located in the billing files');
}

/** The largest finite double: a sum beyond it is infinite. */
const MAX_DOUBLE = '1.8e+308';

/**
 * Finds the values whose sum overflows and throws them, with file, column and rows: every value of the
 * number columns, largest first, up to the one whose running sum becomes infinite. Serial, like the
 * first-bad-value search: it runs only once the line item check has failed.
 */
async function throwOverflow(source: LocalBillingSource, columns: readonly CheckedColumn[]): Promise<never> {
  const engine = await DuckDbEngine.create({ threads: 1, preserveInsertionOrder: true });
  try {
    const parts: string[] = [];
    for (const [index, file] of source.files.entries()) {
      const present = new Set(
        (await describeColumns(engine, [file], source.kind)).map((c) => c.name.toLowerCase()),
      );
      for (const column of columns) {
        if (!present.has(column.name.toLowerCase())) continue;
        parts.push(
          `SELECT ${index} AS file_index, ${sqlString(column.name).sql} AS column_name, source_row,` +
            ` ${typedValueSql(column)} AS value FROM ${numberedReaderSql(file, source.kind)}`,
        );
      }
    }
    if (parts.length === 0) throw new Error('Bad line items were detected but no cost column could be read');
    const rows = await engine.query(
      `SELECT file_index, column_name, source_row, CAST(value AS VARCHAR) AS shown, isinf(running) AS overflows` +
        ` FROM (SELECT *, sum(abs(value)) OVER (ORDER BY abs(value) DESC, file_index, source_row, column_name` +
        ` ROWS UNBOUNDED PRECEDING) AS running FROM (${parts.join(' UNION ALL ')}) WHERE isfinite(value))` +
        ` ORDER BY abs(value) DESC, file_index, source_row, column_name LIMIT 100`,
    );
    const end = rows.findIndex((row) => row.overflows === true);
    if (end < 0) {
      throw new Error(
        `Bad values were detected in ${source.files.length} file(s) but could not be located again`,
      );
    }
    // In file and row order, so the message reads like the file.
    const culprits = rows
      .slice(0, end + 1)
      .map((row) => ({
        file: source.files[Number(row.file_index)] as string,
        fileIndex: Number(row.file_index),
        column: String(row.column_name),
        row: Number(row.source_row),
        shown: Number(row.shown).toExponential(),
      }))
      .sort((a, b) => a.fileIndex - b.fileIndex || a.row - b.row);
    const first = culprits[0] as (typeof culprits)[number];
    const oneColumn = culprits.every((c) => c.column === first.column);
    const where = (c: (typeof culprits)[number]) =>
      `${c.file === first.file ? '' : `of ${c.file} `}${oneColumn ? '' : `column "${c.column}" `}`;
    let problem: string;
    if (culprits.every((c) => c.file === first.file && c.column === first.column)) {
      const rowsText = wordList(culprits.map((c) => String(c.row)));
      const values = wordList(culprits.map((c) => c.shown));
      problem = `row${culprits.length > 1 ? 's' : ''} ${rowsText} hold ${values}`;
    } else {
      problem = wordList(culprits.map((c) => `row ${c.row} ${where(c)}holds ${c.shown}`));
    }
    throw new InputError(
      `${problem}, which add up to more than the largest number a cost can be (about ${MAX_DOUBLE}):` +
        ' these are not real costs, check how the file was written',
      oneColumn ? { file: first.file, column: first.column } : { file: first.file },
    );
  } finally {
    engine.close();
  }
}

/** `a`, `a and b`, `a, b and c`. */
function wordList(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}
