import { PutObjectTaggingCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { mapLimit } from '../common/concurrency.ts';
import { runPrefix } from '../common/names.ts';
import { SUPERSEDED_RUN_TAG } from './run-contract.ts';

export interface TagRunOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly runId: string;
  /** Most objects tagged in one call; the rest wait for a later call (or an operator). @default 2000 */
  readonly maxObjects?: number;
  /** PutObjectTagging calls in flight. @default 10 */
  readonly concurrency?: number;
}

export interface TagRunResult {
  readonly runId: string;
  readonly tagged: number;
  /** More objects exist under the run's prefix than `maxObjects`; they are not tagged. */
  readonly truncated: boolean;
}

/**
 * Tags every object of a run (`runs/run=<run id>/`) with {@link SUPERSEDED_RUN_TAG}, so that the results
 * bucket's lifecycle rule expires them. Bounded: at most `maxObjects` objects per call.
 *
 * PutObjectTagging replaces an object's tag set: the pipeline's result objects carry no other tags.
 * Re-tagging an object already tagged is harmless, so a retried call is safe.
 */
export async function tagRunSuperseded(options: TagRunOptions): Promise<TagRunResult> {
  const { s3, bucket, runId, maxObjects = 2000, concurrency = 10 } = options;
  const prefix = runPrefix(runId);
  const keys: string[] = [];
  let truncated = false;
  // One more key than the bound is listed, to tell "exactly maxObjects" from "more remain".
  const pages = paginateListObjectsV2(
    { client: s3, pageSize: Math.min(1000, maxObjects + 1) },
    { Bucket: bucket, Prefix: prefix },
  );
  for await (const page of pages) {
    for (const object of page.Contents ?? []) {
      if (object.Key === undefined) continue;
      if (keys.length === maxObjects) {
        truncated = true;
        break;
      }
      keys.push(object.Key);
    }
    if (truncated) break;
  }

  await mapLimit(keys, concurrency, (key) =>
    s3.send(
      new PutObjectTaggingCommand({
        Bucket: bucket,
        Key: key,
        Tagging: { TagSet: [{ Key: SUPERSEDED_RUN_TAG.key, Value: SUPERSEDED_RUN_TAG.value }] },
      }),
    ),
  );
  return { runId, tagged: keys.length, truncated };
}
