import {
  BILLING_FORMATS,
  type BillingColumn,
  type BillingFormatName,
  detectBillingFormat,
  type TagKeys,
} from '../attribution/billing-formats.ts';
import { trimmedIdSql } from '../engine/athena-id-blanks.ts';
import { DuckDbEngine } from '../engine/duckdb-engine.ts';
import { InputError } from '../inputs/input-error.ts';
import { sqlIdentifier, sqlString } from '../sql/sql-template.ts';
import { type BillingFileSelection, selectBillingFiles } from './billing-files.ts';
import {
  type CheckedColumn,
  hasBadValues,
  problemSql,
  throwFirstBadValue,
  typedValueSql,
  type ValueRule,
} from './column-checks.ts';
import {
  checkCsvHeader,
  checkGzip,
  commonKind,
  describeColumns,
  expandInput,
  type FileColumn,
  type FileKind,
  numberedReaderSql,
  readerSql,
  refuseDuplicateFiles,
} from './input-files.ts';

/** Billing files as the local engine sees them. */
export interface LocalBillingSource {
  readonly files: readonly string[];
  readonly kind: FileKind;
  readonly format: BillingFormatName;
  /** The columns read, with their rules: used to locate a bad value after a failed validity check. */
  readonly columns: readonly CheckedColumn[];
  /** Which of the files the inputs hold are read, which manifests decided it, and what was skipped. */
  readonly selection: BillingFileSelection;
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
  cur2: 'line_item_line_item_type and resource_tags',
  legacy: 'line_item_line_item_type, without resource_tags',
  focus: 'ChargeCategory and EffectiveCost',
};

/**
 * Defines the `billing_source` view over billing files: the columns the format's normalization SQL
 * reads, typed as the Athena tables type them, optional ones NULL where absent. The format is
 * detected per file from its columns unless given.
 */
export async function defineBillingSource(
  engine: DuckDbEngine,
  inputs: readonly string[],
  requestedFormat: BillingFormatName | undefined,
  /** The tags the run reads (legacy CUR has a column per tag). */
  tenantTagKey: TagKeys,
): Promise<LocalBillingSource> {
  const selection = await selectBillingFiles(inputs);
  const files = selection.read;
  const kind = commonKind(files);
  await refuseDuplicateFiles(files);
  let format = requestedFormat;
  for (const file of files) {
    await checkGzip(file);
    if (kind === 'csv') checkCsvHeader(file);
    const described = await describeColumns(engine, [file], kind);
    refuseUnreadableTypes(file, described);
    const names = described.map((c) => c.name);
    const detected = detectBillingFormat(names);
    if (requestedFormat === undefined) {
      if (detected === undefined) {
        throw new InputError(
          'is not a billing file this tool knows: expected CUR 2.0 (line_item_line_item_type, resource_tags),' +
            ' legacy CUR (line_item_line_item_type) or FOCUS (ChargeCategory, EffectiveCost) columns',
          { file },
        );
      }
      if (format !== undefined && detected !== format) {
        throw new InputError(`is ${detected} but earlier files are ${format}; give one format per run`, {
          file,
        });
      }
      format = detected;
    } else if (detected !== undefined && detected !== requestedFormat) {
      throw new InputError(
        `is ${detected} by its columns (${DECIDING_COLUMNS[detected]}), not ${requestedFormat} as --format says:` +
          ' leave --format out, or give it the format of the files',
        { file },
      );
    }
    const present = new Set(names.map((n) => n.toLowerCase()));
    for (const column of BILLING_FORMATS[format as BillingFormatName].columns(tenantTagKey)) {
      if (column.required && !present.has(column.name.toLowerCase())) {
        throw new InputError(`required ${format} column is missing`, { file, column: column.name });
      }
    }
  }
  const billingFormat = BILLING_FORMATS[format as BillingFormatName];
  const actual = byLowerName(await describeColumns(engine, files, kind));
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
    `CREATE OR REPLACE VIEW billing_source AS SELECT ${selectList.join(', ')} FROM ${readerSql(files, kind)}`,
  );

  // Text files (CSV) are checked up front, every typed column whatever the cost basis reads: a bad
  // value is bad input even where this run would not use it, and a malformed JSON tag would otherwise
  // read as "no tag" and move cost from a customer into a pool without a word. Parquet is typed by its
  // writer; its values are checked on the aggregated line items (invalid_line_items.sql) at no cost.
  const typedColumns = columns.filter((c) => c.rule !== 'text');
  if (kind !== 'parquet' && (await hasBadValues(engine, files, kind, typedColumns))) {
    await throwFirstBadValue(files, kind, typedColumns);
  }
  return { files, kind, format: billingFormat.name, columns, selection };
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
  await engine.run(
    `CREATE OR REPLACE TABLE telemetry_rows AS SELECT ${typedValueSql(usageDate)} AS usage_date,` +
      ` ${trimmedIdSql(typedValueSql(tenantId))} AS tenant_id, ${trimmedIdSql(typedValueSql(metric))} AS metric,` +
      ` ${typedValueSql(quantity)} AS quantity, filename AS source_file, ${problems} AS has_problem` +
      ` FROM ${readerSql(files, kind)}`,
  );
  const [bad] = await engine.query('SELECT count(*) AS n FROM telemetry_rows WHERE has_problem');
  if (Number(bad?.n ?? 0) > 0) await throwFirstBadValue(files, kind, columns);
  await engine.run(
    'CREATE OR REPLACE VIEW telemetry AS SELECT usage_date, tenant_id, metric, quantity, source_file FROM telemetry_rows',
  );
}

/**
 * Locates the bad value behind a failed line item validity check and throws it as an InputError. When
 * every value is a finite number, some must add up to more than a double holds (two costs of 1e308):
 * those are found and named instead.
 */
export async function locateBadBillingValue(source: LocalBillingSource): Promise<never> {
  const checked = source.columns.filter((c) => c.rule === 'timestamp' || c.rule === 'number');
  try {
    await throwFirstBadValue(source.files, source.kind, checked);
  } catch (error) {
    if (error instanceof InputError) throw error;
  }
  return throwOverflow(
    source,
    checked.filter((c) => c.rule === 'number'),
  );
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
