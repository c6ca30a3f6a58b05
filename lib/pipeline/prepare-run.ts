import { GetObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse/sync';
import * as z from 'zod';
import {
  BILLING_FORMAT_NAMES,
  BILLING_FORMATS,
  type BillingFormat,
  type BillingFormatName,
  billingTablesOf,
  type TagRequest,
} from '../attribution/billing-formats.ts';
import { checkFixedCustomers } from '../attribution/drivers.ts';
import {
  type AllocationRules,
  type CostBasis,
  defaultRules,
  parseRules,
  tagRequest,
} from '../attribution/rules.ts';
import { billingSources } from '../attribution/stages.ts';
import { CUSTOMER_COLUMNS } from '../catalog/glue-schemas.ts';
import { isAwsError } from '../common/aws-errors.ts';
import { billingPeriodSchema, PREFIXES, RULES_KEY, runIdSchema } from '../common/names.ts';
import type { BillingCsvTable } from '../engine/athena-run-layout.ts';
import { parseCustomersCsv } from '../inputs/customers.ts';
import { InputError } from '../inputs/input-error.ts';
import {
  type CleanupStatement,
  type PlannedStatement,
  planAthenaCleanup,
  planAthenaRun,
} from './athena-run-plan.ts';
import { csvDeliveryTable, readsCsv } from './csv-delivery.ts';
import {
  cur2ManifestKey,
  deliveryDataFiles,
  ManifestError,
  type ParsedManifest,
  parseManifest,
} from './manifest.ts';
import { deliveredAtSchema, parseInput } from './run-contract.ts';
import { runPlanOptions } from './run-layout.ts';
import { findMissing, type RunLogger } from './start-run.ts';

/** Step Functions refuses a state input or output above 256 KiB. */
export const STEP_FUNCTIONS_PAYLOAD_LIMIT = 256 * 1024;
/** What prepare-run allows itself, leaving room for what later states add next to its output. */
export const PREPARED_RUN_MAX_BYTES = 200 * 1024;

/** The execution input (start-run.ts `RunInput`), as prepare-run receives it. */
export const runInputSchema = z.object({
  billingPeriod: billingPeriodSchema,
  executionId: z.string().min(1),
  format: z.enum(BILLING_FORMAT_NAMES),
  manifest: z.object({ bucket: z.string().min(3), key: z.string().min(1) }),
  dataFiles: z.number().int().nonnegative(),
  runId: runIdSchema,
  rerunRequestedAt: deliveredAtSchema.optional(),
});
export type PrepareRunInput = z.infer<typeof runInputSchema>;

/** Parses prepare-run's state input (the execution input). @throws PipelineInputError naming each wrong field */
export function parsePrepareRunInput(event: unknown): PrepareRunInput {
  return parseInput(runInputSchema, event, 'prepare-run input');
}

export { billingTablesOf } from '../attribution/billing-formats.ts';

/** prepare-run's output: the execution input plus what every later state needs. */
export interface PreparedRun extends PrepareRunInput {
  /**
   * When this delivery was written: the LastModified of the manifest object that carries this run's
   * execution id, or for a re-run the time it was requested, when later. Orders the runs of one billing
   * period for publish-run and load-serving-table.
   */
  readonly deliveredAt: string;
  readonly rulesVersion: string;
  /** The cost basis the rules chose (docs/attribution.md), which the report names in its header. */
  readonly costBasis: CostBasis;
  /** Where the rules came from: the rules file, or the shipped defaults. */
  readonly rulesSource: string;
  /** The customers file that was validated, and how many tenants it lists. */
  readonly customers: { readonly file: string; readonly tenants: number };
  /**
   * The run's statements in levels (planAthenaRun): the levels one after another, a level's statements
   * side by side; `ctas` and `ddl` for the Athena `.sync` task, `check` for run-check.
   */
  readonly levels: PlannedStatement[][];
  /** DROP TABLE of the run's tables (the cleanup Lambda drops them through Glue instead). */
  readonly cleanup: CleanupStatement[];
}

/** The manifest now describes a later delivery: this run's data has been overwritten by it. */
export class DeliverySupersededError extends Error {
  override readonly name = 'DeliverySupersededError';
}

/** The run's billing format has no Glue table configured (only formats whose descriptor has a `glueTable` do). */
export class UnsupportedBillingFormatError extends Error {
  override readonly name = 'UnsupportedBillingFormatError';
}

/** The planned run does not fit in a Step Functions payload. */
export class PreparedRunTooLargeError extends Error {
  override readonly name = 'PreparedRunTooLargeError';
}

export interface PrepareRunOptions {
  readonly s3: S3Client;
  /** Bucket with `customers/` and `rules/`. */
  readonly dataBucket: string;
  /** Bucket the run writes its results into (`runs/run=<run id>/`). */
  readonly resultsBucket: string;
  /** Glue database of the inputs and the run's tables. */
  readonly database: string;
  /** Tenant tag key and cost basis applied to the default rules, and to a rules file that omits them. */
  readonly tenantTagKey: string;
  readonly costBasis: CostBasis;
  /**
   * Glue table of the billing data, per format: those of the deployment's exports, over
   * `{ cur2: 'cur2' }` (the CUR 2.0 export, always deployed).
   * @default `{ cur2: 'cur2' }`
   */
  readonly billingTables?: Partial<Record<BillingFormatName, string>>;
  /**
   * The export folders (`<curPrefix>/<export>`, or one `<curPrefix>/<account>/<export>` per source
   * account) each format's table reads: a delivery of a format whose manifest is elsewhere is refused,
   * since its table would read none of its files. With several folders, a run of a period reads the
   * latest delivery of each (docs/aws-pipeline.md, "Organizations").
   * @default undefined: not checked
   */
  readonly billingExports?: Partial<Record<BillingFormatName, readonly string[]>>;
  readonly logger?: RunLogger;
}

/**
 * Prepares one attribution run before anything runs in Athena:
 * 0. finds the format's Glue table (`billingTables`) and checks that the manifest is in the export that
 *    table reads (`billingExports`);
 * 1. dates the delivery: the manifest object must still describe this run's execution id (CUR rewrites
 *    the manifest on every refresh), and its LastModified becomes `deliveredAt`; its data files, each
 *    checked to be under the export's data folder, are the only objects the run's billing table reads;
 * 2. validates the customer dimension: exactly one `.csv` object under `customers/`, valid by
 *    {@link parseCustomersCsv} and with its columns in the order the Glue table reads them;
 * 3. loads the rules (`rules/current/rules.json`, else the defaults with the configured tag key and cost basis);
 * 4. plans the run's statements for this billing period ({@link planAthenaRun}, {@link planAthenaCleanup}):
 *    over the format's table in the period's partition, or, for a CSV delivery, over a table of the
 *    run's own created first with the manifest's columns in order (lib/pipeline/csv-delivery.ts).
 *
 * @throws InputError naming file, column and row when the customers or rules file is bad (the run fails;
 *   what is published stays as it is)
 * @throws DeliverySupersededError when the manifest now belongs to a later delivery
 * @throws ManifestError when a listed data file is not a file of this export's delivery, or a CSV
 *   delivery lacks a column list, a required column or one folder for its files
 * @throws UnsupportedBillingFormatError (no table, another export's folder, CSV of a format with maps), PreparedRunTooLargeError, PipelineInputError
 */
export async function prepareRun(run: PrepareRunInput, options: PrepareRunOptions): Promise<PreparedRun> {
  const billingTable: string | undefined = { ...DEFAULT_BILLING_TABLES, ...options.billingTables }[
    run.format
  ];
  if (billingTable === undefined) {
    throw new UnsupportedBillingFormatError(
      `no Glue table is configured for billing format "${run.format}" (run ${run.runId}): name its export ` +
        'in cpc:billingExports',
    );
  }
  const folders = options.billingExports?.[run.format];
  const ownFolder = folders?.find((folder) => run.manifest.key.startsWith(`${folder}/`));
  if (folders !== undefined && ownFolder === undefined) {
    throw new UnsupportedBillingFormatError(
      `run ${run.runId}: a ${run.format} delivery in s3://${run.manifest.bucket}/${run.manifest.key}, but the ` +
        `${run.format} table reads the export ${folders.map((f) => `${f}/`).join(', ')}: configure this export as the ${run.format} one`,
    );
  }

  const format = BILLING_FORMATS[run.format];
  const own = await readDelivery(options.s3, run);
  // The other source accounts' latest deliveries of the period: the run's results are the period's.
  const others = await readOtherSources(
    options.s3,
    run,
    (folders ?? []).filter((folder) => folder !== ownFolder),
  );
  const { manifest } = own;
  const billingFiles = [...own.billingFiles, ...others.flatMap((other) => other.billingFiles)];
  const deliveredAt = [own.deliveredAt, ...others.map((other) => other.deliveredAt)].reduce((a, b) =>
    a > b ? a : b,
  );
  const { customerIds, ...customers } = await validateCustomers(options.s3, options.dataBucket);
  const { rules, source: rulesSource } = await loadRules(options);
  // A fixed split naming a customer the dimension does not have is refused, as locally.
  checkFixedCustomers(rules.rules, customerIds, rulesSource);

  const attributionRun = { runId: run.runId, sources: billingSources(format), rules };
  // The billing table is read in its billing period's partition and in the manifest's files only: a
  // stray or half-written object in the partition never counts. A CSV delivery is read through a table
  // of the run's own over its files (lib/pipeline/csv-delivery.ts).
  const partition = format.glueTable?.partitionOf(run.billingPeriod);
  const csv =
    manifest.fileFormat === 'csv' && billingFiles.length > 0
      ? csvTable(format, tagRequest(rules), manifest.columns, billingFiles, run)
      : undefined;
  const planOptions = {
    ...runPlanOptions(run, options, { billing_source: billingTable }),
    billingFiles,
    ...(partition === undefined ? {} : { billingPartition: partition }),
    ...(csv === undefined ? {} : { billingCsv: csv }),
  };
  const prepared: PreparedRun = {
    ...run,
    deliveredAt,
    rulesVersion: rules.version,
    costBasis: rules.costBasis,
    rulesSource,
    customers,
    levels: planAthenaRun(attributionRun, planOptions),
    cleanup: planAthenaCleanup(attributionRun, planOptions),
  };

  const bytes = Buffer.byteLength(JSON.stringify(prepared));
  if (bytes > PREPARED_RUN_MAX_BYTES) {
    throw new PreparedRunTooLargeError(
      `run ${run.runId}: the planned statements take ${bytes} bytes, over the ${PREPARED_RUN_MAX_BYTES} bytes ` +
        'prepare-run allows itself under the Step Functions payload limit; the statements name each of the ' +
        `${billingFiles.length} files the manifest lists, and a delivery of this many files cannot be run`,
    );
  }
  options.logger?.info('Run prepared', {
    runId: run.runId,
    billingPeriod: run.billingPeriod,
    deliveredAt,
    rulesVersion: rules.version,
    rulesSource,
    customersFile: customers.file,
    tenants: customers.tenants,
    statements: prepared.levels.flat().length,
    levels: prepared.levels.length,
    billingFiles: billingFiles.length,
    fileFormat: manifest.fileFormat,
    bytes,
  });
  return prepared;
}

/** The Glue tables without configured exports: the CUR 2.0 export's only. */
const DEFAULT_BILLING_TABLES: Partial<Record<BillingFormatName, string>> = billingTablesOf([
  BILLING_FORMATS.cur2,
]);

/** The run's table over a CSV delivery, for a format that can be read from CSV. */
function csvTable(
  format: BillingFormat,
  tags: TagRequest,
  columns: readonly string[],
  files: readonly string[],
  run: PrepareRunInput,
): BillingCsvTable {
  if (!readsCsv(format, tags)) {
    throw new UnsupportedBillingFormatError(
      `run ${run.runId}: s3://${run.manifest.bucket}/${run.manifest.key} delivers ${format.name} as CSV; the ` +
        `deployed run reads ${format.name} from Parquet only (its tags are map columns): set the export's ` +
        'file format to Parquet',
    );
  }
  return csvDeliveryTable(format, tags, columns, files, run.manifest.key);
}

async function readText(s3: S3Client, bucket: string, key: string) {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return {
    text: (await response.Body?.transformToString('utf-8')) ?? '',
    lastModified: response.LastModified,
  };
}

/**
 * The delivery as its manifest describes it now: its time (the manifest's LastModified, once its content
 * shows it still describes this run's delivery; for a re-run, the time it was requested, when later)
 * and its data files as `s3://` URIs ({@link deliveryDataFiles}), the only objects the run reads.
 */
async function readDelivery(
  s3: S3Client,
  run: PrepareRunInput,
): Promise<{
  readonly deliveredAt: string;
  readonly billingFiles: readonly string[];
  readonly manifest: ParsedManifest;
}> {
  const { bucket, key } = run.manifest;
  const { text, lastModified } = await readText(s3, bucket, key);
  const manifest = parseManifest(text, key, bucket);
  if (manifest.executionId !== run.executionId || manifest.billingPeriod !== run.billingPeriod) {
    throw new DeliverySupersededError(
      `manifest s3://${bucket}/${key} now describes execution ${manifest.executionId} of ` +
        `${manifest.billingPeriod}, not ${run.executionId} of ${run.billingPeriod}: a later delivery ` +
        'replaced this one, and its own run attributes it',
    );
  }
  if (lastModified === undefined) throw new Error(`manifest s3://${bucket}/${key} has no LastModified`);
  const billingFiles = deliveryDataFiles(manifest, run.manifest);
  const delivered = lastModified.toISOString();
  // A re-run orders after the run of the delivery it repeats, and before any later delivery's run.
  const deliveredAt =
    run.rerunRequestedAt !== undefined && run.rerunRequestedAt > delivered ? run.rerunRequestedAt : delivered;
  return { deliveredAt, billingFiles, manifest };
}

/** How many folders of another source's delivery are listed at once (as on-delivery lists). */
const LIST_CONCURRENCY = 8;

/** The other sources' deliveries of a period are being rewritten: their own run follows. */
export class SourceDeliveryIncompleteError extends Error {
  override readonly name = 'SourceDeliveryIncompleteError';
}

/**
 * The latest delivery of the run's billing period in each of the other source accounts' folders (a
 * Data Exports manifest at `<folder>/metadata/BILLING_PERIOD=<period>/<export>-Manifest.json`): its
 * LastModified and its data files, each of which must exist. A folder without a delivery of the period
 * adds nothing.
 * @throws SourceDeliveryIncompleteError when a listed data file is missing (that source is being
 *   refreshed; the run of its new delivery reads it whole)
 */
async function readOtherSources(
  s3: S3Client,
  run: PrepareRunInput,
  folders: readonly string[],
): Promise<{ readonly deliveredAt: string; readonly billingFiles: readonly string[] }[]> {
  const deliveries = [];
  for (const folder of folders) {
    const split = folder.lastIndexOf('/');
    const key = cur2ManifestKey(folder.slice(0, split), folder.slice(split + 1), run.billingPeriod);
    const location = { bucket: run.manifest.bucket, key };
    let read: Awaited<ReturnType<typeof readText>>;
    try {
      read = await readText(s3, location.bucket, key);
    } catch (error: unknown) {
      if (isAwsError(error, 'NoSuchKey')) continue;
      throw error;
    }
    const manifest = parseManifest(read.text, key, location.bucket);
    if (manifest.billingPeriod !== run.billingPeriod) {
      throw new ManifestError(`describes ${manifest.billingPeriod}, not ${run.billingPeriod}`, key);
    }
    const billingFiles = deliveryDataFiles(manifest, location);
    const missing = await findMissing(s3, manifest.dataFiles, LIST_CONCURRENCY);
    if (missing[0] !== undefined) {
      throw new SourceDeliveryIncompleteError(
        `run ${run.runId}: ${missing.length} data file(s) of s3://${location.bucket}/${key} are missing ` +
          `(first: s3://${missing[0].bucket}/${missing[0].key}): that account's delivery is being refreshed, ` +
          'and its own run follows',
      );
    }
    if (read.lastModified === undefined)
      throw new Error(`manifest s3://${location.bucket}/${key} has no LastModified`);
    deliveries.push({ deliveredAt: read.lastModified.toISOString(), billingFiles });
  }
  return deliveries;
}

const CSV_SUFFIX = /\.csv$/i;

/**
 * Validates the customer dimension the run's Athena table will read. The Glue table reads every object
 * under `customers/current/` and concatenates them, so exactly one object may be there, and its columns must be
 * in the table's order (the CSV SerDe reads by position, while {@link parseCustomersCsv} reads by name).
 */
export async function validateCustomers(
  s3: S3Client,
  bucket: string,
): Promise<{ readonly file: string; readonly tenants: number; readonly customerIds: ReadonlySet<string> }> {
  const folder = `s3://${bucket}/${PREFIXES.customers}`;
  const keys: string[] = [];
  for await (const page of paginateListObjectsV2(
    { client: s3 },
    { Bucket: bucket, Prefix: PREFIXES.customers },
  )) {
    for (const object of page.Contents ?? []) {
      // A zero-byte "folder" object (made by the console) holds no rows and is not a file Athena reads.
      if (object.Key !== undefined && !object.Key.endsWith('/')) keys.push(object.Key);
    }
    // More than ten is all the error message needs to know.
    if (keys.length > 10) break;
  }

  if (keys.length === 0) throw new InputError('no customers file: upload one CSV here', { file: folder });
  if (keys.length > 1) {
    const shown = keys.slice(0, 5).join(', ');
    throw new InputError(
      `${keys.length > 10 ? 'more than 10' : keys.length} objects found (${shown}); Athena would read them all ` +
        'as one table, so exactly one CSV file is allowed: remove or move the others',
      { file: folder },
    );
  }
  const key = keys[0] as string;
  const file = `s3://${bucket}/${key}`;
  if (!CSV_SUFFIX.test(key)) {
    throw new InputError('is not a .csv file; the customers table reads one CSV file', { file });
  }
  const { text } = await readText(s3, bucket, key);
  return { file, ...checkCustomersFile(text, file) };
}

/**
 * Checks a customers CSV as the runs read it: valid by {@link parseCustomersCsv}, with customer rows,
 * and its columns in the Glue table's order. On-input checks an upload with it before it becomes current.
 * @throws InputError naming the file, column and row
 */
export function checkCustomersFile(
  text: string,
  file: string,
): { readonly tenants: number; readonly customerIds: ReadonlySet<string> } {
  const tenants = parseCustomersCsv(text, file);
  if (tenants.length === 0) throw new InputError('has a header but no customer rows', { file });
  checkColumnOrder(text, file);
  return { tenants: tenants.length, customerIds: new Set(tenants.map((tenant) => tenant.customerId)) };
}

function checkColumnOrder(text: string, file: string): void {
  const [header = []] = parse(text, { bom: true, to_line: 1 }) as string[][];
  const names = header.map((name) => name.trim().toLowerCase());
  const expected = CUSTOMER_COLUMNS.map((column) => column.name);
  if (names.length > expected.length) {
    throw new InputError(`unexpected column: the customers table has ${expected.length} columns`, {
      file,
      column: names[expected.length] ?? '',
    });
  }
  names.forEach((name, index) => {
    if (name !== expected[index]) {
      throw new InputError(
        `is column ${index + 1}, where the customers table reads "${expected[index]}": columns must be in ` +
          `the order ${expected.join(', ')} (trailing optional columns may be left out)`,
        { file, column: name },
      );
    }
  });
}

/**
 * The deployment's rules: `rules/current/rules.json` of the data bucket, else the defaults with the configured
 * tag key and cost basis. The runs (prepare-run) and the alert routing (evaluate-alerts, for the rules'
 * owners) read them the same way.
 */
export async function loadRules(
  options: Pick<PrepareRunOptions, 's3' | 'dataBucket' | 'tenantTagKey' | 'costBasis'>,
): Promise<{ readonly rules: AllocationRules; readonly source: string }> {
  const source = `s3://${options.dataBucket}/${RULES_KEY}`;
  let text: string;
  try {
    ({ text } = await readText(options.s3, options.dataBucket, RULES_KEY));
  } catch (error: unknown) {
    if (!isAwsError(error, 'NoSuchKey')) throw error;
    const rules = { ...defaultRules(), tenantTagKey: options.tenantTagKey, costBasis: options.costBasis };
    return { rules, source: 'default-rules.json' };
  }
  return { rules: parseRulesFile(text, source, options), source };
}

/**
 * Parses a rules file's text, with the deployment's tag key and cost basis where the file does not set
 * its own. On-input checks an upload with it before it becomes current.
 * @throws InputError naming the file and the field
 */
export function parseRulesFile(
  text: string,
  source: string,
  defaults: Pick<PrepareRunOptions, 'tenantTagKey' | 'costBasis'>,
): AllocationRules {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error: unknown) {
    throw new InputError(`not valid JSON (${error instanceof Error ? error.message : String(error)})`, {
      file: source,
    });
  }
  if (typeof document === 'object' && document !== null && !Array.isArray(document)) {
    document = { tenantTagKey: defaults.tenantTagKey, costBasis: defaults.costBasis, ...document };
  }
  return parseRules(document, source);
}
