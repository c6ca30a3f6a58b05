import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import type { AthenaRunLayout } from '../engine/athena-run-layout.ts';
import { sqlIdentifier, sqlString } from '../sql/sql-template.ts';

/*
 * The serving UNLOADs of load-serving-table: the SQL that computes, in Athena, what a run changes in
 * the serving table (lambdas/README.md, "Choices": why UNLOAD to JSON), and the streaming of those
 * files back. The SELECTs are portable (DuckDB and Trino run them in the tests); only the UNLOAD
 * wrapper is Athena's.
 */

/** Where the two sides of the diff are, as SQL references. */
export interface ServingDiffTables {
  /** The run's own customer_daily_cost (its CTAS table). */
  readonly run: string;
  /** The table of every published run's customer_daily_cost, partitioned by billing_period and run_id. */
  readonly runs: string;
}

/** The tables of the diff in Athena: the run's CTAS table and `<db>.customer_daily_cost_runs`. */
export function servingDiffTables(layout: AthenaRunLayout): ServingDiffTables {
  return {
    run: layout.tableRef('customer_daily_cost'),
    runs: `${sqlIdentifier(layout.database).sql}.${sqlIdentifier('customer_daily_cost_runs').sql}`,
  };
}

const DAY_COLUMNS =
  'customer_id, CAST(usage_date AS varchar) AS usage_date, customer_name, tier, plan_status, mrr,' +
  ' direct_cost, shared_cost, total_cost, rules_version';

// Written values as the serving table stores them: money rounded like servingNumber, text as is.
const CHANGED = [
  ...['direct_cost', 'shared_cost', 'total_cost', 'mrr'].map(
    (c) => `round(r.${c}, 8) IS DISTINCT FROM round(v.${c}, 8)`,
  ),
  ...['customer_name', 'tier', 'plan_status', 'rules_version'].map((c) => `r.${c} IS DISTINCT FROM v.${c}`),
].join('\n    OR ');

/**
 * The customer-days of the run whose written values differ from the visible run's (or that the
 * visible run does not have), plus a tombstone (`deleted = true`, no values) for each customer-day the
 * visible run has and this run does not. With no visible run every day is new.
 * Columns: customer_id, usage_date (YYYY-MM-DD), the dimension fields, the three costs, deleted.
 */
export function servingDaysSelect(
  tables: ServingDiffTables,
  billingPeriod: string,
  visibleRunId: string | null,
): string {
  const period = sqlString(billingPeriod).sql;
  const runDays = `SELECT ${DAY_COLUMNS}\n  FROM ${tables.run}\n  WHERE billing_period = ${period}`;
  if (visibleRunId === null) {
    return `SELECT ${DAY_COLUMNS}, false AS deleted\n  FROM ${tables.run}\n  WHERE billing_period = ${period}`;
  }
  return (
    `WITH run_days AS (\n  ${runDays}\n),\n` +
    `visible_days AS (\n  SELECT ${DAY_COLUMNS}\n  FROM ${tables.runs}\n` +
    `  WHERE billing_period = ${period} AND run_id = ${sqlString(visibleRunId).sql}\n)\n` +
    'SELECT r.customer_id, r.usage_date, r.customer_name, r.tier, r.plan_status, r.mrr,\n' +
    '  r.direct_cost, r.shared_cost, r.total_cost, r.rules_version, false AS deleted\n' +
    'FROM run_days r\n' +
    'LEFT JOIN visible_days v ON v.customer_id = r.customer_id AND v.usage_date = r.usage_date\n' +
    `WHERE v.customer_id IS NULL\n    OR ${CHANGED}\n` +
    'UNION ALL\n' +
    'SELECT v.customer_id, v.usage_date, CAST(NULL AS varchar), CAST(NULL AS varchar),\n' +
    '  CAST(NULL AS varchar), CAST(NULL AS double), CAST(NULL AS double), CAST(NULL AS double),\n' +
    '  CAST(NULL AS double), CAST(NULL AS varchar), true\n' +
    'FROM visible_days v\n' +
    'LEFT JOIN run_days r ON r.customer_id = v.customer_id AND r.usage_date = v.usage_date\n' +
    'WHERE r.customer_id IS NULL'
  );
}

