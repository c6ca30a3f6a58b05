import * as z from 'zod';
import { legacyAthenaColumnName } from '../attribution/billing-formats/legacy.ts';
import {
  BILLING_FORMAT_LIST,
  type BillingFormat,
  type BillingFormatName,
  detectFormat,
  formatForManifestKind,
  type ManifestKind,
} from '../attribution/billing-formats.ts';
import { isBillingFileUri } from '../engine/athena-run-layout.ts';
import {
  billingPeriodFromPath,
  billingPeriodFromStart,
  CUR2_PERIOD_FOLDER,
  LEGACY_RANGE_FOLDER,
} from '../inputs/cur-manifest.ts';

/** Where an object is in S3. */
export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

/** The part of a CUR manifest the pipeline needs, the same for every manifest kind. */
export interface ParsedManifest {
  /** Which kind of manifest it is, told by its content. */
  readonly kind: ManifestKind;
  /**
   * The billing format of the delivery: among the registry's formats delivered by this manifest kind,
   * the one its `columns` list is ({@link detectFormat} on their Athena names: `cur2` or `focus` for an AWS
   * Data Exports manifest, `legacy` for a legacy CUR manifest); the kind's first format when the manifest
   * lists no columns or none of the kind's formats is recognised in them.
   */
  readonly format: BillingFormatName;
  /**
   * The data files' columns in file order, as the manifest lists them: a Data Exports column's `name`
   * (`line_item_usage_start_date`, `BilledCost`), a legacy CUR column's `category/name`
   * (`lineItem/UsageStartDate`, the CSV header). Empty when the manifest lists none.
   */
  readonly columns: readonly string[];
  /**
   * What the data files are, by their names: `parquet` (`.parquet`), or `csv` (`.csv`, `.csv.gz`, the
   * legacy CSV delivery); `parquet` for a delivery without files.
   */
  readonly fileFormat: DeliveryFileFormat;
  /** The billing period the delivery covers, `YYYY-MM`. */
  readonly billingPeriod: string;
  /** Identifies one delivery: `executionId` (CUR 2.0) or `assemblyId` (legacy CUR). */
  readonly executionId: string;
  /** Every data file of the delivery, without duplicates, in manifest order. */
  readonly dataFiles: readonly S3Location[];
}

/** What a delivery's data files are (see {@link ParsedManifest.fileFormat}). */
export type DeliveryFileFormat = 'parquet' | 'csv';

/**
 * A manifest that cannot be used: not JSON, not a CUR manifest, or missing a field the run needs. The
 * message names the manifest key and the problem. Retrying will not help; the delivery needs a look.
 */
export class ManifestError extends Error {
  override readonly name = 'ManifestError';
  readonly key: string;

  constructor(problem: string, key: string) {
    super(`manifest ${key}: ${problem}`);
    this.key = key;
  }
}

const MANIFEST_SUFFIX = '-Manifest.json';

/**
 * Where AWS Data Exports writes the manifest of a billing period (docs/aws-pipeline.md, step 1):
 * `<prefix>/<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json`.
 */
export function cur2ManifestKey(prefix: string, exportName: string, billingPeriod: string): string {
  return `${prefix}/${exportName}/metadata/BILLING_PERIOD=${billingPeriod}/${exportName}${MANIFEST_SUFFIX}`;
}

/**
 * Where each manifest kind is written under the export's folder (`<curPrefix>/<export>/`), as an
 * object-key pattern: what prepare-run must read to date a delivery of that kind.
 */
export const MANIFEST_KEY_PATTERNS: Readonly<Record<ManifestKind, string>> = {
  'data-exports': 'metadata/*',
  // <report>/<YYYYMMDD-YYYYMMDD>/<report>-Manifest.json, directly under the report's folder.
  'legacy-cur': '*',
};

/**
 * Where each manifest kind's data files are under the export's folder, as an object-key pattern: what a
 * run reads ({@link exportDataFolder} checks each listed file against the folder of its delivery).
 */
export const DATA_KEY_PATTERNS: Readonly<Record<ManifestKind, string>> = {
  'data-exports': 'data/*',
  // <report>/<report>/year=YYYY/month=M/ (Athena integration) and <report>/<YYYYMMDD-YYYYMMDD>/... (CSV).
  'legacy-cur': '*',
};

/**
 * Which kind of manifest a (URL-decoded) object key is, from its place in the export layout:
 * - CUR 2.0: `<prefix>/<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json`; one extra
 *   folder after the billing period is allowed for exports that keep a copy per delivery.
 * - legacy CUR: `<prefix>/<report>/<YYYYMMDD-YYYYMMDD>/<report>-Manifest.json` or
 *   `<prefix>/<report>/<report>-Manifest.json`. The copy inside the assembly folder
 *   (`.../<YYYYMMDD-YYYYMMDD>/<assemblyId>/<report>-Manifest.json`) is not matched: the dated folder's
 *   copy describes the same delivery, so one of the two is enough to trigger a run.
 *
 * @returns `undefined` for any other key, including data files and unrelated `-Manifest.json` objects.
 */
