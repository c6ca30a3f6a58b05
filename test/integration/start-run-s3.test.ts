import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManifestNotFoundError, runIdFor, startRunForManifest } from '../../lib/pipeline/start-run.ts';

// A local S3 endpoint (s3rver, files in a temp dir) on a free loopback port, for the real S3 calls.
// Step Functions stays mocked: there is no local stand-in worth starting for one call.
const BUCKET = 'cpc-cur-local';
const directory = mkdtempSync(join(tmpdir(), 'cpc-s3rver-'));
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  configureBuckets: [{ name: BUCKET }],
});
const sfn = mockClient(SFNClient);
let s3: S3Client;

beforeAll(async () => {
  const { port } = await server.run();
  s3 = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    // s3rver's default key pair; it checks signatures.
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
});

afterAll(async () => {
  s3.destroy();
  await server.close();
  rmSync(directory, { recursive: true, force: true });
});

const EXECUTION_ID = '0c9d8e7f-1a2b-4c3d-8e9f-a0b1c2d3e4f5';
const MANIFEST_KEY = 'cur/cpc-export/metadata/BILLING_PERIOD=2026-10/cpc-export-Manifest.json';
const dataKeys = [1, 2, 3].map(
  (n) => `cur/cpc-export/data/BILLING_PERIOD=2026-10/cpc-export-0000${n}.snappy.parquet`,
);

const put = (key: string, body: string) =>
  s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));

const run = (key = MANIFEST_KEY) =>
  startRunForManifest({
    s3,
    sfn: new SFNClient({ region: 'us-east-1' }),
    stateMachineArn: 'arn:aws:states:us-east-1:111122223333:stateMachine:cpc-attribution',
    bucket: BUCKET,
    key,
  });

describe('startRunForManifest against a local S3', () => {
  it('starts a run once every data file exists, and none after one is deleted', async () => {
    await put(
      MANIFEST_KEY,
      JSON.stringify({
        executionId: EXECUTION_ID,
        billingPeriod: { start: '2026-10-01T00:00:00.000Z', end: '2026-11-01T00:00:00.000Z' },
        bucket: BUCKET,
        reportName: 'cpc-export',
        dataFiles: dataKeys.map((key) => `s3://${BUCKET}/${key}`),
      }),
    );
    for (const key of dataKeys) await put(key, 'PAR1');
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec:local' });

    const started = await run();

    expect(started).toMatchObject({
      status: 'started',
      executionArn: 'arn:exec:local',
      executionName: runIdFor('2026-10', EXECUTION_ID),
    });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);

    const deleted = dataKeys[1] ?? '';
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: deleted }));
    sfn.resetHistory();

    const incomplete = await run();

    expect(incomplete).toMatchObject({ status: 'incomplete', missing: [{ bucket: BUCKET, key: deleted }] });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('raises ManifestNotFoundError when the manifest object does not exist', async () => {
    await expect(run('cur/other/metadata/BILLING_PERIOD=2026-10/other-Manifest.json')).rejects.toBeInstanceOf(
      ManifestNotFoundError,
    );
  });
});
