import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, resolve, sep } from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import { parseCurManifest } from '../inputs/cur-manifest.ts';
import { InputError } from '../inputs/input-error.ts';

/** A file given among the billing inputs that the run does not read, and why. */
export interface SkippedFile {
  readonly file: string;
  readonly reason: string;
}

/** The billing files a run reads, decided from everything the `--cur` inputs hold. */
export interface BillingFileSelection {
  /** Data files to read, sorted. */
  readonly read: readonly string[];
  /** The manifests that decided which files of their billing period count, sorted. */
  readonly manifests: readonly string[];
  /** Everything else found, sorted by path. */
  readonly skipped: readonly SkippedFile[];
  /** One plain sentence per kind of skip worth telling the user (see {@link skippedFileWarnings}). */
  readonly warnings: readonly string[];
}

/** Billing data is Parquet or CSV (docs/attribution.md 1.1): legacy CUR CSV may be gzipped or zipped. */
const DATA_FILE = /\.(parquet|csv|csv\.gz|csv\.zip)$/i;
const MANIFEST_FILE = /-Manifest\.json$/;
/** The CUR Athena integration's status table: one row saying whether the data is ready, not costs. */
const STATUS_TABLE = /(^|\/)cost_and_usage_data_status\//;
/**
 * What AWS delivers beside the data for its Athena, Redshift and QuickSight integrations: the crawler
 * template (`crawler-cfn.yml`), other templates and commands.
 */
const CLOUDFORMATION_FILE = /\.(ya?ml|template|sql)$|(^|\/)crawler-cfn\./i;
const CUR2_PERIOD_FOLDER = /^BILLING_PERIOD=\d{4}-\d{2}$/;
const LEGACY_RANGE_FOLDER = /^\d{8}-\d{8}$/;

const slashed = (path: string) => path.split(sep).join('/');

/** Every file an input names: itself, every file below a folder, or a glob's matches. */
async function filesOf(input: string): Promise<string[]> {
  if (isDynamicPattern(input)) return glob(input, { absolute: true, onlyFiles: true });
  const stats = statSync(input, { throwIfNoEntry: false });
  if (!stats) throw new InputError('billing not found', { file: input });
  return stats.isDirectory()
    ? glob('**/*', { cwd: input, absolute: true, onlyFiles: true })
    : [resolve(input)];
}

/** A manifest as the local run uses it. */
interface LocalManifest {
  readonly path: string;
  /** Export or report name and billing period: manifests of one group describe versions of one delivery. */
  readonly group: string;
  readonly billingPeriod: string;
  /** Whether it is the period's own manifest, which AWS rewrites on every delivery (not a per-delivery copy). */
  readonly periodLevel: boolean;
  readonly modified: number;
  readonly id: string;
  /** The folder whose data files of this period the manifest decides on. */
  readonly periodFolder: string;
  /** Whether it decides only on the files directly in that folder, not below it. */
  readonly besideOnly?: boolean;
  /** Each listed file: its S3 URI (as the manifest names it) and the end of its key to find it by. */
  readonly listed: readonly { uri: string; suffix: string }[];
}

/**
 * Where a manifest stands in the export layout: CUR 2.0
 * `<export>/metadata/BILLING_PERIOD=P/[<delivery>/]<export>-Manifest.json` decides on
 * `<export>/data/BILLING_PERIOD=P/`; legacy `<report>/<YYYYMMDD-YYYYMMDD>/[<assembly>/]<report>-Manifest.json`
 * on `<report>/<YYYYMMDD-YYYYMMDD>/`. A manifest elsewhere decides on the files of its own folder.
 */