export function manifestKeyKind(key: string): ManifestKind | undefined {
  const segments = key.split('/');
  const file = segments.at(-1) ?? '';
  if (!file.endsWith(MANIFEST_SUFFIX) || file.length === MANIFEST_SUFFIX.length) return undefined;
  const name = file.slice(0, -MANIFEST_SUFFIX.length);
  const parent = (depth: number): string | undefined => segments.at(-1 - depth);

  for (const depth of [1, 2]) {
    const period = parent(depth);
    if (period !== undefined && CUR2_PERIOD_FOLDER.test(period) && parent(depth + 1) === 'metadata') {
      return 'data-exports';
    }
  }
  if (parent(1) === name) return 'legacy-cur';
  if (LEGACY_RANGE_FOLDER.test(parent(1) ?? '') && parent(2) === name) return 'legacy-cur';
  return undefined;
}

/** The billing format a manifest key delivers ({@link manifestKeyKind}, then the registry). */
export function manifestKeyFormat(key: string): BillingFormatName | undefined {
  const kind = manifestKeyKind(key);
  return kind === undefined ? undefined : formatOf(kind);
}

function formatOf(kind: ManifestKind): BillingFormatName | undefined {
  return formatForManifestKind(kind)?.name as BillingFormatName | undefined;
}

/** Whether an S3 key (URL-decoded, as `decodeURIComponent` of the event key with `+` as space) is a CUR manifest. */
export function isManifestKey(key: string): boolean {
  return manifestKeyFormat(key) !== undefined;
}

const nonEmpty = z.string().trim().min(1);
/** A column of the manifest: `{ name, type }` (Data Exports) or `{ category, name, type }` (legacy CUR). */
const columnSchema = z.object({ name: nonEmpty, category: nonEmpty.optional() }).loose();
const periodSchema = z.union([
  z.object({ start: nonEmpty, end: z.string().optional() }),
  // Accepted in case a manifest states the period as a plain string; the start is all that is read.
  nonEmpty,
]);

/**
 * How each manifest kind is read: which fields identify the delivery and list its files. Unknown
 * fields (columns, compression, exportArn, ...) are accepted and ignored.
 */
interface ManifestReader {
  readonly kind: ManifestKind;
  readonly label: string;
  readonly idField: string;
  readonly filesField: string;
  recognises(fields: Record<string, unknown>): boolean;
  readonly schema: z.ZodType<{
    id: string;
    files: string[];
    billingPeriod?: z.infer<typeof periodSchema>;
    bucket?: string;
    columns: string[];
  }>;
}

function manifestReader(
  kind: ManifestKind,
  label: string,
  idField: string,
  filesField: string,
): ManifestReader {
  return {
    kind,
    label,
    idField,
    filesField,
    recognises: (fields) => idField in fields || filesField in fields,
    schema: z
      .object({
        [idField]: nonEmpty,
        [filesField]: z.array(nonEmpty),
        billingPeriod: periodSchema.optional(),
        bucket: nonEmpty.optional(),
        columns: z.array(columnSchema).optional(),
      })
      .transform((manifest) => ({
        id: manifest[idField] as string,
        files: manifest[filesField] as string[],
        billingPeriod: manifest.billingPeriod as z.infer<typeof periodSchema> | undefined,
        bucket: manifest.bucket as string | undefined,
        columns: ((manifest.columns ?? []) as z.infer<typeof columnSchema>[]).map((column) =>
          column.category === undefined ? column.name : `${column.category}/${column.name}`,
        ),
      })),
  };
}

/**
 * The manifest kinds, told by content, not by key, so that a manifest in an unusual place still
 * parses. CUR 2.0 `dataFiles` are `s3://bucket/key` URIs; legacy `reportKeys` are keys in the
 * manifest's `bucket`.
 */
const MANIFEST_READERS: readonly ManifestReader[] = [
  manifestReader('data-exports', 'CUR 2.0', 'executionId', 'dataFiles'),
  manifestReader('legacy-cur', 'legacy CUR', 'assemblyId', 'reportKeys'),
];

const BUCKET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/;

