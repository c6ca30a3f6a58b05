import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { isAwsError } from '../common/aws-errors.ts';
import { mapLimit } from '../common/concurrency.ts';
import { isBillingPeriod } from '../common/names.ts';
import { type ParsedManifest, parseManifest, type S3Location } from './manifest.ts';

/**
 * The logging the core needs. Powertools' `Logger` satisfies it; so does an object of no-op functions.
 */
export interface RunLogger {
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
}

export interface StartRunOptions {
  readonly s3: S3Client;
  readonly sfn: SFNClient;
  /** The state machine (a Standard workflow: only Standard refuses a second execution of the same name). */
  readonly stateMachineArn: string;
  /** Bucket of the manifest object that triggered the call. */
  readonly bucket: string;
  /** Key of the manifest object, URL-decoded (S3 event notifications encode keys; the handler decodes). */
  readonly key: string;
  readonly logger?: RunLogger;
  /**
   * Throw {@link DataFilesMissingError} instead of returning `incomplete` when a data file is missing.
   * Off by default: a data file that lands after its manifest is normal while a delivery is in progress,
   * and the next manifest event covers it, so it is not an error worth an alarm or a dead letter. Turn it
   * on when the caller's retry (Lambda asynchronous retries, an SQS redrive) should try the same event again.
   * @default false
   */
  readonly failOnMissing?: boolean;
  /** How many folder listings run at once. @default 8 */
  readonly listConcurrency?: number;
  /**
   * Start a re-run of the delivery the manifest describes (new customers, rules or telemetry): the run is
   * named after (billing period, execution id, request id), so however often one request is retried it
   * starts one execution, and carries `rerunRequestedAt` in its input, which prepare-run takes as the
   * run's delivery time so that publishing it replaces the run of the same delivery.
   * @default undefined: a delivery run, started once per (billing period, execution id)
   */
  readonly rerun?: { readonly requestId: string; readonly requestedAt: Date };
}

/** The input every run starts with. Deterministic for a given manifest, so a repeated start is idempotent. */
export interface RunInput {
  readonly billingPeriod: string;
  readonly executionId: string;
  readonly format: ParsedManifest['format'];
  readonly manifest: S3Location;
  /** How many data files the manifest lists; all of them existed when the run was started. */
  readonly dataFiles: number;
  /** The execution name, used by the run to scope what it writes (`run=<runId>/`). */
  readonly runId: string;
  /** Present on a re-run: when it was requested (ISO 8601). */
  readonly rerunRequestedAt?: string;
}

interface RunIdentity {
  readonly billingPeriod: string;
  readonly executionId: string;
  /** When the delivery was written: the manifest object's LastModified (ISO 8601), as prepare-run takes it. */
  readonly deliveredAt?: string;
  /** The Step Functions execution name, {@link runIdFor} of the two fields above. */
  readonly executionName: string;
}

/**
 * What happened to one manifest event.
 * - `started`: the delivery's run exists. A repeat that reaches Step Functions while the run is still
 *   running with the same input is accepted by the service and also lands here, with the same ARN.
 * - `duplicate`: the service refused a second execution of that name; the delivery already had a run.
 * - `incomplete`: some listed data files do not exist (yet); no run was started.
 * - `empty`: the manifest lists no data files; there is nothing to attribute, so no run was started.
 */
export type StartRunResult =
  | (RunIdentity & { readonly status: 'started'; readonly executionArn: string })
  | (RunIdentity & { readonly status: 'duplicate' })
  | (RunIdentity & { readonly status: 'incomplete'; readonly missing: readonly S3Location[] })
  | (RunIdentity & { readonly status: 'empty' });

/** The manifest named by the event does not exist (any more). Retrying the same event will not help. */
export class ManifestNotFoundError extends Error {
  override readonly name = 'ManifestNotFoundError';
  readonly manifest: S3Location;

  constructor(manifest: S3Location) {
    super(`manifest s3://${manifest.bucket}/${manifest.key} does not exist`);
    this.manifest = manifest;
  }
}

/** Data files a manifest lists do not exist; raised only with `failOnMissing`. */
export class DataFilesMissingError extends Error {
  override readonly name = 'DataFilesMissingError';
  readonly manifest: S3Location;
  readonly missing: readonly S3Location[];

  constructor(manifest: S3Location, missing: readonly S3Location[]) {
    const shown = missing
      .slice(0, 3)
      .map((file) => `s3://${file.bucket}/${file.key}`)
      .join(', ');
    const more = missing.length > 3 ? ` and ${missing.length - 3} more` : '';
    super(
      `manifest s3://${manifest.bucket}/${manifest.key}: ${missing.length} data file(s) missing: ${shown}${more}`,
    );
    this.manifest = manifest;
    this.missing = missing;
  }
}

const EXECUTION_NAME_MAX = 80;
const HASH_HEX_CHARS = 24;

/**
 * The run id, which is also the Step Functions execution name, for one delivery:
 * `<billing period>_<readable part of the execution id>_<sha256 of the execution id, 24 hex>`.
 *
 * Only `[0-9A-Za-z-_]` and at most 80 characters, as execution names allow. The hash keeps two ids apart
 * even when the readable part is cut short or had characters replaced; the readable part (a UUID fits
 * whole) lets an operator match an execution to a delivery at a glance.
 *
 * @throws RangeError for a billing period that is not `YYYY-MM` or an empty execution id
 */