function layoutOf(
  path: string,
  name: string,
): { periodFolder: string; periodLevel: boolean; besideOnly?: boolean } {
  const folder = dirname(path);
  const segments = slashed(folder).split('/');
  for (const depth of [0, 1]) {
    const period = segments.at(-1 - depth) ?? '';
    if (CUR2_PERIOD_FOLDER.test(period) && segments.at(-2 - depth) === 'metadata') {
      const root = segments.slice(0, -2 - depth).join('/');
      return { periodFolder: `${root}/data/${period}`, periodLevel: depth === 0 };
    }
    if (LEGACY_RANGE_FOLDER.test(period) && segments.at(-2 - depth) === name) {
      return { periodFolder: segments.slice(0, segments.length - depth).join('/'), periodLevel: depth === 0 };
    }
  }
  // Anywhere else (a legacy report-level manifest, a hand-made folder): only the files beside it.
  return { periodFolder: slashed(folder), periodLevel: true, besideOnly: true };
}

/**
 * The end of a listed key a local copy keeps: from the `data/BILLING_PERIOD=...` folder on (CUR 2.0),
 * from the report's folder on (legacy CUR), else the file name.
 */
function keySuffix(key: string, name: string): string {
  const cur2 = key.search(/(^|\/)data\/BILLING_PERIOD=/);
  if (cur2 >= 0) return key.slice(key[cur2] === '/' ? cur2 + 1 : cur2);
  const segments = key.split('/');
  const report = segments.indexOf(name);
  if (report >= 0) return segments.slice(report).join('/');
  return segments.at(-1) ?? key;
}

function readManifest(path: string): LocalManifest {
  const parsed = parseCurManifest(readFileSync(path, 'utf8'), slashed(path));
  const name = basename(path).replace(MANIFEST_FILE, '');
  return {
    path,
    group: `${name}\u0000${parsed.billingPeriod}`,
    billingPeriod: parsed.billingPeriod,
    ...layoutOf(path, name),
    modified: statSync(path).mtimeMs,
    id: parsed.id,
    listed: parsed.keys.map((key, index) => ({
      uri: parsed.uris[index] as string,
      suffix: keySuffix(key, name),
    })),
  };
}

/**
 * The newest manifest first: the period's own manifest (AWS rewrites it with each delivery), then the
 * latest modified per-delivery copy (`aws s3 sync` keeps the delivery time), then the greater id.
 * Neither AWS manifest kind carries a delivery time of its own, and their ids are not in delivery order.
 */
