import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGunzip, gunzipSync } from 'node:zlib';
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
  if (lower.endsWith('.csv') || lower.endsWith('.csv.gz') || lower.endsWith('.csv.zip')) return 'csv';
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
    const problem =
      kind === 'parquet'
        ? `is not a valid Parquet file (${reason})`
        : `cannot be read as ${kind} (${reason})`;
    throw new InputError(problem, { file: files[0] as string });
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

/**
 * Refuses a `.gz` file that does not decompress to its end. The CSV reader gives a sniffer error, or
 * reads what is there and stops without a word, so the whole file is inflated here once (the CRC at
 * its end is the only proof it is whole).
 */
export async function checkGzip(file: string): Promise<void> {
  if (!file.toLowerCase().endsWith('.gz')) return;
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  try {
    await pipeline(createReadStream(file), createGunzip(), discard);
  } catch {
    throw new InputError('is not a valid gzip file (truncated or corrupt)', { file });
  }
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/**
 * Refuses the same data given twice among the files of one input (an export folder copied beside
 * itself, one file under two paths): every cost or quantity in it would count twice. Files are
 * compared by size, and only files of equal size by a sha256 of their content.
 */
export async function refuseDuplicateFiles(files: readonly string[]): Promise<void> {
  const bySize = new Map<number, string[]>();
  for (const file of files) {
    const size = statSync(file).size;
    bySize.set(size, [...(bySize.get(size) ?? []), file]);
  }
  for (const sameSize of bySize.values()) {
    if (sameSize.length < 2) continue;
    const byHash = new Map<string, string>();
    for (const file of sameSize) {
      const digest = await sha256Of(file);
      const earlier = byHash.get(digest);
      if (earlier !== undefined) {
        const problem =
          earlier === file
            ? 'is given twice (its data would be counted twice)'
            : `has the same content as ${earlier} (the same data would be counted twice)`;
        throw new InputError(problem, { file });
      }
      byHash.set(digest, file);
    }
  }
}
