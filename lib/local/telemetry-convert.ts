import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { InputError } from '../inputs/input-error.ts';

/*
 * `cpc telemetry`: usage a team already has (a Prometheus / OpenMetrics text dump, or a CSV with its own
 * column names) written as the telemetry layout the product reads (docs/aws-pipeline.md "Getting
 * telemetry in"): `<out>/usage_day=YYYY-MM-DD/<source>/usage.json`, one object per (source, day), each
 * row `{usage_date, tenant_id, metric, quantity}` (docs/attribution.md 1.2). The folder is read by
 * `cpc run --telemetry <out>` as it is, and uploaded as it is under the telemetry prefix of the data
 * bucket. One object per (source, day) is what makes an upload repeatable: uploading the day again
 * replaces that object, it never adds to it.
 */

/** One usage row, summed per (day, tenant, metric) before it is written. */
export interface UsageRow {
  readonly usageDate: string;
  readonly tenantId: string;
  readonly metric: string;
  readonly quantity: number;
}

/** What a conversion read and left out, for the summary and its warnings. */
export interface ConvertedUsage {
  readonly rows: readonly UsageRow[];
  /** Samples or rows left out, by reason (e.g. `no tenant_id label`), with their count. */
  readonly skipped: Readonly<Record<string, number>>;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const SOURCE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** The UTC day of an epoch time in milliseconds. */
function dayOf(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

function checkQuantity(value: number, location: { file: string; column?: string; row: number }): number {
  if (!Number.isFinite(value)) throw new InputError(`${value} is not a finite quantity`, location);
  if (value < 0) throw new InputError(`${value} is negative: a quantity is 0 or more`, location);
  return value;
}

function checkDate(value: string, location: { file: string; column?: string; row: number }): string {
  const day = value.trim().slice(0, 10);
  if (!ISO_DATE.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`))) {
    throw new InputError(`"${value}" is not a date (YYYY-MM-DD)`, location);
  }
  return day;
}

/** A Prometheus label value: backslash escapes `\\`, `\"` and `\n`. */
function unescapeLabel(value: string): string {
  return value.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

// name{labels} value [timestamp]; the labels part is optional; a label value may hold `}` or `,`.
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[^"}]|"(?:[^"\\]|\\.)*")*)\})?\s+(\S+)(?:\s+(\S+))?\s*$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;

export interface PrometheusOptions {
  /** The label that names the tenant. @default 'tenant_id' */
  readonly tenantLabel?: string;
  /** The day of samples without a timestamp; without it such a sample is an error. */
  readonly date?: string;
  /** Metric names to keep, each to the name the rules use; empty: every metric under its own name. */
  readonly metrics?: Readonly<Record<string, string>>;
}

/**
 * The usage in a Prometheus text exposition or OpenMetrics dump: one row per sample that has the
 * tenant label, its value as that day's quantity (export per-day amounts, such as a recording rule of
 * `increase(...[1d])`: a cumulative counter's value is not a day's usage). The day is the sample's
 * timestamp (milliseconds in the Prometheus format; seconds in OpenMetrics, told by its `# EOF` line),
 * else `date`. Histogram buckets and summary quantiles (`le`, `quantile` labels) are not usage and are
 * left out, as are samples without the tenant label and, when `metrics` is given, other metrics.
 */
export function fromPrometheusText(
  text: string,
  file: string,
  options: PrometheusOptions = {},
): ConvertedUsage {
  const tenantLabel = options.tenantLabel ?? 'tenant_id';
  const metrics = options.metrics ?? {};
  const lines = text.split(/\r?\n/);
  const openMetrics = lines.some((line) => line.trim() === '# EOF');
  const rows: UsageRow[] = [];
  const skipped: Record<string, number> = {};
  const skip = (reason: string) => {
    skipped[reason] = (skipped[reason] ?? 0) + 1;
  };
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const location = { file, row: index + 1 };
    const sample = SAMPLE.exec(line);
    if (sample === null)
      throw new InputError(`not a sample line: ${JSON.stringify(line.slice(0, 80))}`, location);
    const [, name = '', labelText = '', valueText = '', timestampText] = sample;
    const labels = new Map<string, string>();
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < labelText.length) {
      const match = LABEL.exec(labelText);
      if (match === null) {
        if (labelText.slice(LABEL.lastIndex).trim() === '') break;
        throw new InputError(`bad labels in ${JSON.stringify(line.slice(0, 80))}`, location);
      }
      labels.set(match[1] as string, unescapeLabel(match[2] as string));
    }
    if (labels.has('le') || labels.has('quantile')) {
      skip('histogram bucket or summary quantile');
      continue;
    }
    const metric = Object.keys(metrics).length === 0 ? name : metrics[name];
    if (metric === undefined) {
      skip(`metric not asked for (${name})`);
      continue;
    }
    const tenantId = labels.get(tenantLabel)?.trim() ?? '';
    if (tenantId === '') {
      skip(`no ${tenantLabel} label`);
      continue;
    }
    const quantity = checkQuantity(Number(valueText), { ...location, column: name });
    let usageDate: string;
    if (timestampText !== undefined) {
      const stamp = Number(timestampText);
      if (!Number.isFinite(stamp)) throw new InputError(`"${timestampText}" is not a timestamp`, location);
      usageDate = dayOf(openMetrics ? stamp * 1000 : stamp);
    } else if (options.date !== undefined) {
      usageDate = options.date;
    } else {
      throw new InputError('the sample has no timestamp: give the day with --date', location);
    }
    rows.push({ usageDate, tenantId, metric, quantity });
  }
  return { rows, skipped };
}

export interface CsvColumns {
  /** @default 'usage_date' */
  readonly date?: string;
  /** @default 'tenant_id' */
  readonly tenant?: string;
  /** The column naming the metric; or `metric` for a file of one metric. @default 'metric' */
  readonly metricColumn?: string;
  /** The metric of every row, for a file without a metric column. */
  readonly metric?: string;
  /** @default 'quantity' */
  readonly quantity?: string;
}

/**
 * The usage in a CSV with a header whose columns are named in `columns` (a date or ISO timestamp, the
 * tenant, the metric or one metric for the whole file, the quantity); extra columns are ignored, a row
 * without a tenant is left out.
 */
export function fromCsv(text: string, file: string, columns: CsvColumns = {}): ConvertedUsage {
  const names = {
    date: columns.date ?? 'usage_date',
    tenant: columns.tenant ?? 'tenant_id',
    metric: columns.metricColumn ?? 'metric',
    quantity: columns.quantity ?? 'quantity',
  };
  const records = parse(text.replace(/^\uFEFF/, ''), { columns: true, skip_empty_lines: true }) as Record<
    string,
    string
  >[];
  const header = Object.keys(records[0] ?? {});
  const needed = [
    names.date,
    names.tenant,
    names.quantity,
    ...(columns.metric === undefined ? [names.metric] : []),
  ];
  for (const column of needed) {
    if (records.length > 0 && !header.includes(column)) {
      throw new InputError(`no such column (the header has ${header.join(', ')})`, { file, column });
    }
  }
  const rows: UsageRow[] = [];
  const skipped: Record<string, number> = {};
  records.forEach((record, index) => {
    const row = index + 1;
    const tenantId = (record[names.tenant] ?? '').trim();
    if (tenantId === '') {
      skipped[`no ${names.tenant}`] = (skipped[`no ${names.tenant}`] ?? 0) + 1;
      return;
    }
    const metric = columns.metric ?? (record[names.metric] ?? '').trim();
    if (metric === '') throw new InputError('empty metric', { file, column: names.metric, row });
    const quantityText = (record[names.quantity] ?? '').trim();
    const quantity = checkQuantity(quantityText === '' ? Number.NaN : Number(quantityText), {
      file,
      column: names.quantity,
      row,
    });
    const usageDate = checkDate(record[names.date] ?? '', { file, column: names.date, row });
    rows.push({ usageDate, tenantId, metric, quantity });
  });
  return { rows, skipped };
}

/** What {@link writeTelemetryLayout} wrote. */
export interface WrittenTelemetry {
  /** The files written, one per day, in day order. */
  readonly files: readonly string[];
  readonly days: number;
  readonly rows: number;
  readonly tenants: number;
  readonly metrics: readonly string[];
}

/**
 * Writes `rows` summed per (day, tenant, metric) as `<outDir>/usage_day=<day>/<source>/usage.json`,
 * one file per day. Refuses to replace a file that exists (a user's files are never overwritten: to
 * redo a day, write it to a new folder) and checks every file's place before writing any.
 */
export function writeTelemetryLayout(
  rows: readonly UsageRow[],
  source: string,
  outDir: string,
): WrittenTelemetry {
  if (!SOURCE.test(source)) {
    throw new InputError('must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit', {
      file: '--source',
    });
  }
  const sums = new Map<string, Map<string, number>>();
  for (const row of rows) {
    const day = sums.get(row.usageDate) ?? new Map<string, number>();
    const key = JSON.stringify([row.tenantId, row.metric]);
    day.set(key, (day.get(key) ?? 0) + row.quantity);
    sums.set(row.usageDate, day);
  }
  const days = [...sums.keys()].sort();
  const files = days.map((day) => join(outDir, `usage_day=${day}`, source, 'usage.json'));
  for (const file of files) {
    if (existsSync(file)) throw new InputError('exists already: it is not overwritten', { file });
  }
  days.forEach((day, index) => {
    const lines = [...(sums.get(day) ?? new Map<string, number>())]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, quantity]) => {
        const [tenantId, metric] = JSON.parse(key) as [string, string];
        return JSON.stringify({ usage_date: day, tenant_id: tenantId, metric, quantity });
      });
    const file = files[index] as string;
    mkdirSync(join(outDir, `usage_day=${day}`, source), { recursive: true });
    writeFileSync(file, `${lines.join('\n')}\n`, { flag: 'wx' });
  });
  return {
    files,
    days: days.length,
    rows: [...sums.values()].reduce((n, day) => n + day.size, 0),
    tenants: new Set(rows.map((r) => r.tenantId)).size,
    metrics: [...new Set(rows.map((r) => r.metric))].sort(),
  };
}

