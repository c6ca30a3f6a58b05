import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  NoSuchKey,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import {
  ExecutionAlreadyExists,
  SFNClient,
  StartExecutionCommand,
  type StartExecutionCommandInput,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  isManifestKey,
  ManifestError,
  manifestKeyFormat,
  parseManifest,
} from '../../lib/pipeline/manifest.ts';
import {
  DataFilesMissingError,
  ManifestNotFoundError,
  type RunInput,
  runIdFor,
  startRunForManifest,
} from '../../lib/pipeline/start-run.ts';

// mockClient on the class stubs every instance, so the clients handed to the core never reach the network.
const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);
const clients = { s3: new S3Client({ region: 'eu-west-1' }), sfn: new SFNClient({ region: 'eu-west-1' }) };
beforeEach(() => {
  s3.reset();
  sfn.reset();
});

const BUCKET = 'cpc-cur-111122223333';
const STATE_MACHINE = 'arn:aws:states:eu-west-1:111122223333:stateMachine:cpc-attribution';
const EXECUTION_ID = '6d2f3c1e-4b5a-4f7e-9a8b-1c2d3e4f5a6b';
const CUR2_KEY = 'cur/cpc-export/metadata/BILLING_PERIOD=2026-10/cpc-export-Manifest.json';
const cur2DataKey = (n: number) =>
  `cur/cpc-export/data/BILLING_PERIOD=2026-10/cpc-export-${String(n).padStart(5, '0')}.snappy.parquet`;

/** A CUR 2.0 (Data Exports) manifest as AWS writes it, with fields the parser does not use. */
function cur2Manifest(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    version: '2.0',
    exportArn: 'arn:aws:bcm-data-exports:us-east-1:111122223333:export/cpc-export-0a1b2c3d',
    reportName: 'cpc-export',
    bucket: BUCKET,
    executionId: EXECUTION_ID,
    billingPeriod: { start: '2026-10-01T00:00:00.000Z', end: '2026-11-01T00:00:00.000Z' },
    dataFiles: [1, 2, 3].map((n) => `s3://${BUCKET}/${cur2DataKey(n)}`),
    columns: [{ name: 'line_item_unblended_cost', type: 'double' }],
    ...overrides,
  });
}

const ASSEMBLY_ID = 'a1b2c3d4-0000-4000-8000-00000000beef';
const LEGACY_KEY = 'legacy/cpc-legacy/20261001-20261101/cpc-legacy-Manifest.json';
const legacyDataKey = (n: number) =>
  `legacy/cpc-legacy/20261001-20261101/${ASSEMBLY_ID}/cpc-legacy-${n}.csv.gz`;

/** A legacy CUR manifest: keys without bucket, compact timestamps. */
function legacyManifest(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    assemblyId: ASSEMBLY_ID,
    account: '111122223333',
    columns: [{ category: 'identity', name: 'LineItemId', type: 'String' }],
    charset: 'UTF-8',
    compression: 'GZIP',
    contentType: 'text/csv',
    reportId: '0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0',
    reportName: 'cpc-legacy',
    billingPeriod: { start: '20261001T000000.000Z', end: '20261101T000000.000Z' },
    bucket: BUCKET,
    reportKeys: [legacyDataKey(1), legacyDataKey(2)],
    additionalArtifactKeys: [],
    ...overrides,
  });
}

/** A GetObject response whose body is the given text, as the SDK's stream mixin exposes it. */
function body(text: string): GetObjectCommandOutput {
  return {
    $metadata: {},
    Body: { transformToString: async () => text } as unknown as GetObjectCommandOutput['Body'],
  };
}

/**
 * S3 listing as the service answers it, over these keys of BUCKET: the keys under the prefix, in key
 * order, `pageSize` at a time (S3 gives at most 1,000).
 */
function objectsExist(keys: readonly string[], pageSize = 1000) {
  s3.on(ListObjectsV2Command).callsFake((input: ListObjectsV2CommandInput) => {
    const under = keys.filter((key) => key.startsWith(input.Prefix ?? '')).sort();
    const start = input.ContinuationToken === undefined ? 0 : Number(input.ContinuationToken);
    const page = under.slice(start, start + pageSize);
    const more = start + pageSize < under.length;
    return {
      Contents: page.map((Key) => ({ Key })),
      IsTruncated: more,
      ...(more ? { NextContinuationToken: String(start + pageSize) } : {}),
    };
  });
}
const CUR2_DATA_FOLDER = 'cur/cpc-export/data/BILLING_PERIOD=2026-10/';

