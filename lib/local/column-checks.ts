import { trimmedIdSql } from '../engine/athena-id-blanks.ts';
import { DuckDbEngine } from '../engine/duckdb-engine.ts';
import { InputError } from '../inputs/input-error.ts';
import { describeColumns, type FileKind, numberedReaderSql, readerSql } from './input-files.ts';

/** What a column of a local input file must hold. */
export type ValueRule =
  | 'timestamp'
  | 'date'
  | 'number'
  | 'non_negative_number'
  | 'non_empty_text'
  | 'text'
  | 'json_object';

/** A column as the engine reads it, with the rule its values must follow. */
export interface CheckedColumn {
  /** The name in the file (case as the file has it). */
  readonly name: string;
  /** The DuckDB type the reader gives it (VARCHAR for CSV). */
  readonly sourceType: string;
  readonly rule: ValueRule;
  /** Whether an empty value is a problem. */
  readonly required: boolean;
  /**
   * Whether the column comes from JSON, where `"5"` is text and `5` a number: a number written as text
   * is refused there rather than read, since it usually means the writer got its types wrong (other
   * text is reported as not a number, as in CSV).
   * @default false
   */
  readonly fromJson?: boolean;
}

const isText = (type: string) => type === 'VARCHAR' || type === 'JSON';
const isNumeric = (type: string) =>
  /^(DOUBLE|FLOAT|REAL|DECIMAL|HUGEINT|BIGINT|INTEGER|SMALLINT|TINYINT|UBIGINT|UINTEGER|USMALLINT|UTINYINT)/.test(
    type,
  );

/**
 * A file's column as DuckDB names it, quoted whatever its characters: legacy CUR CSV headers are
 * `lineItem/UsageStartDate`, `resourceTags/user:tenant_id`.
 */
