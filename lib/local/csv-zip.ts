import { closeSync, createReadStream, createWriteStream, fstatSync, openSync, readSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createInflateRaw } from 'node:zlib';
import { InputError } from '../inputs/input-error.ts';

/*
 * The one CSV inside a legacy CUR `.csv.zip` delivery, unpacked for the engine (DuckDB reads no zip).
 * A minimal reader of the zip format (PKWARE APPNOTE): the central directory's single file entry,
 * stored or deflated, ZIP64 sizes and offsets included, its CRC-32 checked. No library needed: the
 * entry is streamed through zlib's raw inflate.
 */

const EOCD = 0x06054b50;
const EOCD64_LOCATOR = 0x07064b50;
const EOCD64 = 0x06064b50;
const CENTRAL_ENTRY = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
const MAX16 = 0xffff;
const MAX32 = 0xffffffff;

function readAt(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const read = readSync(fd, buffer, 0, length, position);
  return buffer.subarray(0, read);
}

const u64 = (buffer: Buffer, at: number) => Number(buffer.readBigUInt64LE(at));

interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly crc: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
}

/** The file entries of a zip's central directory (folders and macOS resource forks left out). */
function centralEntries(zip: string, fd: number): ZipEntry[] {
  const fileSize = fstatSync(fd).size;
  const tailLength = Math.min(fileSize, 22 + MAX16);
  const tail = readAt(fd, fileSize - tailLength, tailLength);
  let eocd = -1;
  for (let at = tail.length - 22; at >= 0; at--) {
    if (tail.readUInt32LE(at) === EOCD) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw new InputError('is not a valid zip file (no end of central directory)', { file: zip });
  let count = tail.readUInt16LE(eocd + 10);
  let directorySize = tail.readUInt32LE(eocd + 12);
  let directoryOffset = tail.readUInt32LE(eocd + 16);
  const locator = eocd - 20;
  if (locator >= 0 && tail.readUInt32LE(locator) === EOCD64_LOCATOR) {
    const record = readAt(fd, u64(tail, locator + 8), 56);
    if (record.length === 56 && record.readUInt32LE(0) === EOCD64) {
      count = u64(record, 32);
      directorySize = u64(record, 40);
      directoryOffset = u64(record, 48);
    }
  }
  const directory = readAt(fd, directoryOffset, directorySize);
  const entries: ZipEntry[] = [];
  let at = 0;
  for (let index = 0; index < count; index++) {
    if (at + 46 > directory.length || directory.readUInt32LE(at) !== CENTRAL_ENTRY) {
      throw new InputError('is not a valid zip file (broken central directory)', { file: zip });
    }
    const nameLength = directory.readUInt16LE(at + 28);
    const extraLength = directory.readUInt16LE(at + 30);
    const commentLength = directory.readUInt16LE(at + 32);
    const name = directory.toString('utf8', at + 46, at + 46 + nameLength);
    let compressedSize = directory.readUInt32LE(at + 20);
    let size = directory.readUInt32LE(at + 24);
    let localHeaderOffset = directory.readUInt32LE(at + 42);
    // ZIP64: the fields that overflow 32 bits are in the 0x0001 extra field, in this order.
    const extra = directory.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength);
    for (let e = 0; e + 4 <= extra.length; ) {
      const id = extra.readUInt16LE(e);
      const length = extra.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let field = e + 4;
        if (size === MAX32) [size, field] = [u64(extra, field), field + 8];
        if (compressedSize === MAX32) [compressedSize, field] = [u64(extra, field), field + 8];
        if (localHeaderOffset === MAX32) localHeaderOffset = u64(extra, field);
      }
      e += 4 + length;
    }
    if (!name.endsWith('/') && !name.startsWith('__MACOSX/')) {
      entries.push({
        name,
        method: directory.readUInt16LE(at + 10),
        crc: directory.readUInt32LE(at + 16),
        compressedSize,
        size,
        localHeaderOffset,
      });
    }
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/**
 * Unpacks the single CSV of a `.csv.zip` into `folder` and returns its path (named after the zip).
 * @throws InputError when the zip is not readable, holds other than one CSV file, is encrypted or
 *   compressed other than by deflate, or its CSV does not match its CRC
 */
export async function unzipSingleCsv(zip: string, folder: string): Promise<string> {
  const fd = openSync(zip, 'r');
  let entry: ZipEntry;
  let dataStart: number;
  try {
    const entries = centralEntries(zip, fd);
    if (entries.length !== 1 || !/\.csv$/i.test(entries[0]?.name ?? '')) {
      throw new InputError(
        `holds ${entries.length === 1 ? `${entries[0]?.name}` : `${entries.length} files`}, not the one .csv a legacy CUR zip holds`,
        { file: zip },
      );
    }
    entry = entries[0] as ZipEntry;
    if (entry.method !== 0 && entry.method !== 8) {
      throw new InputError(
        `compresses ${entry.name} with zip method ${entry.method}, which cpc does not read (stored or deflate only): unzip it`,
        { file: zip },
      );
    }
    const header = readAt(fd, entry.localHeaderOffset, 30);
    if (header.length < 30 || header.readUInt32LE(0) !== LOCAL_HEADER) {
      throw new InputError('is not a valid zip file (broken local header)', { file: zip });
    }
    if ((header.readUInt16LE(6) & 1) === 1) {
      throw new InputError('is an encrypted zip, which cpc does not read: unzip it', { file: zip });
    }
    dataStart = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  } finally {
    closeSync(fd);
  }
  const target = join(folder, `${basename(zip).replace(/\.zip$/i, '')}`);
  let crc = 0;
  let size = 0;
  const check = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      crc = crc32(chunk, crc);
      size += chunk.length;
      done(null, chunk);
    },
  });
  const source =
    entry.compressedSize === 0
      ? Readable.from([])
      : createReadStream(zip, { start: dataStart, end: dataStart + entry.compressedSize - 1 });
  try {
    await pipeline(
      source,
      entry.method === 8 ? createInflateRaw() : new PassThrough(),
      check,
      createWriteStream(target),
    );
  } catch {
    throw new InputError(`is not a valid zip file (${entry.name} is truncated or corrupt)`, { file: zip });
  }
  if (crc !== entry.crc || size !== entry.size) {
    throw new InputError(`is not a valid zip file (${entry.name} does not match its checksum)`, {
      file: zip,
    });
  }
  return target;
}