function newestFirst(a: LocalManifest, b: LocalManifest): number {
  if (a.periodLevel !== b.periodLevel) return a.periodLevel ? -1 : 1;
  if (a.modified !== b.modified) return b.modified - a.modified;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

function decidesOn(manifest: LocalManifest, file: string): boolean {
  const path = slashed(file);
  if (manifest.besideOnly === true) return dirname(path) === manifest.periodFolder;
  return path.startsWith(`${manifest.periodFolder}/`);
}

/**
 * Decides which billing files a run reads (docs/local-run.md "Which billing files count"): data files,
 * except those of a billing period that a manifest among the inputs describes and does not list;
 * manifests, the CUR status table and other files that are not data are skipped and said so.
 * @throws InputError when the newest manifest of a period lists a file the inputs do not hold, or a
 *   manifest cannot be read
 */
export async function selectBillingFiles(inputs: readonly string[]): Promise<BillingFileSelection> {
  const perInput = await Promise.all(inputs.map(filesOf));
  for (const [index, files] of perInput.entries()) {
    if (!files.some((file) => DATA_FILE.test(file) && !MANIFEST_FILE.test(file))) {
      throw new InputError('no billing files found', { file: inputs[index] as string });
    }
  }
  const found = [...new Set(perInput.flat())].sort();
  const skipped: SkippedFile[] = [];
  const data: string[] = [];
  const manifests: LocalManifest[] = [];
  for (const file of found) {
    const path = slashed(file);
    // A zip of anything but a CSV may still hold cost: skipping it would leave that out of the run.
    if (/\.zip$/i.test(path) && !DATA_FILE.test(path)) {
      throw new InputError(
        'is a zip archive of no CSV, which cpc does not read: unzip it (a legacy CUR delivery is .csv.zip)',
        { file },
      );
    }
    if (MANIFEST_FILE.test(path)) manifests.push(readManifest(file));
    else if (/manifest\.json$/i.test(path))
      skipped.push({ file, reason: 'not billing data (a manifest of no CUR export)' });
    else if (STATUS_TABLE.test(path))
      skipped.push({ file, reason: 'not billing data (CUR data status table)' });
    else if (CLOUDFORMATION_FILE.test(path))
      skipped.push({ file, reason: 'not billing data (CloudFormation or crawler template)' });
    else if (!DATA_FILE.test(path) || /(^|\/)metadata\//.test(path))
      skipped.push({ file, reason: 'not billing data' });
    else data.push(file);
  }

  const groups = new Map<string, LocalManifest[]>();
  for (const manifest of manifests)
    groups.set(manifest.group, [...(groups.get(manifest.group) ?? []), manifest]);
  const deciding: LocalManifest[] = [];
  for (const group of groups.values()) {
    const [newest, ...older] = group.sort(newestFirst) as [LocalManifest, ...LocalManifest[]];
    deciding.push(newest);
    for (const manifest of older) {
      skipped.push({ file: manifest.path, reason: `an older manifest of the period than ${newest.path}` });
    }
  }

  const notListed = new Map<string, LocalManifest>();
  const listed = new Set<string>();
  for (const manifest of deciding) {
    for (const entry of manifest.listed) {
      // Two exports may name their files alike: one in the manifest's own export wins.
      const ends = (file: string) => slashed(file).endsWith(`/${entry.suffix}`);
      const match = data.find((file) => ends(file) && decidesOn(manifest, file)) ?? data.find(ends);
      if (match === undefined) {
        throw new InputError(
          `lists ${entry.uri}, which is not among the billing files (no file ending in ${entry.suffix}):` +
            ' copy the whole delivery, or give the folder that holds it',
          { file: manifest.path },
        );
      }
      listed.add(match);
    }
    for (const file of data) {
      if (decidesOn(manifest, file) && !listed.has(file)) notListed.set(file, manifest);
    }
  }
  const read = data.filter((file) => listed.has(file) || !notListed.has(file));
  for (const [file, manifest] of notListed) {
    if (!listed.has(file))
      skipped.push({ file, reason: `not listed by the newest manifest ${manifest.path}` });
  }
  skipped.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  if (read.length === 0) throw new InputError('no billing files found', { file: inputs[0] ?? '--cur' });
  return {
    read,
    manifests: deciding.map((m) => m.path).sort(),
    skipped,
    warnings: skippedFileWarnings(notListed, listed, skipped),
  };
}

const MAX_NAMED = 10;

function named(files: readonly string[]): string {
  const shown = files.slice(0, MAX_NAMED).join(', ');
  return files.length > MAX_NAMED ? `${shown} and ${files.length - MAX_NAMED} more` : shown;
}

/**
 * Data files a manifest left out (an older or partial delivery: counting them would count the period
 * twice) and files that are not billing data. Manifests themselves are not worth a word.
 */
function skippedFileWarnings(
  notListed: ReadonlyMap<string, LocalManifest>,
  listed: ReadonlySet<string>,
  skipped: readonly SkippedFile[],
): string[] {
  const warnings: string[] = [];
  const byManifest = new Map<LocalManifest, string[]>();
  for (const [file, manifest] of [...notListed].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!listed.has(file)) byManifest.set(manifest, [...(byManifest.get(manifest) ?? []), file]);
  }
  for (const [manifest, files] of byManifest) {
    warnings.push(
      `${files.length} billing file${files.length === 1 ? '' : 's'} not listed by the newest manifest of its` +
        ` billing period ${files.length === 1 ? 'was' : 'were'} skipped (an older or partial delivery):` +
        ` ${named(files)} (manifest ${manifest.path}, ${manifest.billingPeriod})`,
    );
  }
  const other = skipped.filter((s) => s.reason.startsWith('not billing data')).map((s) => s.file);
  if (other.length > 0) {
    warnings.push(
      `${other.length} file${other.length === 1 ? '' : 's'} that ${other.length === 1 ? 'is' : 'are'} not billing data` +
        ` ${other.length === 1 ? 'was' : 'were'} skipped: ${named(other)}`,
    );
  }
  return warnings;
}