function issuesText(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

/**
 * Reads an AWS Data Exports (CUR 2.0, FOCUS 1.0) or legacy CUR manifest.
 *
 * The kind is told by content (`executionId`/`dataFiles` or `assemblyId`/`reportKeys`), not by key, and
 * the format by the `columns` list (see {@link ParsedManifest.format}), so a
 * manifest in an unusual place still parses. CUR 2.0 `dataFiles` are `s3://bucket/key` URIs; legacy
 * `reportKeys` are keys in the manifest's `bucket`. Entries without a bucket of their own fall back to the
 * manifest's `bucket` field, then to `defaultBucket` (the bucket the manifest was read from).
 *
 * @param text the manifest's JSON text
 * @param key the manifest's object key, named in errors and used to cross-check the billing period
 * @param defaultBucket bucket for data files whose location names none
 * @throws ManifestError when the text is not a usable manifest
 */
export function parseManifest(text: string, key: string, defaultBucket?: string): ParsedManifest {
  if (text.trim() === '') throw new ManifestError('is empty', key);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error: unknown) {
    throw new ManifestError(
      `is not valid JSON (${error instanceof Error ? error.message : String(error)})`,
      key,
    );
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ManifestError('is not a JSON object', key);
  }

  const fields = json as Record<string, unknown>;
  const reader = MANIFEST_READERS.find((candidate) => candidate.recognises(fields));
  if (reader === undefined) {
    throw new ManifestError(
      `is neither ${MANIFEST_READERS.map((r) => `a ${r.label} manifest (${r.idField}, ${r.filesField})`).join(' nor ')}`,
      key,
    );
  }
  const parsed = reader.schema.safeParse(json);
  if (!parsed.success) {
    throw new ManifestError(`is not a valid ${reader.label} manifest: ${issuesText(parsed.error)}`, key);
  }
  const format = deliveredFormat(reader, parsed.data.columns, key);
  const executionId = parsed.data.id;
  const entries = parsed.data.files;
  const manifestBucket = parsed.data.bucket;
  const period = parsed.data.billingPeriod;

  const fromKey = billingPeriodFromPath(key);
  let billingPeriod: string | undefined;
  if (period !== undefined) {
    const start = typeof period === 'string' ? period : period.start;
    billingPeriod = billingPeriodFromStart(start);
    if (billingPeriod === undefined) {
      throw new ManifestError(
        `billingPeriod start "${start}" is not the start of a month (expected e.g. 20261001T000000.000Z or 2026-10-01T00:00:00.000Z)`,
        key,
      );
    }
    if (fromKey !== undefined && fromKey !== billingPeriod) {
      throw new ManifestError(
        `billingPeriod ${billingPeriod} does not match the key's folder (${fromKey})`,
        key,
      );
    }
  } else {
    billingPeriod = fromKey;
  }
  if (billingPeriod === undefined) {
    throw new ManifestError('has no billingPeriod and its key names no billing period folder', key);
  }

  const fallbackBucket = manifestBucket ?? defaultBucket;
  const seen = new Set<string>();
  const dataFiles: S3Location[] = [];
  for (const [index, entry] of entries.entries()) {
    const location = dataFileLocation(entry, fallbackBucket);
    if (typeof location === 'string') {
      throw new ManifestError(`${reader.filesField}[${index}] "${entry}" ${location}`, key);
    }
    const id = `${location.bucket}/${location.key}`;
    if (!seen.has(id)) {
      seen.add(id);
      dataFiles.push(location);
    }
  }

  const fileFormat = deliveryFileFormat(dataFiles, key);
  return {
    kind: reader.kind,
    format,
    columns: parsed.data.columns,
    fileFormat,
    billingPeriod,
    executionId,
    dataFiles,
  };
}

/**
 * The format of a delivery: of the formats its manifest kind delivers, the one its column names are
 * (by each format's own detection, on the names as Athena writes them), so that a FOCUS export and a
 * CUR 2.0 export, which share a manifest kind, are told apart by content, and a new format needs only
 * its descriptor. A manifest without a column list, or with columns none of the kind's formats is
 * recognised by (a CUR 2.0 export without tag columns), delivers the kind's first format, as before
 * formats were told apart: its run then reads that format's table.
 */
function deliveredFormat(reader: ManifestReader, columns: readonly string[], key: string): BillingFormatName {
  const candidates: BillingFormat[] = BILLING_FORMAT_LIST.filter((f) => f.manifestKind === reader.kind);
  const first = candidates[0];
  if (first === undefined) {
    throw new ManifestError(`is a ${reader.label} manifest, and no billing format is delivered by one`, key);
  }
  const found =
    columns.length === 0 ? undefined : detectFormat(candidates, columns.map(legacyAthenaColumnName));
  return (found ?? first).name as BillingFormatName;
}

const PARQUET_FILE = /\.parquet$/i;
const CSV_FILE = /\.csv(\.gz)?$/i;