export function runIdFor(billingPeriod: string, executionId: string): string {
  if (!isBillingPeriod(billingPeriod)) {
    throw new RangeError(`billing period "${billingPeriod}" is not YYYY-MM`);
  }
  if (executionId.length === 0) throw new RangeError('execution id is empty');
  const hash = createHash('sha256').update(executionId, 'utf8').digest('hex').slice(0, HASH_HEX_CHARS);
  const room = EXECUTION_NAME_MAX - billingPeriod.length - hash.length - 2;
  const readable = executionId
    .replace(/[^0-9A-Za-z-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, room)
    .replace(/-+$/, '');
  return readable === '' ? `${billingPeriod}_${hash}` : `${billingPeriod}_${readable}_${hash}`;
}

/**
 * Starts one attribution run for a CUR delivery, once, whatever number of times its manifest event
 * arrives: reads the manifest, checks that every data file it lists exists (listing their folders), then starts a Step Functions
 * execution named after (billing period, execution id), which the service refuses to start twice.
 *
 * A repeat still running with the same input returns `started` with the same ARN; any other repeat
 * returns `duplicate`. Neither creates a second execution.
 *
 * @throws ManifestNotFoundError when the manifest object does not exist
 * @throws ManifestError when the manifest is not usable
 * @throws DataFilesMissingError when a data file is missing and `failOnMissing` is set
 * @throws the SDK's error for anything else (throttling, permissions, a missing state machine), so the
 *   caller's retry and dead-letter handling apply
 */
export async function startRunForManifest(options: StartRunOptions): Promise<StartRunResult> {
  const {
    s3,
    sfn,
    stateMachineArn,
    bucket,
    key,
    logger,
    failOnMissing = false,
    listConcurrency = 8,
    rerun,
  } = options;
  const manifestLocation: S3Location = { bucket, key };

  const read = await readManifest(s3, manifestLocation);
  const manifest = parseManifest(read.text, key, bucket);
  const rerunAt = rerun?.requestedAt.toISOString();
  // A re-run is named after its request id: one execution per request, however often it is retried.
  const executionName = runIdFor(
    manifest.billingPeriod,
    rerun === undefined ? manifest.executionId : `${manifest.executionId} rerun ${rerun.requestId}`,
  );
  const identity: RunIdentity = {
    billingPeriod: manifest.billingPeriod,
    executionId: manifest.executionId,
    ...(read.lastModified === undefined ? {} : { deliveredAt: read.lastModified.toISOString() }),
    executionName,
  };
  const context = { ...identity, format: manifest.format, manifest: `s3://${bucket}/${key}` };

  if (manifest.dataFiles.length === 0) {
    logger?.warn('Manifest lists no data files; no run started', context);
    return { ...identity, status: 'empty' };
  }

  const missing = await findMissing(s3, manifest.dataFiles, listConcurrency);
  if (missing.length > 0) {
    logger?.warn('Data files missing; no run started', {
      ...context,
      missingCount: missing.length,
      missing: missing.slice(0, 10),
    });
    if (failOnMissing) throw new DataFilesMissingError(manifestLocation, missing);
    return { ...identity, status: 'incomplete', missing };
  }

  const input: RunInput = {
    billingPeriod: manifest.billingPeriod,
    executionId: manifest.executionId,
    format: manifest.format,
    manifest: manifestLocation,
    dataFiles: manifest.dataFiles.length,
    runId: executionName,
    ...(rerunAt === undefined ? {} : { rerunRequestedAt: rerunAt }),
  };
  try {
    const response = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, name: executionName, input: JSON.stringify(input) }),
    );
    if (response.executionArn === undefined) {
      throw new Error(`StartExecution for ${executionName} returned no executionArn`);
    }
    logger?.info('Run started', { ...context, executionArn: response.executionArn });
    return { ...identity, status: 'started', executionArn: response.executionArn };
  } catch (error: unknown) {
    if (!isExecutionAlreadyExists(error)) throw error;
    logger?.info('Run already exists for this delivery', context);
    return { ...identity, status: 'duplicate' };
  }
}

async function readManifest(
  s3: S3Client,
  manifest: S3Location,
): Promise<{ text: string; lastModified: Date | undefined }> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: manifest.bucket, Key: manifest.key }));
    return {
      text: (await response.Body?.transformToString('utf-8')) ?? '',
      lastModified: response.LastModified,
    };
  } catch (error: unknown) {
    if (isAwsError(error, 'NoSuchKey')) throw new ManifestNotFoundError(manifest);
    throw error;
  }
}

/** `a/b/c.parquet` -> `a/b/`: the folder a key is listed under. */
function folderOf(key: string): string {
  return key.slice(0, key.lastIndexOf('/') + 1);
}

/**
 * The data files that do not exist, in manifest order, found by listing each folder the manifest names
 * (one request per 1,000 keys, instead of one HeadObject per file). Listing is also what the function's
 * `s3:ListBucket` permission allows, scoped by an `s3:prefix` condition to the export; an error (403
 * included) is thrown, so a permissions problem is never reported as missing files.
 */
export async function findMissing(
  s3: S3Client,
  files: readonly S3Location[],
  concurrency: number,
): Promise<S3Location[]> {
  const folders = [...new Map(files.map((file) => [`${file.bucket}/${folderOf(file.key)}`, file])).values()];
  const listed = await mapLimit(folders, concurrency, async (file) => {
    const keys = new Set<string>();
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({
          Bucket: file.bucket,
          Prefix: folderOf(file.key),
          ...(token === undefined ? {} : { ContinuationToken: token }),
        }),
      );
      for (const object of page.Contents ?? [])
        if (object.Key !== undefined) keys.add(`${file.bucket}/${object.Key}`);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return keys;
  });
  const existing = new Set(listed.flatMap((keys) => [...keys]));
  return files.filter((file) => !existing.has(`${file.bucket}/${file.key}`));
}

function isExecutionAlreadyExists(error: unknown): boolean {
  return isAwsError(error, 'ExecutionAlreadyExists');
}
