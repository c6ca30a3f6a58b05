import type { S3Client } from '@aws-sdk/client-s3';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { S3Event } from 'aws-lambda';
import * as z from 'zod';
import type { ManifestKind } from '../attribution/billing-formats.ts';
import { billingPeriodSchema } from '../common/names.ts';
import { countIncompleteAttempt, type DeliveryStore, recordDelivery } from './deliveries.ts';
import { cur2ManifestKey, isManifestKey } from './manifest.ts';
import { PipelineInputError, parseInput } from './run-contract.ts';
import {
  DataFilesMissingError,
  type RunLogger,
  type StartRunResult,
  startRunForManifest,
} from './start-run.ts';

/** What one S3 event did, counted per manifest object (repeats inside one event count as duplicates). */
export interface DeliverySummary {
  /** Runs started by this event. */
  readonly started: number;
  /** Manifests whose delivery already had a run (a repeated event), and repeats inside this event. */
  readonly duplicate: number;
  /**
   * Manifests whose data files were still missing at the last attempt (`attempts` of
   * {@link HandleDeliveryOptions}); no run started. Earlier attempts throw, so Lambda retries the event.
   */
  readonly incomplete: number;
  /** Manifests that list no data file. */
  readonly empty: number;
  /** Records whose key is not a CUR manifest (data files, other objects). */
  readonly ignored: number;
  readonly results: readonly StartRunResult[];
}

/** At least one manifest of the event could not be handled; the others were. */
export class DeliveryEventError extends AggregateError {
  override readonly name = 'DeliveryEventError';
  /** What the manifests that did not fail did (their metrics still count). */
  readonly summary: DeliverySummary;

  constructor(errors: readonly unknown[], message: string, summary: DeliverySummary) {
    super(errors, message);
    this.summary = summary;
  }
}

export interface HandleDeliveryOptions {
  readonly s3: S3Client;
  readonly sfn: SFNClient;
  readonly stateMachineArn: string;
  /**
   * Where deliveries are recorded (for run-watch) and incomplete attempts counted.
   * @default undefined: nothing recorded, and a delivery with missing files is reported `incomplete` at once
   */
  readonly deliveries?: DeliveryStore;
  /**
   * How many attempts an event gets (1 + Lambda's asynchronous retries): while a delivery's data files
   * are missing, the attempts before the last throw {@link DataFilesMissingError} so that Lambda retries
   * (one, then two minutes later); the last reports the delivery `incomplete` (the alarm's metric).
   * @default 3
   */
  readonly attempts?: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
  readonly logger?: RunLogger;
}

/**
 * The object key of an S3 event record, decoded: event keys are URL-encoded with `+` for a space.
 * @throws URIError for a key that is not valid percent-encoding (S3 never sends one)
 */
export function eventObjectKey(encoded: string): string {
  return decodeURIComponent(encoded.replace(/\+/g, ' '));
}

/**
 * Handles an S3 ObjectCreated event from the CUR bucket: starts one run per manifest object named in it
 * (see {@link startRunForManifest}), and ignores every other key. An event may hold several records;
 * each manifest is handled once per event, and each on its own, so one bad manifest does not keep the
 * others from starting. S3's test event (`s3:TestEvent`, no `Records`) is ignored.
 *
 * @throws DeliveryEventError after all manifests were tried, when any failed; retrying the whole event is
 *   safe because starting a run is idempotent
 */
export async function handleDeliveryEvent(
  event: Partial<S3Event>,
  options: HandleDeliveryOptions,
): Promise<DeliverySummary> {
  const seen = new Set<string>();
  const manifests: { bucket: string; key: string }[] = [];
  let duplicate = 0;
  let ignored = 0;
  for (const record of event.Records ?? []) {
    const bucket = record.s3?.bucket?.name;
    const rawKey = record.s3?.object?.key;
    if (bucket === undefined || rawKey === undefined || !record.eventName?.startsWith('ObjectCreated:')) {
      ignored++;
      continue;
    }
    const key = eventObjectKey(rawKey);
    if (!isManifestKey(key)) {
      ignored++;
      continue;
    }
    const id = `${bucket}/${key}`;
    if (seen.has(id)) {
      duplicate++;
      continue;
    }
    seen.add(id);
    manifests.push({ bucket, key });
  }

  const results: StartRunResult[] = [];
  const errors: unknown[] = [];
  for (const manifest of manifests) {
    try {
      const result = await startRunForManifest({
        s3: options.s3,
        sfn: options.sfn,
        stateMachineArn: options.stateMachineArn,
        bucket: manifest.bucket,
        key: manifest.key,
        logger: options.logger,
      });
      results.push(await afterStart(result, manifest, options));
    } catch (error: unknown) {
      errors.push(error);
    }
  }
  const count = (status: StartRunResult['status']) => results.filter((r) => r.status === status).length;
  const summary: DeliverySummary = {
    started: count('started'),
    duplicate: duplicate + count('duplicate'),
    incomplete: count('incomplete'),
    empty: count('empty'),
    ignored,
    results,
  };
  if (errors.length > 0) {
    const first = errors[0];
    throw new DeliveryEventError(
      errors,
      `${errors.length} of ${manifests.length} manifest(s) failed; first: ${first instanceof Error ? first.message : String(first)}`,
      summary,
    );
  }
  return summary;
}