/** Parquet or CSV, by the data files' names; every file the same. */
function deliveryFileFormat(files: readonly S3Location[], key: string): DeliveryFileFormat {
  const formats = files.map((file): DeliveryFileFormat | undefined =>
    PARQUET_FILE.test(file.key) ? 'parquet' : CSV_FILE.test(file.key) ? 'csv' : undefined,
  );
  const unknown = formats.indexOf(undefined);
  if (unknown >= 0) {
    throw new ManifestError(
      `data file ${unknown + 1} ${JSON.stringify(files[unknown]?.key)} is neither Parquet (.parquet) nor ` +
        'CSV (.csv, .csv.gz): the deployed run reads those (a ZIP-compressed legacy CUR is not read by Athena)',
      key,
    );
  }
  const kinds = new Set(formats);
  if (kinds.size > 1) throw new ManifestError('lists both Parquet and CSV data files', key);
  return formats[0] ?? 'parquet';
}

/**
 * The folder every data file of a delivery must be in, from where the export wrote the manifest:
 * - CUR 2.0: `<prefix>/<export>/metadata/BILLING_PERIOD=P/...-Manifest.json` -> `<prefix>/<export>/data/BILLING_PERIOD=P/`
 *   (the billing table's partition folder, which `"$path"` of its rows starts with);
 * - legacy CUR: `<prefix>/<report>/[<YYYYMMDD-YYYYMMDD>/]<report>-Manifest.json` -> `<prefix>/<report>/`
 *   (the CSV delivery's assembly folders and the Athena-integration Parquet folders are both under it).
 *
 * @returns `undefined` when the key is not where that kind of export writes its manifest
 */
export function exportDataFolder(
  manifestKey: string,
  kind: ManifestKind,
  billingPeriod: string,
): string | undefined {
  const segments = manifestKey.split('/');
  if (kind === 'data-exports') {
    const at = segments.findIndex(
      (segment, index) => segment === 'metadata' && segments[index + 1] === `BILLING_PERIOD=${billingPeriod}`,
    );
    if (at < 1) return undefined;
    return `${[...segments.slice(0, at), 'data', `BILLING_PERIOD=${billingPeriod}`].join('/')}/`;
  }
  const file = segments.at(-1) ?? '';
  if (!file.endsWith(MANIFEST_SUFFIX)) return undefined;
  const name = file.slice(0, -MANIFEST_SUFFIX.length);
  for (const depth of [1, 2]) {
    if (segments.at(-1 - depth) === name) return `${segments.slice(0, -depth).join('/')}/`;
  }
  return undefined;
}

/**
 * The `s3://` URIs of a delivery's data files, as Athena's `"$path"` names their rows, each checked to
 * be in the manifest's bucket, under the export's data folder ({@link exportDataFolder}) and free of
 * quotes and control characters ({@link isBillingFileUri}): what a run may read, and nothing else.
 *
 * @param manifest the parsed manifest
 * @param location where the manifest was read from
 * @throws ManifestError naming the first entry that is not a file of this export's delivery
 */
export function deliveryDataFiles(manifest: ParsedManifest, location: S3Location): string[] {
  const folder = exportDataFolder(location.key, manifest.kind, manifest.billingPeriod);
  if (folder === undefined) {
    throw new ManifestError(
      `is not where a ${manifest.kind === 'data-exports' ? 'Data Exports' : 'legacy CUR'} export writes its ` +
        `manifest for ${manifest.billingPeriod}, so the folder its data files must be in is unknown`,
      location.key,
    );
  }
  return manifest.dataFiles.map((file, index) => {
    const uri = `s3://${file.bucket}/${file.key}`;
    const problem =
      file.bucket !== location.bucket
        ? `is in bucket ${file.bucket}, not in the manifest's bucket ${location.bucket}`
        : !file.key.startsWith(folder)
          ? `is not under the export's data folder s3://${location.bucket}/${folder}`
          : !isBillingFileUri(uri)
            ? 'has a quote, a backslash, a control character or a "." or ".." folder in its name'
            : undefined;
    if (problem !== undefined) {
      throw new ManifestError(`data file ${index + 1} ${JSON.stringify(uri)} ${problem}`, location.key);
    }
    return uri;
  });
}

/** An entry's location, or what is wrong with it. */
function dataFileLocation(entry: string, fallbackBucket: string | undefined): S3Location | string {
  if (entry.startsWith('s3://')) {
    const slash = entry.indexOf('/', 5);
    const bucket = slash === -1 ? entry.slice(5) : entry.slice(5, slash);
    const key = slash === -1 ? '' : entry.slice(slash + 1);
    if (!BUCKET_NAME.test(bucket)) return 'does not name a valid bucket';
    if (key === '') return 'names no object key';
    return { bucket, key };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(entry)) return 'is a URI but not an s3:// one';
  if (fallbackBucket === undefined) return 'names no bucket and the manifest has no bucket field';
  if (!BUCKET_NAME.test(fallbackBucket)) return `falls back to an invalid bucket name "${fallbackBucket}"`;
  return { bucket: fallbackBucket, key: entry };
}
