import * as z from 'zod';
import { InputError } from './input-error.ts';

/** What the local run needs of a CUR 2.0 or legacy CUR manifest. */
export interface CurManifest {
  /** `YYYY-MM`: from the manifest's `billingPeriod.start`, else from its path's period folder. */
  readonly billingPeriod: string;
  /** `executionId` (CUR 2.0) or `assemblyId` (legacy CUR). */
  readonly id: string;
  /** The object key of each listed data file, in manifest order, without duplicates. */
  readonly keys: readonly string[];
  /** Each listed data file as an `s3://` URI (for messages). */
  readonly uris: readonly string[];
}

const nonEmpty = z.string().trim().min(1);
const period = z.union([z.object({ start: nonEmpty }).loose(), nonEmpty]).optional();
/** CUR 2.0 lists `s3://bucket/key` URIs; legacy CUR lists keys in the manifest's `bucket`. */
const cur2Schema = z
  .object({ executionId: nonEmpty, dataFiles: z.array(nonEmpty), billingPeriod: period })
  .loose();
const legacySchema = z
  .object({
    assemblyId: nonEmpty,
    reportKeys: z.array(nonEmpty),
    bucket: nonEmpty.optional(),
    billingPeriod: period,
  })
  .loose();

/** A CUR 2.0 manifest's (and data files') billing period folder: `BILLING_PERIOD=YYYY-MM`. */
export const CUR2_PERIOD_FOLDER = /^BILLING_PERIOD=(\d{4}-(?:0[1-9]|1[0-2]))$/;
/** A legacy CUR delivery's folder: `YYYYMM01-YYYYMMDD`. */
export const LEGACY_RANGE_FOLDER = /^(\d{4})(0[1-9]|1[0-2])01-\d{8}$/;

/**
 * `YYYY-MM` from the start of a billing period: `20261001T000000.000Z` (legacy CUR), ISO 8601
 * `2026-10-01T00:00:00.000Z`, `2026-10-01` or `2026-10`. A start that is not the first of a month means the
 * field was misread, so it is refused rather than rounded into some month. Shared by the local run and
 * the deployed pipeline (lib/pipeline/manifest.ts), which read the same manifests.
 */
export function billingPeriodFromStart(start: string): string | undefined {
  const text = start.trim();
  const match =
    /^(\d{4})(\d{2})(\d{2})T/.exec(text) ?? // 20261001T000000.000Z
    /^(\d{4})-(\d{2})-(\d{2})(?:T|$)/.exec(text) ?? // 2026-10-01T00:00:00.000Z, 2026-10-01
    /^(\d{4})-(\d{2})()$/.exec(text); // 2026-10
  if (match === null) return undefined;
  const [, year, month, day] = match;
  if (month === undefined || !/^(?:0[1-9]|1[0-2])$/.test(month)) return undefined;
  if (day !== '' && day !== '01') return undefined;
  return `${year}-${month}`;
}

/** The billing period a path's (or key's) folders name: `BILLING_PERIOD=YYYY-MM` or a legacy `YYYYMM01-YYYYMMDD`. */
export function billingPeriodFromPath(path: string): string | undefined {
  for (const segment of path.split('/')) {
    const cur2 = CUR2_PERIOD_FOLDER.exec(segment);
    if (cur2?.[1] !== undefined) return cur2[1];
    const legacy = LEGACY_RANGE_FOLDER.exec(segment);
    if (legacy?.[1] !== undefined && legacy[2] !== undefined) return `${legacy[1]}-${legacy[2]}`;
  }
  return undefined;
}

/**
 * Reads a manifest file's text as the local run uses it (told by content: `executionId`/`dataFiles`
 * or `assemblyId`/`reportKeys`). The deployed pipeline reads manifests from S3 with its own parser
 * (lib/pipeline/manifest.ts), which also resolves buckets; here only the keys matter, since a listed
 * file is found on disk by the end of its key.
 * @param path the manifest's path with `/` separators, named in errors and read for its period folder
 * @throws InputError when the text is not a CUR 2.0 or legacy CUR manifest
 */
export function parseCurManifest(text: string, path: string): CurManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InputError('is not valid JSON (truncated or corrupt?): a CUR manifest is a JSON object', {
      file: path,
    });
  }
  const cur2 = cur2Schema.safeParse(json);
  const legacy = legacySchema.safeParse(json);
  let id: string;
  let uris: string[];
  let keys: string[];
  let start: z.infer<typeof period>;
  if (cur2.success) {
    id = cur2.data.executionId;
    start = cur2.data.billingPeriod;
    uris = cur2.data.dataFiles;
    keys = uris.map((uri) => uri.replace(/^s3:\/\/[^/]+\//, ''));
  } else if (legacy.success) {
    id = legacy.data.assemblyId;
    start = legacy.data.billingPeriod;
    keys = legacy.data.reportKeys;
    const bucket = legacy.data.bucket;
    uris = keys.map((key) => (bucket === undefined ? key : `s3://${bucket}/${key}`));
  } else {
    throw new InputError(
      'is neither a CUR 2.0 manifest (executionId, dataFiles) nor a legacy CUR manifest (assemblyId, reportKeys)',
      { file: path },
    );
  }
  const startText = typeof start === 'string' ? start : start?.start;
  const billingPeriod =
    startText === undefined ? billingPeriodFromPath(path) : billingPeriodFromStart(startText);
  if (billingPeriod === undefined) {
    throw new InputError(
      startText === undefined
        ? 'has no billingPeriod and its folder names no billing period'
        : `billingPeriod start "${startText}" is not the start of a month`,
      { file: path },
    );
  }
  const unique = [...new Set(keys)];
  return { billingPeriod, id, keys: unique, uris: unique.map((key) => uris[keys.indexOf(key)] as string) };
}
