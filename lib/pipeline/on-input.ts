import { createHash } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { checkFixedCustomers } from '../attribution/drivers.ts';
import type { CostBasis } from '../attribution/rules.ts';
import { isAwsError, isNotFound } from '../common/aws-errors.ts';
import { billingPeriodMonthsBefore } from '../common/dates.ts';
import { CUSTOMERS_KEY, PREFIXES, RULES_KEY } from '../common/names.ts';
import { InputError } from '../inputs/input-error.ts';
import { type DeliveryRecord, type DeliveryStore, listDeliveries, readLatestDelivery } from './deliveries.ts';
import { claimLateRerun, isLateFor } from './late-telemetry.ts';
import { eventObjectKey } from './on-delivery.ts';
import { checkCustomersFile, loadRules, parseRulesFile, validateCustomers } from './prepare-run.ts';
import type { RunLogger } from './start-run.ts';

/*
 * on-input (docs/aws-pipeline.md, "Your inputs in the data bucket"): what happens when a user's input
 * lands in the data bucket.
 * - An upload under `customers/incoming/` or `rules/incoming/` is checked as a run would check it; a valid
 *   one becomes the current file and re-runs the open billing periods, an invalid one is reported to the
 *   operations topic with its exact error and the current file stays. The upload itself is never touched.
 * - Telemetry for a day that a period's latest run already counted re-runs that period, debounced.
 * Every re-run goes through on-delivery's re-run request, the one serialised run path.
 */

/** A re-run of a billing period, as on-delivery's `{ "rerun": ... }` request takes it. */
export interface RerunRequest {
  readonly billingPeriod: string;
  /** Makes the request idempotent: a repeated S3 event asks again with the same id and starts nothing. */
  readonly requestId: string;
  /** The export of the period's latest delivery; absent: the CUR 2.0 export. */
  readonly exportName?: string;
  /** The source account of that delivery, when the export has several (`cpc:sourceAccountIds`). */
  readonly sourceAccount?: string;
}

/** An upload that was not accepted, as the operations topic is told. */
export interface Rejection {
  readonly file: string;
  /** The error, naming file, column and row. */
  readonly error: string;
  /** What the runs go on reading. */
  readonly current: string;
}

export interface OnInputOptions {
  readonly s3: S3Client;
  readonly dataBucket: string;
  /** The deployment's tag key and cost basis, for a rules upload that does not set them. */
  readonly tenantTagKey: string;
  readonly costBasis: CostBasis;
  /** The CUR prefix, to tell a delivery's export from its manifest key. */
  readonly curPrefix: string;
  /** Where on-delivery records deliveries, and the late-telemetry debounce lives (the serving table). */
  readonly deliveries: DeliveryStore;
  readonly requestRerun: (request: RerunRequest) => Promise<void>;
  readonly reject: (rejection: Rejection) => Promise<void>;
  /**
   * How many billing periods are open, the current one included: a valid customers or rules upload
   * re-runs those with a delivery. CUR restates the previous month for about two weeks.
   * @default 2
   */
  readonly openPeriods?: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
  readonly logger?: RunLogger;
}

export interface InputSummary {
  /** Uploads that became current (or already were: a repeated event). */
  readonly accepted: readonly string[];
  readonly rejected: readonly string[];
  /** Uploads older than the current file's: a later upload won, nothing changed. */
  readonly superseded: readonly string[];
  /** Periods that received late telemetry, and whether a re-run started now or waits for the sweep. */
  readonly lateTelemetry: readonly { readonly billingPeriod: string; readonly rerun: boolean }[];
  readonly reruns: readonly RerunRequest[];
  /** Records that are none of the above: telemetry that is not late, other keys, other events. */
  readonly ignored: number;
}

/** What a data-bucket key is to on-input. */
export type InputObject =
  | { readonly kind: 'customers' | 'rules'; readonly key: string }
  | { readonly kind: 'telemetry'; readonly key: string; readonly usageDay: string };

const USAGE_DAY_KEY = /^telemetry\/usage_day=(\d{4}-\d{2}-\d{2})\/./;

export function inputObjectOf(key: string): InputObject | undefined {
  // A "folder" object (made by the console) is no upload.
  if (key.endsWith('/')) return undefined;
  if (key.startsWith(PREFIXES.customersIncoming)) return { kind: 'customers', key };
  if (key.startsWith(PREFIXES.rulesIncoming)) return { kind: 'rules', key };
  const day = USAGE_DAY_KEY.exec(key)?.[1];
  if (day !== undefined && !Number.isNaN(Date.parse(`${day}T00:00:00Z`))) {
    return { kind: 'telemetry', key, usageDay: day };
  }
  return undefined;
}

/**
 * Handles an S3 ObjectCreated event of the data bucket. Each upload is handled on its own, oldest
 * record first; late telemetry is claimed once per period and event.
 * @throws the first AWS error after every record was tried (Lambda retries the event: every step is
 *   idempotent, a repeated upload is found current and its re-runs carry the same request ids)
 */