export interface TelemetryCommandOptions {
  readonly prometheus?: string;
  readonly csv?: string;
  readonly source: string;
  readonly outDir: string;
  readonly tenantLabel?: string;
  readonly date?: string;
  /** `from=to` pairs (Prometheus metric names to the rules' metric names). */
  readonly metricMaps?: readonly string[];
  readonly csvColumns?: CsvColumns;
}

/** `cpc telemetry`: converts one file and writes the layout; returns the summary text and its warnings. */
export function telemetryCommand(options: TelemetryCommandOptions): { text: string; warnings: string[] } {
  if ((options.prometheus === undefined) === (options.csv === undefined)) {
    throw new InputError('give exactly one of --prometheus <file> or --csv <file>', {
      file: 'cpc telemetry',
    });
  }
  if (options.date !== undefined) checkDate(options.date, { file: '--date', row: 1 });
  const metrics: Record<string, string> = {};
  for (const pair of options.metricMaps ?? []) {
    const [from, to] = pair.split('=');
    if (!from || !to) throw new InputError(`"${pair}" is not from=to`, { file: '--metric' });
    metrics[from] = to;
  }
  const file = (options.prometheus ?? options.csv) as string;
  const text = readFileSync(file, 'utf8');
  const converted =
    options.prometheus !== undefined
      ? fromPrometheusText(text, file, {
          metrics,
          ...(options.tenantLabel === undefined ? {} : { tenantLabel: options.tenantLabel }),
          ...(options.date === undefined ? {} : { date: options.date }),
        })
      : fromCsv(text, file, options.csvColumns);
  if (converted.rows.length === 0) {
    const why = Object.entries(converted.skipped).map(([reason, n]) => `${n} ${reason}`);
    throw new InputError(`no usage to write${why.length > 0 ? ` (left out: ${why.join('; ')})` : ''}`, {
      file,
    });
  }
  const written = writeTelemetryLayout(converted.rows, options.source, options.outDir);
  const warnings = Object.entries(converted.skipped).map(
    ([reason, n]) => `${file}: ${n} ${n === 1 ? 'sample or row' : 'samples or rows'} left out: ${reason}`,
  );
  const text_ = [
    `Wrote ${written.rows} usage rows (${written.tenants} tenants; metrics ${written.metrics.join(', ')}) for ${written.days} day(s), source ${options.source}, under ${options.outDir}`,
    `Run on them: cpc run --telemetry ${options.outDir} ...`,
    `Upload them: aws s3 cp --recursive ${options.outDir} s3://<DataBucketName>/telemetry/`,
  ].join('\n');
  return { text: text_, warnings };
}