/**
 * Step Functions as the service behaves for a Standard workflow: one execution per name; the same name with
 * the same input while it runs returns that execution; otherwise ExecutionAlreadyExists.
 */
function fakeStepFunctions(options: { closeAfterStart: boolean }) {
  const executions = new Map<string, { input: string | undefined; arn: string; running: boolean }>();
  sfn.on(StartExecutionCommand).callsFake((command: StartExecutionCommandInput) => {
    const name = command.name ?? '';
    const existing = executions.get(name);
    if (existing === undefined) {
      const arn = `arn:aws:states:eu-west-1:111122223333:execution:cpc-attribution:${name}`;
      executions.set(name, { input: command.input, arn, running: !options.closeAfterStart });
      return { executionArn: arn, startDate: new Date() };
    }
    if (existing.running && existing.input === command.input) {
      return { executionArn: existing.arn, startDate: new Date() };
    }
    throw new ExecutionAlreadyExists({
      message: `Execution Already Exists: '${existing.arn}'`,
      $metadata: {},
    });
  });
  return executions;
}

const run = (key: string, extra: { failOnMissing?: boolean } = {}) =>
  startRunForManifest({ ...clients, stateMachineArn: STATE_MACHINE, bucket: BUCKET, key, ...extra });

const startInputs = (): RunInput[] =>
  sfn
    .commandCalls(StartExecutionCommand)
    .map((call) => JSON.parse(call.args[0].input.input ?? '') as RunInput);