export function fileColumnSql(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** DuckDB expression giving the column's value in its target type, NULL when empty or unreadable. */
export function typedValueSql(column: CheckedColumn): string {
  const ref = fileColumnSql(column.name);
  const text = `nullif(trim(CAST(${ref} AS VARCHAR)), '')`;
  switch (column.rule) {
    case 'timestamp':
      // Valid text timestamps include ones without seconds (`2024-06-12T00:00Z`, older Azure FOCUS
      // exports), which the engine's cast refuses: the seconds are supplied. 7-digit fractions and a
      // ` UTC` suffix the cast reads as they are.
      return isText(column.sourceType)
        ? `CAST(try_cast(regexp_replace(${text}, '^(\\d{4}-\\d{2}-\\d{2}[T ]\\d{2}:\\d{2})(Z|[+-]|\\s|$)', '\\1:00\\2')` +
            ' AS TIMESTAMPTZ) AS TIMESTAMP)'
        : `CAST(${ref} AS TIMESTAMP)`;
    case 'date':
      return isText(column.sourceType)
        ? `CASE WHEN regexp_full_match(${text}, '\\d{4}-\\d{2}-\\d{2}') THEN try_cast(${text} AS DATE) END`
        : `CAST(${ref} AS DATE)`;
    case 'number':
    case 'non_negative_number':
      // A present but unreadable number becomes NaN, which no later check lets through, rather than a
      // NULL that would quietly count as zero.
      return isNumeric(column.sourceType)
        ? `CAST(${ref} AS DOUBLE)`
        : `CASE WHEN ${text} IS NULL THEN NULL ELSE coalesce(try_cast(${text} AS DOUBLE), CAST('NaN' AS DOUBLE)) END`;
    case 'json_object':
      // A map of other key or value types (an all-empty map column is typed by its writer) reads as text.
      return column.sourceType.startsWith('MAP')
        ? `CAST(${ref} AS MAP(VARCHAR, VARCHAR))`
        : `CASE WHEN json_valid(${text}) AND json_type(${text}) = 'OBJECT'` +
            ` THEN CAST(CAST(${text} AS JSON) AS MAP(VARCHAR, VARCHAR)) END`;
    case 'non_empty_text':
    case 'text':
      return `CAST(${ref} AS VARCHAR)`;
  }
}

/** DuckDB expression giving a description of what is wrong with the column's value, or NULL. */
export function problemSql(column: CheckedColumn): string {
  const ref = fileColumnSql(column.name);
  const raw = `CAST(${ref} AS VARCHAR)`;
  const empty = `nullif(trim(${raw}), '') IS NULL`;
  const shown = `'"' || ${raw} || '"'`;
  const missing = column.required ? `WHEN ${empty} THEN 'is empty'` : `WHEN ${empty} THEN NULL`;
  const typed = typedValueSql(column);
  // JSON text values cast to VARCHAR keep their quotes (a JSON-typed column) or lose them (a column of
  // strings only): either way the value is shown once, in quotes.
  const jsonText =
    column.fromJson !== true
      ? ''
      : column.sourceType === 'JSON'
        ? `WHEN json_type(${ref}) = 'VARCHAR' AND try_cast(trim(json_extract_string(${ref}, '$')) AS DOUBLE) IS NOT NULL` +
          ` THEN ${raw} || ' is text, not a number (write it without quotes)' `
        : column.sourceType === 'VARCHAR'
          ? `WHEN try_cast(trim(${raw}) AS DOUBLE) IS NOT NULL` +
            ` THEN ${shown} || ' is text, not a number (write it without quotes)' `
          : '';
  switch (column.rule) {
    case 'timestamp':
      return `CASE ${missing} WHEN ${typed} IS NULL THEN ${shown} || ' is not a timestamp' END`;
    case 'date':
      return `CASE ${missing} WHEN ${typed} IS NULL THEN ${shown} || ' is not a date (YYYY-MM-DD)' END`;
    case 'number':
      return `CASE ${missing} ${jsonText}WHEN NOT isfinite(${typed}) THEN ${shown} || ' is not a finite number' END`;
    case 'non_negative_number':
      return (
        `CASE ${missing} ${jsonText}WHEN NOT isfinite(${typed}) THEN ${shown} || ' is not a finite number'` +
        ` WHEN ${typed} < 0 THEN ${shown} || ' is negative' END`
      );
    case 'json_object':
      return `CASE ${missing} WHEN ${typed} IS NULL THEN ${shown} || ' is not a JSON object of tags' END`;
    case 'non_empty_text':
      // Empty once trimmed as ids are trimmed (tabs and line breaks too), so that what passes here
      // is never refused by the shared telemetry check (athena/attribution/invalid_telemetry.sql).
      return column.required
        ? `CASE WHEN nullif(${trimmedIdSql(raw)}, '') IS NULL THEN 'is empty' END`
        : 'CAST(NULL AS VARCHAR)';
    case 'text':
      return 'CAST(NULL AS VARCHAR)';
  }
}

/** Whether any value of the checked columns is bad, in one parallel scan (the normal, fast path). */
export async function hasBadValues(
  engine: DuckDbEngine,
  files: readonly string[],
  kind: FileKind,
  columns: readonly CheckedColumn[],
): Promise<boolean> {
  const problems = columns.filter((c) => c.rule !== 'text').map((c) => `${problemSql(c)} IS NOT NULL`);
  if (problems.length === 0) return false;
  const [row] = await engine.query(
    `SELECT count(*) AS bad FROM ${readerSql(files, kind)} WHERE ${problems.join(' OR ')}`,
  );
  return Number(row?.bad ?? 0) > 0;
}

/**
 * Finds the first bad value, file by file, and throws an InputError naming file, column and row.
 * Serial and slow by design: it runs only once something is known to be wrong.
 */
export async function throwFirstBadValue(
  files: readonly string[],
  kind: FileKind,
  columns: readonly CheckedColumn[],
): Promise<never> {
  const engine = await DuckDbEngine.create({ threads: 1, preserveInsertionOrder: true });
  try {
    for (const file of files) {
      const present = new Set((await describeColumns(engine, [file], kind)).map((c) => c.name.toLowerCase()));
      for (const column of columns) {
        if (column.rule === 'text' || !present.has(column.name.toLowerCase())) continue;
        const [hit] = await engine.query(
          `SELECT source_row, problem FROM (SELECT source_row, ${problemSql(column)} AS problem` +
            ` FROM ${numberedReaderSql(file, kind)}) WHERE problem IS NOT NULL ORDER BY source_row LIMIT 1`,
        );
        if (hit) {
          throw new InputError(String(hit.problem), {
            file,
            column: column.name,
            row: Number(hit.source_row),
          });
        }
      }
    }
  } finally {
    engine.close();
  }
  throw new Error(`Bad values were detected in ${files.length} file(s) but could not be located again`);
}