/**
 * What follows a start: a started (or repeated) delivery is recorded for run-watch; a delivery with
 * missing files is retried by Lambda until its last attempt, which reports it.
 * @throws DataFilesMissingError before the last attempt of an incomplete delivery
 */
async function afterStart(
  result: StartRunResult,
  manifest: { bucket: string; key: string },
  options: HandleDeliveryOptions,
): Promise<StartRunResult> {
  const store = options.deliveries;
  if (store === undefined) return result;
  const now = (options.now ?? (() => new Date()))();
  if ((result.status === 'started' || result.status === 'duplicate') && result.deliveredAt !== undefined) {
    await recordDelivery(store, {
      billingPeriod: result.billingPeriod,
      executionId: result.executionId,
      runId: result.executionName,
      deliveredAt: result.deliveredAt,
      receivedAt: now.toISOString(),
      manifestKey: manifest.key,
    });
  }
  if (result.status !== 'incomplete') return result;
  const attempt = await countIncompleteAttempt(store, result, now);
  const attempts = options.attempts ?? 3;
  if (attempt < attempts) {
    options.logger?.warn('Data files missing; Lambda retries the event', {
      billingPeriod: result.billingPeriod,
      executionId: result.executionId,
      attempt,
      attempts,
    });
    throw new DataFilesMissingError(manifest, result.missing);
  }
  return result;
}

/** A request id: any text that names one request (it only feeds the run id's hash and readable part). */
const requestIdSchema = z.string().min(1).max(256);

/**
 * A request to re-run a billing period, sent by invoking on-delivery directly (README, "Re-run").
 * `requestId` makes the request idempotent: every invocation with the same id starts one run at most.
 */
export const rerunRequestSchema = z.object({
  rerun: z
    .object({
      billingPeriod: billingPeriodSchema,
      requestId: requestIdSchema.optional(),
      // A further export of `cpc:billingExports` by name; without it, the CUR 2.0 export.
      exportName: z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,128}$/, 'is not an export name (1-128 letters, digits, - or _)')
        .optional(),
      // With `cpc:sourceAccountIds`: the account whose latest delivery of the CUR 2.0 export the re-run
      // starts from (the run reads every account's latest delivery of the period either way).
      sourceAccount: z
        .string()
        .regex(/^\d{12}$/, 'is not a 12-digit account id')
        .optional(),
    })
    .strict(),
});
export type RerunRequest = z.infer<typeof rerunRequestSchema>;

export function isRerunRequest(event: unknown): boolean {
  return typeof event === 'object' && event !== null && 'rerun' in event;
}

/** What on-delivery was invoked with, once parsed: a re-run request, or an S3 event. */
export type OnDeliveryEvent =
  | { readonly kind: 'rerun'; readonly request: RerunRequest }
  | { readonly kind: 'delivery'; readonly event: Partial<S3Event> };

/**
 * Parses on-delivery's event once: an object with `rerun` must be a valid re-run request; anything
 * else is handled as an S3 event (records of other kinds are ignored, not refused).
 * @throws PipelineInputError for a re-run request that is not
 *   `{ "rerun": { "billingPeriod": "YYYY-MM", "requestId"?: "<text>" } }`
 */
export function parseOnDeliveryEvent(event: unknown): OnDeliveryEvent {
  if (isRerunRequest(event)) {
    return { kind: 'rerun', request: parseInput(rerunRequestSchema, event, 'rerun request') };
  }
  return { kind: 'delivery', event: (event ?? {}) as Partial<S3Event> };
}