describe('startRunForManifest', () => {
  it('starts one run for a CUR 2.0 manifest, named after billing period and execution id', async () => {
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: CUR2_KEY }).resolves({
      ...body(cur2Manifest()),
      LastModified: new Date('2026-10-14T08:03:11.000Z'),
    });
    // A stray file in the folder does not matter: only the listed ones must exist.
    objectsExist([1, 2, 3, 4].map(cur2DataKey));
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec:1', startDate: new Date() });

    const result = await run(CUR2_KEY);

    const name = runIdFor('2026-10', EXECUTION_ID);
    expect(result).toEqual({
      status: 'started',
      executionArn: 'arn:exec:1',
      executionName: name,
      billingPeriod: '2026-10',
      executionId: EXECUTION_ID,
      deliveredAt: '2026-10-14T08:03:11.000Z',
    });
    // The three files share a folder: one listing checks them all.
    expect(s3).toHaveReceivedCommandTimes(ListObjectsV2Command, 1);
    expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, { Bucket: BUCKET, Prefix: CUR2_DATA_FOLDER });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { stateMachineArn: STATE_MACHINE, name });
    expect(startInputs()).toEqual([
      {
        billingPeriod: '2026-10',
        executionId: EXECUTION_ID,
        format: 'cur2',
        manifest: { bucket: BUCKET, key: CUR2_KEY },
        dataFiles: 3,
        runId: name,
      },
    ]);
    expect(name).toBe(`2026-10_${EXECUTION_ID}_${name.slice(-24)}`);
  });

  it('starts one run when the same manifest event arrives twice (the second is refused by name)', async () => {
    s3.on(GetObjectCommand).resolves(body(cur2Manifest()));
    objectsExist([1, 2, 3].map(cur2DataKey));
    const executions = fakeStepFunctions({ closeAfterStart: true });

    const first = await run(CUR2_KEY);
    const second = await run(CUR2_KEY);

    expect(first.status).toBe('started');
    expect(second).toEqual({
      status: 'duplicate',
      executionName: first.executionName,
      billingPeriod: '2026-10',
      executionId: EXECUTION_ID,
    });
    const names = sfn.commandCalls(StartExecutionCommand).map((call) => call.args[0].input.name);
    expect(names).toEqual([first.executionName, first.executionName]);
    expect(executions.size).toBe(1);
  });

  it('treats the idempotent answer for a repeat of a running execution as the same run', async () => {
    s3.on(GetObjectCommand).resolves(body(cur2Manifest()));
    objectsExist([1, 2, 3].map(cur2DataKey));
    const executions = fakeStepFunctions({ closeAfterStart: false });

    const first = await run(CUR2_KEY);
    const second = await run(CUR2_KEY);

    expect(first.status).toBe('started');
    expect(second.status).toBe('started');
    expect(second).toEqual(first);
    const inputs = sfn.commandCalls(StartExecutionCommand).map((call) => call.args[0].input.input);
    expect(inputs[0]).toBe(inputs[1]);
    expect(executions.size).toBe(1);
  });

  it('starts no run while a listed data file is missing, and lists it', async () => {
    s3.on(GetObjectCommand).resolves(body(cur2Manifest()));
    objectsExist([cur2DataKey(1), cur2DataKey(3)]);

    const result = await run(CUR2_KEY);

    expect(result).toEqual({
      status: 'incomplete',
      missing: [{ bucket: BUCKET, key: cur2DataKey(2) }],
      executionName: runIdFor('2026-10', EXECUTION_ID),
      billingPeriod: '2026-10',
      executionId: EXECUTION_ID,
    });
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('throws DataFilesMissingError instead when the caller asks for it', async () => {
    s3.on(GetObjectCommand).resolves(body(cur2Manifest()));
    objectsExist([]);

    const error = await run(CUR2_KEY, { failOnMissing: true }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DataFilesMissingError);
    expect((error as DataFilesMissingError).missing).toHaveLength(3);
    expect((error as Error).message).toContain(`s3://${BUCKET}/${CUR2_KEY}: 3 data file(s) missing`);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('fails, rather than reporting files missing, when S3 denies the listing', async () => {
    s3.on(GetObjectCommand).resolves(body(cur2Manifest()));
    s3.on(ListObjectsV2Command).rejects(
      new S3ServiceException({
        name: 'Forbidden',
        $fault: 'client',
        message: 'Forbidden',
        $metadata: { httpStatusCode: 403 },
      }),
    );

    await expect(run(CUR2_KEY)).rejects.toThrow('Forbidden');
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('finds a missing file on the third page of a folder of 2,500 files', async () => {
    const keys = Array.from({ length: 2500 }, (_, i) => cur2DataKey(i + 1));
    const listed = keys.map((key) => `s3://${BUCKET}/${key}`);
    s3.on(GetObjectCommand).resolves(body(cur2Manifest({ dataFiles: listed })));
    // cur2DataKey(2400) is on the third page (keys 2001-2500) and missing.
    objectsExist(keys.filter((key) => key !== cur2DataKey(2400)));

    const result = await run(CUR2_KEY);

    expect(result).toMatchObject({
      status: 'incomplete',
      missing: [{ bucket: BUCKET, key: cur2DataKey(2400) }],
    });
    expect(s3).toHaveReceivedCommandTimes(ListObjectsV2Command, 3);
    expect(s3).toHaveReceivedNthCommandWith(ListObjectsV2Command, 3, {
      Bucket: BUCKET,
      Prefix: CUR2_DATA_FOLDER,
      ContinuationToken: '2000',
    });
  });

  it('lists at most 8 folders at a time', async () => {
    const folderKey = (n: number) => `cur/cpc-export/data/BILLING_PERIOD=2026-10/part=${n}/f.parquet`;
    const files = Array.from({ length: 30 }, (_, i) => `s3://${BUCKET}/${folderKey(i + 1)}`);
    s3.on(GetObjectCommand).resolves(body(cur2Manifest({ dataFiles: files })));
    let inFlight = 0;
    let peak = 0;
    s3.on(ListObjectsV2Command).callsFake(async (input: ListObjectsV2CommandInput) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 2));
      inFlight -= 1;
      return { Contents: [{ Key: `${input.Prefix}f.parquet` }], IsTruncated: false };
    });
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec:1' });

    const result = await run(CUR2_KEY);

    expect(result.status).toBe('started');
    expect(s3).toHaveReceivedCommandTimes(ListObjectsV2Command, 30);
    expect(peak).toBe(8);
  });

  it('starts a run for a legacy CUR manifest, reading its keys in the manifest bucket', async () => {
    s3.on(GetObjectCommand).resolves(body(legacyManifest()));
    objectsExist([legacyDataKey(1), legacyDataKey(2)]);
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec:legacy' });

    const result = await run(LEGACY_KEY);

    expect(result).toMatchObject({ status: 'started', billingPeriod: '2026-10', executionId: ASSEMBLY_ID });
    expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, {
      Bucket: BUCKET,
      Prefix: `legacy/cpc-legacy/20261001-20261101/${ASSEMBLY_ID}/`,
    });
    expect(startInputs()[0]).toMatchObject({ format: 'legacy', dataFiles: 2, executionId: ASSEMBLY_ID });
  });

  it('raises ManifestError naming the key for a malformed manifest, and starts nothing', async () => {
    s3.on(GetObjectCommand).resolves(body('{"executionId": "x", "dataFiles": "not-a-list"}'));

    const error = await run(CUR2_KEY).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ManifestError);
    expect((error as ManifestError).key).toBe(CUR2_KEY);
    expect((error as Error).message).toBe(
      `manifest ${CUR2_KEY}: is not a valid CUR 2.0 manifest: dataFiles: Invalid input: expected array, received string`,
    );
    expect(s3).not.toHaveReceivedCommand(ListObjectsV2Command);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('raises ManifestNotFoundError when the manifest object is gone', async () => {
    s3.on(GetObjectCommand).rejects(
      new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }),
    );

    await expect(run(CUR2_KEY)).rejects.toBeInstanceOf(ManifestNotFoundError);
  });

  it('starts no run for a manifest that lists no data files', async () => {
    s3.on(GetObjectCommand).resolves(body(cur2Manifest({ dataFiles: [] })));

    const result = await run(CUR2_KEY);

    expect(result.status).toBe('empty');
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('passes other Step Functions errors on, for the caller to retry', async () => {
    s3.on(GetObjectCommand).resolves(body(cur2Manifest()));
    objectsExist([1, 2, 3].map(cur2DataKey));
    sfn.on(StartExecutionCommand).rejects(new Error('Rate exceeded'));

    await expect(run(CUR2_KEY)).rejects.toThrow('Rate exceeded');
  });
});

describe('parseManifest', () => {
  it('reads a CUR 2.0 manifest: s3:// data files, billing period from its start', () => {
    expect(parseManifest(cur2Manifest(), CUR2_KEY)).toEqual({
      format: 'cur2',
      kind: 'data-exports',
      // Too few columns to be told by: the kind's first format.
      columns: ['line_item_unblended_cost'],
      fileFormat: 'parquet',
      billingPeriod: '2026-10',
      executionId: EXECUTION_ID,
      dataFiles: [1, 2, 3].map((n) => ({ bucket: BUCKET, key: cur2DataKey(n) })),
    });
  });

  it('reads a legacy manifest: reportKeys in its bucket, assemblyId, period from 20261001T000000.000Z', () => {
    expect(parseManifest(legacyManifest(), LEGACY_KEY)).toEqual({
      format: 'legacy',
      kind: 'legacy-cur',
      columns: ['identity/LineItemId'],
      fileFormat: 'csv',
      billingPeriod: '2026-10',
      executionId: ASSEMBLY_ID,
      dataFiles: [1, 2].map((n) => ({ bucket: BUCKET, key: legacyDataKey(n) })),
    });
  });

  it('takes the billing period from the key folder when the manifest has none, and drops repeated files', () => {
    const text = cur2Manifest({
      billingPeriod: undefined,
      dataFiles: [`s3://${BUCKET}/${cur2DataKey(1)}`, `s3://${BUCKET}/${cur2DataKey(1)}`],
    });
    expect(parseManifest(text, CUR2_KEY)).toMatchObject({
      billingPeriod: '2026-10',
      dataFiles: [{ bucket: BUCKET, key: cur2DataKey(1) }],
    });
  });

  it('uses the bucket it was read from for legacy keys when the manifest names none', () => {
    const parsed = parseManifest(legacyManifest({ bucket: undefined }), LEGACY_KEY, 'other-bucket');
    expect(parsed.dataFiles[0]).toEqual({ bucket: 'other-bucket', key: legacyDataKey(1) });
  });

  it.each([
    ['not JSON', 'oops', 'is not valid JSON'],
    ['empty', '  ', 'is empty'],
    ['a JSON array', '[]', 'is not a JSON object'],
    ['neither format', '{"foo": 1}', 'is neither a CUR 2.0 manifest'],
    [
      'no executionId',
      cur2Manifest({ executionId: undefined }),
      'is not a valid CUR 2.0 manifest: executionId:',
    ],
    ['an empty executionId', cur2Manifest({ executionId: ' ' }), 'executionId:'],
    ['dataFiles not a list', cur2Manifest({ dataFiles: 's3://b/k' }), 'dataFiles:'],
    [
      'a data file that is not s3://',
      cur2Manifest({ dataFiles: ['https://x/y'] }),
      'is a URI but not an s3:// one',
    ],
    ['a data file with no key', cur2Manifest({ dataFiles: [`s3://${BUCKET}/`] }), 'names no object key'],
    [
      'no reportKeys',
      legacyManifest({ reportKeys: undefined }),
      'is not a valid legacy CUR manifest: reportKeys:',
    ],
    [
      'a mid-month start',
      legacyManifest({ billingPeriod: { start: '20261015T000000.000Z' } }),
      'is not the start',
    ],
    ['an unreadable start', cur2Manifest({ billingPeriod: { start: 'October' } }), 'is not the start'],
    [
      'a period unlike the key',
      cur2Manifest({ billingPeriod: { start: '2026-09-01T00:00:00.000Z' } }),
      'does not match',
    ],
  ])('refuses a manifest that is %s, naming the key', (_, text, problem) => {
    const parse = () => parseManifest(text, CUR2_KEY);
    expect(parse).toThrow(ManifestError);
    expect(parse).toThrow(`manifest ${CUR2_KEY}: `);
    expect(parse).toThrow(problem);
  });

  it('refuses legacy keys without a bucket anywhere', () => {
    expect(() => parseManifest(legacyManifest({ bucket: undefined }), LEGACY_KEY)).toThrow(
      'reportKeys[0] "legacy/cpc-legacy/20261001-20261101/',
    );
  });

  it('refuses a manifest with no billing period when the key names none', () => {
    expect(() => parseManifest(legacyManifest({ billingPeriod: undefined }), 'x/r/r-Manifest.json')).toThrow(
      'has no billingPeriod',
    );
  });
});

describe('isManifestKey', () => {
  it.each([
    [CUR2_KEY, 'cur2'],
    ['cpc-export/metadata/BILLING_PERIOD=2026-10/cpc-export-Manifest.json', 'cur2'],
    ['cur/cpc-export/metadata/BILLING_PERIOD=2026-10/20261015T0000Z/cpc-export-Manifest.json', 'cur2'],
    [LEGACY_KEY, 'legacy'],
    ['legacy/cpc-legacy/cpc-legacy-Manifest.json', 'legacy'],
    [`legacy/cpc-legacy/20261001-20261101/${ASSEMBLY_ID}/cpc-legacy-Manifest.json`, undefined],
    [cur2DataKey(1), undefined],
    ['cur/cpc-export/data/BILLING_PERIOD=2026-10/cpc-export-Manifest.json', undefined],
    ['cur/cpc-export/metadata/BILLING_PERIOD=2026-13/cpc-export-Manifest.json', undefined],
    ['uploads/something-Manifest.json', undefined],
    ['cur/-Manifest.json', undefined],
    ['cur/cpc-export/metadata/BILLING_PERIOD=2026-10/cpc-export-Manifest.json.tmp', undefined],
  ])('%s -> %s', (key, format) => {
    expect(manifestKeyFormat(key)).toBe(format);
    expect(isManifestKey(key)).toBe(format !== undefined);
  });
});

describe('runIdFor', () => {
  const valid = /^[0-9A-Za-z_-]{1,80}$/;

  it('is the same for the same pair and different for different pairs', () => {
    expect(runIdFor('2026-10', EXECUTION_ID)).toBe(runIdFor('2026-10', EXECUTION_ID));
    expect(runIdFor('2026-10', EXECUTION_ID)).not.toBe(runIdFor('2026-11', EXECUTION_ID));
    expect(runIdFor('2026-10', EXECUTION_ID)).not.toBe(runIdFor('2026-10', ASSEMBLY_ID));
    // Ids that read the same once cleaned up or cut short still get different names.
    expect(runIdFor('2026-10', 'a.b')).not.toBe(runIdFor('2026-10', 'a/b'));
    const long = 'x'.repeat(200);
    expect(runIdFor('2026-10', `${long}1`)).not.toBe(runIdFor('2026-10', `${long}2`));
  });

  it.each([
    ['a UUID', EXECUTION_ID],
    ['a long id', `${'execution-'.repeat(40)}end`],
    ['an id with characters names do not allow', 'arn:aws:bcm/export:é 2026/10#1 ✓'],
    ['an id of only such characters', '::://::'],
  ])('is a valid execution name of at most 80 characters for %s', (_, id) => {
    const name = runIdFor('2026-10', id);
    expect(name).toMatch(valid);
    expect(name.startsWith('2026-10_')).toBe(true);
  });

  it('refuses a billing period that is not YYYY-MM', () => {
    expect(() => runIdFor('202610', EXECUTION_ID)).toThrow(RangeError);
    expect(() => runIdFor('2026-10', '')).toThrow(RangeError);
  });
});
