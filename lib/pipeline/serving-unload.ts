import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import type { AthenaRunLayout } from '../engine/athena-run-layout.ts';
import { sqlString } from '../sql/sql-template.ts';
import { type CustomerDayRow, parseServingLine } from './serving-items.ts';

/*
 * The serving UNLOAD of load-serving-table: the SQL that writes a run's customer days as JSON lines,
 * and the reading of those files back (lambdas/README.md, "Choices": why UNLOAD to JSON).
 */

/** The UNLOAD of the run's customer_daily_cost for one period, as JSON lines. */
export function servingUnloadSql(layout: AthenaRunLayout, billingPeriod: string, location: string): string {
  return (
    'UNLOAD (\n' +
    '  SELECT customer_id, CAST(usage_date AS varchar) AS usage_date, customer_name, tier, plan_status, mrr,\n' +
    '    direct_cost, shared_cost, total_cost, rules_version\n' +
    `  FROM ${layout.tableRef('customer_daily_cost')}\n` +
    `  WHERE billing_period = ${sqlString(billingPeriod).sql}\n` +
    `) TO ${sqlString(location).sql}\n` +
    "WITH (format = 'JSON')"
  );
}

/** Every row of the UNLOAD output under `prefix`, file by file, line by line. */
export async function readServingRows(
  s3: S3Client,
  bucket: string,
  prefix: string,
): Promise<CustomerDayRow[]> {
  const keys: string[] = [];
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix })) {
    for (const object of page.Contents ?? []) {
      if (object.Key !== undefined && !object.Key.endsWith('/')) keys.push(object.Key);
    }
  }

  const rows: CustomerDayRow[] = [];
  for (const key of keys.sort()) {
    const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (Body === undefined) continue;
    let number = 0;
    for await (const line of ndjsonLines(Body)) {
      number++;
      if (line.trim() === '') continue;
      rows.push(parseServingLine(line, `s3://${bucket}/${key} line ${number}`));
    }
  }
  return rows;
}

/**
 * The lines of an S3 object body, gunzipped when it starts with the gzip magic bytes (the file name is
 * not relied on). Streams: memory holds one chunk and one line at a time.
 */
export async function* ndjsonLines(body: unknown): AsyncGenerator<string> {
  const source = await toReadable(body);
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const first = await iterator.next();
  if (first.done) return;
  const head = Buffer.from(first.value);
  const replay = async function* (): AsyncGenerator<Buffer> {
    yield head;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield Buffer.from(next.value);
    }
  };
  let stream: Readable = Readable.from(replay());
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const compressed = stream;
    const gunzip = createGunzip();
    compressed.on('error', (error) => gunzip.destroy(error));
    stream = compressed.pipe(gunzip);
  }
  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of stream) {
    pending += decoder.write(chunk as Buffer);
    let start = 0;
    for (let newline = pending.indexOf('\n'); newline !== -1; newline = pending.indexOf('\n', start)) {
      yield pending.slice(start, newline).replace(/\r$/, '');
      start = newline + 1;
    }
    pending = pending.slice(start);
  }
  pending += decoder.end();
  if (pending !== '') yield pending;
}

async function toReadable(body: unknown): Promise<Readable> {
  if (body instanceof Readable) return body;
  if (typeof body === 'object' && body !== null && 'transformToByteArray' in body) {
    const bytes = await (body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
    return Readable.from([Buffer.from(bytes)]);
  }
  if (typeof body === 'string' || body instanceof Uint8Array) return Readable.from([Buffer.from(body)]);
  throw new TypeError('S3 object body is neither a stream nor bytes');
}