export interface HandleRerunOptions extends HandleDeliveryOptions {
  /** The CUR bucket and the CUR 2.0 export the stack reads: `<curPrefix>/<exportName>`. */
  readonly curBucket: string;
  readonly curPrefix: string;
  readonly exportName: string;
  /**
   * The further exports (`cpc:billingExports`), by name, and the kind of manifest each writes: what a
   * re-run request naming one reads.
   * @default {} (only the CUR 2.0 export can be re-run)
   */
  readonly furtherExports?: Readonly<Record<string, ManifestKind>>;
  /**
   * The source accounts of the CUR 2.0 export (`cpc:sourceAccountIds`), each delivering into
   * `<curPrefix>/<account>/<exportName>/`.
   * @default [] (the export is `<curPrefix>/<exportName>/`)
   */
  readonly sourceAccounts?: readonly string[];
  /**
   * The request id of the invocation (the Lambda context's `awsRequestId`), used when the request has no
   * `requestId`: Lambda keeps it across the retries of an asynchronous invocation, so those start one
   * run; a caller that retries a synchronous invocation itself must send a `requestId`.
   */
  readonly invocationId: string;
}

// Where each kind of export writes a period's manifest: Data Exports' in lib/pipeline/manifest.ts, which
// prepare-run shares; a legacy report's below (only re-runs look for one).
export { cur2ManifestKey } from './manifest.ts';

/**
 * Where a legacy report writes the manifest of a billing period: the folder of the period's range,
 * `<YYYYMM01>-<first of the next month>` (`20261201-20270101` for 2026-12).
 */
export function legacyManifestKey(curPrefix: string, reportName: string, billingPeriod: string): string {
  const year = Number(billingPeriod.slice(0, 4));
  const month = Number(billingPeriod.slice(5, 7));
  const next = month === 12 ? `${year + 1}01` : `${year}${String(month + 1).padStart(2, '0')}`;
  const range = `${billingPeriod.replace('-', '')}01-${next}01`;
  return `${curPrefix}/${reportName}/${range}/${reportName}-Manifest.json`;
}

/** The manifest of a billing period in an export whose manifests are of this kind. */
export function periodManifestKey(
  kind: ManifestKind,
  curPrefix: string,
  exportName: string,
  billingPeriod: string,
): string {
  return kind === 'legacy-cur'
    ? legacyManifestKey(curPrefix, exportName, billingPeriod)
    : cur2ManifestKey(curPrefix, exportName, billingPeriod);
}

/**
 * Re-runs a billing period on its latest delivery, for when the customers, rules or telemetry changed:
 * reads the period's current manifest, checks its data files like a delivery, and starts a new run named
 * after (billing period, execution id, request id) (see `rerun` of {@link startRunForManifest}): a
 * repeated request answers `duplicate` and starts nothing. The run publishes like any other: only when
 * its checks pass, and only if no later delivery was published meanwhile.
 *
 * @throws ManifestNotFoundError when the period has no delivery
 */
export async function handleRerunRequest(
  request: RerunRequest,
  options: HandleRerunOptions,
): Promise<StartRunResult> {
  const { rerun } = request;
  const exportName = rerun.exportName ?? options.exportName;
  const kind: ManifestKind | undefined =
    exportName === options.exportName ? 'data-exports' : options.furtherExports?.[exportName];
  if (kind === undefined) {
    const known = [options.exportName, ...Object.keys(options.furtherExports ?? {})];
    throw new PipelineInputError(
      `rerun request: exportName ${exportName} is none of the stack's exports (${known.join(', ')})`,
    );
  }
  const sources =
    kind === 'data-exports' && exportName === options.exportName ? (options.sourceAccounts ?? []) : [];
  if (rerun.sourceAccount !== undefined && !sources.includes(rerun.sourceAccount)) {
    throw new PipelineInputError(
      `rerun request: sourceAccount ${rerun.sourceAccount} is not one of the export's source accounts (${sources.join(', ') || 'none'})`,
    );
  }
  if (sources.length > 0 && rerun.sourceAccount === undefined) {
    throw new PipelineInputError(
      `rerun request: name the sourceAccount whose delivery to start from (one of ${sources.join(', ')})`,
    );
  }
  const prefix =
    rerun.sourceAccount === undefined ? options.curPrefix : `${options.curPrefix}/${rerun.sourceAccount}`;
  return startRunForManifest({
    s3: options.s3,
    sfn: options.sfn,
    stateMachineArn: options.stateMachineArn,
    bucket: options.curBucket,
    key: periodManifestKey(kind, prefix, exportName, rerun.billingPeriod),
    rerun: {
      requestId: rerun.requestId ?? options.invocationId,
      requestedAt: (options.now ?? (() => new Date()))(),
    },
    logger: options.logger,
  });
}
