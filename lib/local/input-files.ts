import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { constants, gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { glob, isDynamicPattern } from 'tinyglobby';
import type { DuckDbEngine } from '../engine/duckdb-engine.ts';
import { DUPLICATE_COLUMN, duplicateColumn } from '../inputs/customers.ts';
import { InputError } from '../inputs/input-error.ts';
import { sqlString } from '../sql/sql-template.ts';

export type FileKind = 'parquet' | 'csv' | 'ndjson';

const DATA_FILE = /\.(parquet|csv|csv\.gz|ndjson|jsonl|json)$/i;
/** Export manifests sit beside the data (CUR 2.0 `metadata/`, legacy `*-Manifest.json`) and are not data. */
const MANIFEST = /(^|\/)metadata\/|manifest\.json$/i;

export function fileKind(file: string): FileKind {
  const lower = file.toLowerCase();
  if (lower.endsWith('.parquet')) return 'parquet';
  if (lower.endsWith('.csv') || lower.endsWith('.csv.gz')) return 'csv';
  if (lower.endsWith('.ndjson') || lower.endsWith('.jsonl') || lower.endsWith('.json')) return 'ndjson';
  throw new InputError('unsupported file type (expected .parquet, .csv, .csv.gz, .ndjson or .jsonl)', {
    file,
  });
}

/**
 * Expands one path, directory or glob into data files, sorted so runs are repeatable. A directory
 * means every data file below it (an export folder can be given as is).
 */
export async function expandInput(pathOrGlob: string, what: string): Promise<string[]> {
  let files: string[];
  if (isDynamicPattern(pathOrGlob)) {
    files = await glob(pathOrGlob, { absolute: true, onlyFiles: true });
  } else {
    const stats = statSync(pathOrGlob, { throwIfNoEntry: false });
    if (!stats) throw new InputError(`${what} not found`, { file: pathOrGlob });
    files = stats.isDirectory()
      ? await glob('**/*', { cwd: pathOrGlob, absolute: true, onlyFiles: true })
      : [resolve(pathOrGlob)];
  }
  const dataFiles = files.filter((file) => DATA_FILE.test(file) && !MANIFEST.test(file)).sort();
  if (dataFiles.length === 0) throw new InputError(`no ${what} files found`, { file: pathOrGlob });
  return dataFiles;
}

/** The one kind shared by all files of an input; mixing kinds in one input is refused. */
export function commonKind(files: readonly string[]): FileKind {
  const kinds = new Set(files.map(fileKind));
  if (kinds.size > 1) {
    throw new InputError(`mixes file types (${[...kinds].join(', ')}); give one type per input`, {
      file: files[0] as string,
    });
  }
  return fileKind(files[0] as string);
}

function fileList(files: readonly string[]): string {
  return `[${files.map((file) => sqlString(file).sql).join(', ')}]`;
}

/**
 * A DuckDB table function reading files of one kind. Text formats are read as text (all_varchar; NDJSON
 * typed from the whole file) so that this program, not a sniffer, decides what a bad value is and says so.
 */
export function readerSql(files: readonly string[], kind: FileKind): string {
  const list = fileList(files);
  switch (kind) {
    case 'parquet':
      return `read_parquet(${list}, union_by_name = true)`;
    case 'csv':
      return `read_csv(${list}, header = true, all_varchar = true, union_by_name = true, nullstr = ['', 'NULL'])`;
    case 'ndjson':
      return `read_json(${list}, format = 'newline_delimited', union_by_name = true, sample_size = -1)`;
  }
}

/**
 * One file with `source_row`, its 1-based data row (the header is not a row), for locating a problem.
 * Reads serially and must run on a single-threaded engine: the error path only.
 */
export function numberedReaderSql(file: string, kind: FileKind): string {
  const list = fileList([file]);
  if (kind === 'parquet') {
    return `(SELECT file_row_number + 1 AS source_row, * FROM read_parquet(${list}, file_row_number = true))`;
  }
  const reader =
    kind === 'csv'
      ? `read_csv(${list}, header = true, all_varchar = true, nullstr = ['', 'NULL'], parallel = false)`
      : `read_json(${list}, format = 'newline_delimited', sample_size = -1)`;
  return `(SELECT row_number() OVER () AS source_row, * FROM ${reader})`;
}

export interface FileColumn {
  readonly name: string;
  readonly type: string;
}

/** Column names and DuckDB types of files read together; errors name the first file. */
export async function describeColumns(
  engine: DuckDbEngine,
  files: readonly string[],
  kind: FileKind,
): Promise<FileColumn[]> {
  try {
    const rows = await engine.query(`DESCRIBE SELECT * FROM ${readerSql(files, kind)}`);
    return rows.map((row) => ({ name: String(row.column_name), type: String(row.column_type) }));
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new InputError(`cannot be read as ${kind} (${reason})`, { file: files[0] as string });
  }
}

/** Enough of a file's start to hold its header line. */
const HEAD_BYTES = 1 << 20;

function fileHead(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(HEAD_BYTES);
    return buffer.subarray(0, readSync(fd, buffer, 0, HEAD_BYTES, 0));
  } finally {
    closeSync(fd);
  }
}

/**
 * Refuses a CSV whose header names a column twice. The engine would rename the second one and read
 * the first, so one of the two would be used without a word; the header is read here, not by DuckDB.
 */
export function checkCsvHeader(file: string): void {
  let head = fileHead(file);
  if (file.toLowerCase().endsWith('.gz')) {
    try {
      // Only the start of the file is read: a sync flush inflates what is there without the end.
      head = gunzipSync(head, { finishFlush: constants.Z_SYNC_FLUSH });
    } catch {
      return; // not gzip at all: the reader says so
    }
  }
  const text = head.toString('utf8');
  const newline = text.indexOf('\n');
  let header: string[] | undefined;
  try {
    [header] = parse(newline < 0 ? text : text.slice(0, newline), {
      bom: true,
      relax_quotes: true,
      to_line: 1,
    });
  } catch {
    return; // an unreadable header is reported by the reader
  }
  const duplicate = header ? duplicateColumn(header) : undefined;
  if (duplicate !== undefined) throw new InputError(DUPLICATE_COLUMN, { file, column: duplicate });
}
