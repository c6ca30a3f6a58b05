import { legacyAthenaColumnName } from '../attribution/billing-formats/legacy.ts';
import type { BillingFormat, ColumnType, TagKeys } from '../attribution/billing-formats.ts';
import type { BillingCsvTable } from '../engine/athena-run-layout.ts';
import { sqlIdentifier } from '../sql/sql-template.ts';
import { ManifestError } from './manifest.ts';

/*
 * A CSV delivery (legacy CUR without Athena integration: `<report>/<YYYYMMDD-YYYYMMDD>/<assembly>/*.csv.gz`)
 * is read through a table of the run's own, made for exactly this delivery: its columns are the
 * manifest's, in the manifest's order, which is the order of the files' header (a CSV SerDe reads by
 * position, and a report's columns change when tags or cost categories are activated, so no table
 * declared at deploy time can hold every delivery). prepare-run plans it as Athena DDL before the first
 * CTAS, over the folder of the delivery's files, read in the manifest's files only; cleanup drops it
 * with the run's other tables. The DDL needs no grant beyond the CTAS ones (`run_*` tables, the export's
 * prefix).
 */

/** An Athena column name: what the DDL and the SELECT list may name. */
const ATHENA_NAME = /^[a-z_][a-z0-9_]*$/;

/**
 * The columns of the files, as the run's table declares them: the manifest's columns in order, each by
 * its Athena name ({@link legacyAthenaColumnName}). A name that comes twice (two tag keys that differ
 * only in case or punctuation) keeps its place under a name of its own (`_2`, ...), so the columns after
 * it stay where the files have them; only the first is read.
 * @throws ManifestError for a column without a usable Athena name
 */
export function csvTableColumns(manifestColumns: readonly string[], key: string): string[] {
  const names = new Set<string>();
  return manifestColumns.map((column, index) => {
    const name = legacyAthenaColumnName(column).toLowerCase();
    if (!ATHENA_NAME.test(name)) {
      throw new ManifestError(
        `column ${index + 1} ${JSON.stringify(column)} has no Athena name (letters, digits and _)`,
        key,
      );
    }
    let unique = name;
    for (let n = 2; names.has(unique); n += 1) unique = `${name}_${n}`;
    names.add(unique);
    return unique;
  });
}

/** How a string column of the CSV is read as each type (empty means absent, as locally). */
const TYPED: Readonly<Record<Exclude<ColumnType, 'tag_map'>, (column: string) => string>> = {
  // Legacy CUR writes 2026-10-01T00:00:00Z: the UTC wall time, as the Parquet columns hold it.
  timestamp: (column) => `CAST(from_iso8601_timestamp(nullif(trim(${column}), '')) AS timestamp)`,
  double: (column) => `CAST(nullif(trim(${column}), '') AS double)`,
  varchar: (column) => `nullif(${column}, '')`,
};
const SQL_TYPES: Readonly<Record<Exclude<ColumnType, 'tag_map'>, string>> = {
  timestamp: 'timestamp',
  double: 'double',
  varchar: 'varchar',
};

/** Whether a format can be read from a CSV delivery: none of its columns is a map. */
export function readsCsv(format: BillingFormat, tags: TagKeys): boolean {
  return format.columns(tags).every((column) => column.type !== 'tag_map');
}

/**
 * The SELECT list that reads the run's CSV table as the format's Glue table would be read: every column
 * the format's SQL reads, typed, under its name; an optional column the files lack is a typed NULL.
 * @throws ManifestError when the files lack a required column
 */
export function csvSelectList(
  format: BillingFormat,
  tags: TagKeys,
  fileColumns: readonly string[],
  key: string,
): string {
  const present = new Set(fileColumns);
  return format
    .columns(tags)
    .map((column) => {
      if (column.type === 'tag_map')
        throw new Error(`${format.name}: ${column.name} is a map, not read from CSV`);
      const name = column.name.toLowerCase();
      const id = sqlIdentifier(name).sql;
      if (present.has(name)) return `${TYPED[column.type](id)} AS ${id}`;
      if (column.required) {
        throw new ManifestError(`lists no column ${name}, which a ${format.name} delivery must have`, key);
      }
      return `CAST(NULL AS ${SQL_TYPES[column.type]}) AS ${id}`;
    })
    .join(', ');
}

/**
 * The run's table over a CSV delivery: the manifest's columns, the one folder the files are in, and the
 * typed SELECT list.
 * @param files the delivery's files as `s3://` URIs, already checked (lib/pipeline/manifest.ts `deliveryDataFiles`)
 * @throws ManifestError when the manifest lists no columns, or files in more than one folder (the table
 *   has one location)
 */
export function csvDeliveryTable(
  format: BillingFormat,
  tags: TagKeys,
  manifestColumns: readonly string[],
  files: readonly string[],
  key: string,
): BillingCsvTable {
  if (manifestColumns.length === 0) {
    throw new ManifestError(
      'lists no columns: a CSV delivery is read in the column order its manifest gives',
      key,
    );
  }
  const folders = [...new Set(files.map((file) => file.slice(0, file.lastIndexOf('/') + 1)))];
  const [location] = folders;
  if (location === undefined || folders.length > 1) {
    throw new ManifestError(
      `lists CSV files in ${folders.length === 0 ? 'no' : 'more than one'} folder (${folders.slice(0, 3).join(', ')}): ` +
        "the run's table over them has one location",
      key,
    );
  }
  const columns = csvTableColumns(manifestColumns, key);
  return { columns, location, selectList: csvSelectList(format, tags, columns, key) };
}