export async function handleInputEvent(
  event: Partial<S3Event>,
  options: OnInputOptions,
): Promise<InputSummary> {
  const now = (options.now ?? (() => new Date()))();
  const summary = {
    accepted: [] as string[],
    rejected: [] as string[],
    superseded: [] as string[],
    lateTelemetry: [] as { billingPeriod: string; rerun: boolean }[],
    reruns: [] as RerunRequest[],
    ignored: 0,
  };
  const latePeriods = new Map<string, string[]>();
  const errors: unknown[] = [];
  for (const record of event.Records ?? []) {
    const rawKey = record.s3?.object?.key;
    const object =
      rawKey !== undefined &&
      record.eventName?.startsWith('ObjectCreated:') &&
      record.s3.bucket?.name === options.dataBucket
        ? inputObjectOf(eventObjectKey(rawKey))
        : undefined;
    if (object === undefined) {
      summary.ignored++;
      continue;
    }
    if (object.kind === 'telemetry') {
      const period = object.usageDay.slice(0, 7);
      latePeriods.set(period, [...(latePeriods.get(period) ?? []), object.usageDay]);
      continue;
    }
    try {
      const outcome = await acceptUpload(object.kind, object.key, options, now);
      summary[outcome.status].push(object.key);
      summary.reruns.push(...outcome.reruns);
    } catch (error: unknown) {
      errors.push(error);
    }
  }
  for (const [billingPeriod, days] of latePeriods) {
    try {
      const outcome = await lateTelemetry(billingPeriod, days, options, now);
      if (outcome === undefined) summary.ignored += days.length;
      else {
        summary.lateTelemetry.push({ billingPeriod, rerun: outcome.rerun !== undefined });
        if (outcome.rerun) summary.reruns.push(outcome.rerun);
      }
    } catch (error: unknown) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw errors[0];
  return summary;
}

/**
 * Starts the late-telemetry re-runs that waited for their hour (the hourly sweep): one per period of
 * the last three months whose telemetry arrived while its previous re-run was debounced.
 */
export async function sweepLateTelemetry(options: OnInputOptions): Promise<readonly RerunRequest[]> {
  const now = (options.now ?? (() => new Date()))();
  const reruns: RerunRequest[] = [];
  for (const delivery of await listDeliveries(options.deliveries, billingPeriodMonthsBefore(now, 2))) {
    if (await claimLateRerun(options.deliveries, delivery.billingPeriod, now, { onlyPending: true })) {
      const request = rerunOf(
        delivery,
        `late-telemetry-${delivery.billingPeriod}-${now.toISOString()}`,
        options,
      );
      await options.requestRerun(request);
      reruns.push(request);
    }
  }
  return reruns;
}

async function lateTelemetry(
  billingPeriod: string,
  days: readonly string[],
  options: OnInputOptions,
  now: Date,
): Promise<{ readonly rerun?: RerunRequest } | undefined> {
  const delivery = await readLatestDelivery(options.deliveries, billingPeriod);
  if (delivery === undefined || !days.some((day) => isLateFor(day, delivery))) return undefined;
  if (!(await claimLateRerun(options.deliveries, billingPeriod, now))) {
    options.logger?.info('Late telemetry waits for the hourly sweep: a re-run started within the hour', {
      billingPeriod,
    });
    return {};
  }
  const rerun = rerunOf(delivery, `late-telemetry-${billingPeriod}-${now.toISOString()}`, options);
  await options.requestRerun(rerun);
  return { rerun };
}

function rerunOf(delivery: DeliveryRecord, requestId: string, options: OnInputOptions): RerunRequest {
  return {
    billingPeriod: delivery.billingPeriod,
    requestId,
    ...exportOf(delivery.manifestKey, options.curPrefix),
  };
}

/**
 * `<curPrefix>/<export>/...` -> the export; `<curPrefix>/<account>/<export>/...` (a source account's
 * folder, docs/aws-pipeline.md "Organizations") -> the export and the account.
 */
function exportOf(
  manifestKey: string | undefined,
  curPrefix: string,
): { readonly exportName?: string; readonly sourceAccount?: string } {
  if (manifestKey === undefined || !manifestKey.startsWith(`${curPrefix}/`)) return {};
  const [first = '', second = ''] = manifestKey.slice(curPrefix.length + 1).split('/');
  if (/^\d{12}$/.test(first) && second !== '') return { exportName: second, sourceAccount: first };
  return first === '' ? {} : { exportName: first };
}

type UploadOutcome = {
  readonly status: 'accepted' | 'rejected' | 'superseded';
  readonly reruns: readonly RerunRequest[];
};

const TARGETS = { customers: CUSTOMERS_KEY, rules: RULES_KEY } as const;
const SUFFIXES = { customers: /\.csv$/i, rules: /\.json$/i } as const;

async function acceptUpload(
  kind: 'customers' | 'rules',
  key: string,
  options: OnInputOptions,
  now: Date,
): Promise<UploadOutcome> {
  const { s3, dataBucket } = options;
  const file = `s3://${dataBucket}/${key}`;
  const target = TARGETS[kind];
  const upload = await s3.send(new GetObjectCommand({ Bucket: dataBucket, Key: key }));
  const text = (await upload.Body?.transformToString('utf-8')) ?? '';
  const uploadedAt = (upload.LastModified ?? now).toISOString();
  try {
    if (!SUFFIXES[kind].test(key)) {
      throw new InputError(`is not a ${kind === 'customers' ? '.csv' : '.json'} file`, { file });
    }
    await check(kind, text, file, options);
  } catch (error: unknown) {
    if (!(error instanceof InputError)) throw error;
    options.logger?.warn('Upload rejected', { file, error: error.message });
    await options.reject({ file, error: error.message, current: `s3://${dataBucket}/${target}` });
    return { status: 'rejected', reruns: [] };
  }

  const promoted = await promote(s3, dataBucket, target, { key, text, uploadedAt });
  if (promoted === 'superseded') return { status: 'superseded', reruns: [] };
  // One request id per upload version: a repeated event re-asks and on-delivery starts nothing new.
  const upload_id = createHash('sha256').update(`${key}\n${upload.VersionId ?? upload.ETag ?? uploadedAt}`);
  const requestId = `${kind}-upload-${upload_id.digest('hex').slice(0, 16)}`;
  const open = await listDeliveries(
    options.deliveries,
    billingPeriodMonthsBefore(now, (options.openPeriods ?? 2) - 1),
  );
  const reruns = open.map((delivery) => rerunOf(delivery, requestId, options));
  for (const rerun of reruns) await options.requestRerun(rerun);
  options.logger?.info('Upload accepted', { file, current: target, reruns: reruns.length });
  return { status: 'accepted', reruns };
}

/** The checks a run makes, on the upload with the other current input. */
async function check(
  kind: 'customers' | 'rules',
  text: string,
  file: string,
  options: OnInputOptions,
): Promise<void> {
  if (kind === 'customers') {
    const { customerIds } = checkCustomersFile(text, file);
    const { rules, source } = await loadRules(options);
    checkFixedCustomers(rules.rules, customerIds, source);
    return;
  }
  const rules = parseRulesFile(text, file, options);
  const customers = await currentCustomerIds(options);
  if (customers !== undefined) checkFixedCustomers(rules.rules, customers, file);
}

async function currentCustomerIds(options: OnInputOptions): Promise<ReadonlySet<string> | undefined> {
  try {
    return (await validateCustomers(options.s3, options.dataBucket)).customerIds;
  } catch (error: unknown) {
    // No current customers yet: a rules upload is checked on its own; the first customers upload checks both.
    if (error instanceof InputError && error.message.includes('no customers file')) return undefined;
    throw error;
  }
}

const CONDITIONAL_CONFLICTS = ['PreconditionFailed', 'ConditionalRequestConflict'];

/**
 * Writes the upload's text as the current file, unless the current file came from a later upload.
 * The write is conditional on the current file being the one just read (S3 conditional writes), so of
 * two uploads handled at once the later one ends current. Earlier versions stay as object versions.
 */
async function promote(
  s3: S3Client,
  bucket: string,
  target: string,
  upload: { readonly key: string; readonly text: string; readonly uploadedAt: string },
): Promise<'promoted' | 'current' | 'superseded'> {
  const sourceKey = encodeURIComponent(upload.key);
  for (let attempt = 1; ; attempt++) {
    let current: { etag?: string; sourceKey?: string; uploadedAt?: string } | undefined;
    try {
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: target }));
      current = {
        ...(head.ETag ? { etag: head.ETag } : {}),
        ...(head.Metadata?.['source-key'] ? { sourceKey: head.Metadata['source-key'] } : {}),
        ...(head.Metadata?.['uploaded-at'] ? { uploadedAt: head.Metadata['uploaded-at'] } : {}),
      };
    } catch (error: unknown) {
      if (!isNotFound(error)) throw error;
    }
    if (current?.sourceKey === sourceKey && current.uploadedAt === upload.uploadedAt) return 'current';
    if (current?.uploadedAt !== undefined && current.uploadedAt > upload.uploadedAt) return 'superseded';
    try {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: target,
          Body: upload.text,
          Metadata: { 'source-key': sourceKey, 'uploaded-at': upload.uploadedAt },
          ...(current?.etag === undefined ? { IfNoneMatch: '*' } : { IfMatch: current.etag }),
        }),
      );
      return 'promoted';
    } catch (error: unknown) {
      if (attempt >= 3 || !CONDITIONAL_CONFLICTS.some((name) => isAwsError(error, name))) throw error;
    }
  }
}