/**
 * Every customer's month to date in the run (all written under the run's version, so that a version's
 * listing by cost is complete): the sums, the days with cost, and the dimension fields of the
 * customer's latest day (joined back, rather than `max_by`, whose NULL handling differs between
 * DuckDB and Trino).
 */
export function servingMonthsSelect(tables: Pick<ServingDiffTables, 'run'>, billingPeriod: string): string {
  const period = sqlString(billingPeriod).sql;
  return (
    `WITH days AS (\n  SELECT ${DAY_COLUMNS}\n  FROM ${tables.run}\n  WHERE billing_period = ${period}\n),\n` +
    'totals AS (\n' +
    '  SELECT customer_id, sum(direct_cost) AS direct_cost, sum(shared_cost) AS shared_cost,\n' +
    '    sum(total_cost) AS total_cost, count(*) AS days_with_cost,\n' +
    '    min(usage_date) AS first_usage_date, max(usage_date) AS last_usage_date\n' +
    '  FROM days GROUP BY customer_id\n' +
    ')\n' +
    'SELECT t.customer_id, t.direct_cost, t.shared_cost, t.total_cost, t.days_with_cost,\n' +
    '  t.first_usage_date, t.last_usage_date,\n' +
    '  d.customer_name, d.tier, d.plan_status, d.mrr, d.rules_version\n' +
    'FROM totals t\n' +
    'JOIN days d ON d.customer_id = t.customer_id AND d.usage_date = t.last_usage_date'
  );
}

/** An Athena UNLOAD of `select` as gzip-compressed JSON lines into `location` (an empty folder). */
export function unloadSql(select: string, location: string): string {
  return `UNLOAD (\n${select}\n) TO ${sqlString(location).sql}\nWITH (format = 'JSON', compression = 'GZIP')`;
}

/** The keys of the UNLOAD output under `prefix`, in name order. */
export async function listUnloadFiles(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix })) {
    for (const object of page.Contents ?? []) {
      if (object.Key !== undefined && !object.Key.endsWith('/')) keys.push(object.Key);
    }
  }
  return keys.sort();
}

/**
 * The non-empty lines of every UNLOAD file under `prefix`, file by file, each with where it came from
 * (for errors). Streams: one object body is open at a time and memory holds one chunk and one line.
 */
export async function* unloadLines(
  s3: S3Client,
  bucket: string,
  prefix: string,
): AsyncGenerator<{ readonly line: string; readonly where: string }> {
  for (const key of await listUnloadFiles(s3, bucket, prefix)) {
    const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (Body === undefined) continue;
    let number = 0;
    for await (const line of ndjsonLines(Body)) {
      number++;
      if (line.trim() !== '') yield { line, where: `s3://${bucket}/${key} line ${number}` };
    }
  }
}

/**
 * The lines of an S3 object body, gunzipped when it starts with the gzip magic bytes (the file name is
 * not relied on). Streams: memory holds one chunk and one line at a time.
 */
export async function* ndjsonLines(body: unknown): AsyncGenerator<string> {
  const source = toReadable(body);
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

/**
 * The body as a stream. The SDK's Node body is a Readable; a web stream is read as one (never whole
 * into memory, which `transformToByteArray` would do).
 */
function toReadable(body: unknown): Readable {
  if (body instanceof Readable) return body;
  if (typeof body === 'string' || body instanceof Uint8Array) return Readable.from([Buffer.from(body)]);
  if (typeof body === 'object' && body !== null && Symbol.asyncIterator in body) {
    return Readable.from(body as AsyncIterable<Uint8Array>);
  }
  throw new TypeError('S3 object body is neither a stream nor bytes');
}
