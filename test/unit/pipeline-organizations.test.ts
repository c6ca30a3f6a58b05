import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  NoSuchKey,
  S3Client,
} from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { PlannedStatement } from '../../lib/pipeline/athena-run-plan.ts';
import { handleRerunRequest } from '../../lib/pipeline/on-delivery.ts';
import {
  type PrepareRunOptions,
  parsePrepareRunInput,
  prepareRun,
  SourceDeliveryIncompleteError,
} from '../../lib/pipeline/prepare-run.ts';
import { runIdFor } from '../../lib/pipeline/start-run.ts';

// Two payer accounts deliver the CUR 2.0 export into their own folders (docs/aws-pipeline.md,
// "Organizations"): a run started by one account's delivery reads the other's latest delivery too.
const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);
beforeEach(() => {
  s3.reset();
  sfn.reset();
});

const BUCKET = 'cpc-cur-111122223333';
const DATA_BUCKET = 'cpc-data-111122223333';
const A = '210987654321';
const B = '333344445555';
const folder = (account: string) => `cur/${account}/cost-per-customer`;
const manifestKey = (account: string) =>
  `${folder(account)}/metadata/BILLING_PERIOD=2026-10/cost-per-customer-Manifest.json`;
const dataFile = (account: string, n: number) =>
  `s3://${BUCKET}/${folder(account)}/data/BILLING_PERIOD=2026-10/cost-per-customer-0000${n}.snappy.parquet`;
const body = (text: string) =>
  ({ transformToString: async () => text }) as unknown as GetObjectCommandOutput['Body'];

function delivered(account: string, executionId: string, files: string[], at: string): void {
  s3.on(GetObjectCommand, { Bucket: BUCKET, Key: manifestKey(account) }).resolves({
    Body: body(
      JSON.stringify({
        executionId,
        bucket: BUCKET,
        billingPeriod: { start: '2026-10-01T00:00:00.000Z' },
        dataFiles: files,
      }),
    ),
    LastModified: new Date(at),
  });
}

function dataFilesExist(account: string, files: string[]): void {
  s3.on(ListObjectsV2Command, {
    Bucket: BUCKET,
    Prefix: `${folder(account)}/data/BILLING_PERIOD=2026-10/`,
  }).resolves({
    Contents: files.map((file) => ({ Key: file.replace(`s3://${BUCKET}/`, '') })),
    IsTruncated: false,
  });
}

function inputs(): void {
  s3.on(ListObjectsV2Command, { Bucket: DATA_BUCKET, Prefix: 'customers/current/' }).resolves({
    Contents: [{ Key: 'customers/current/customers.csv' }],
    IsTruncated: false,
  });
  s3.on(GetObjectCommand, { Bucket: DATA_BUCKET, Key: 'customers/current/customers.csv' }).resolves({
    Body: body('customer_id,tenant_id,name,tier,plan_status,mrr\nacme,,Acme,gold,paid,100'),
  });
  s3.on(GetObjectCommand, { Bucket: DATA_BUCKET, Key: 'rules/current/rules.json' }).rejects(
    new NoSuchKey({ message: 'no', $metadata: {} }),
  );
}

const options: PrepareRunOptions = {
  s3: new S3Client({ region: 'eu-west-1' }),
  dataBucket: DATA_BUCKET,
  resultsBucket: 'cpc-results-111122223333',
  database: 'cost_per_customer',
  tenantTagKey: 'tenant_id',
  costBasis: 'amortized',
  billingExports: { cur2: [folder(A), folder(B)] },
};

const runOf = (account: string, executionId: string) =>
  parsePrepareRunInput({
    billingPeriod: '2026-10',
    executionId,
    format: 'cur2',
    manifest: { bucket: BUCKET, key: manifestKey(account) },
    dataFiles: 1,
    runId: runIdFor('2026-10', executionId),
  });

/** The `"$path"` list the billing table is read with. */
const pathList = (statements: readonly PlannedStatement[]): string[] => {
  const sql = statements.map((s) => (s.kind === 'ctas' ? s.sql : '')).join('\n');
  const list = /"\$path" IN \(([^)]*)\)/.exec(sql)?.[1];
  if (list === undefined) throw new Error('no "$path" filter');
  return list.split(', ').map((literal) => literal.slice(1, -1));
};

describe('a run of a billing period delivered by several accounts', () => {
  it('reads every account’s latest delivery, and is dated by the latest of them', async () => {
    inputs();
    delivered(A, 'exec-a', [dataFile(A, 1), dataFile(A, 2)], '2026-10-14T08:00:00.000Z');
    delivered(B, 'exec-b', [dataFile(B, 1)], '2026-10-14T09:30:00.000Z');
    dataFilesExist(B, [dataFile(B, 1)]);

    const prepared = await prepareRun(runOf(A, 'exec-a'), options);
    expect(pathList(prepared.levels.flat()).sort()).toEqual(
      [dataFile(A, 1), dataFile(A, 2), dataFile(B, 1)].sort(),
    );
    // B delivered later than A: the run is as new as the newest delivery it read, so it is the one
    // that stays visible against a run of B's delivery that read A's older files only.
    expect(prepared.deliveredAt).toBe('2026-10-14T09:30:00.000Z');
    // Every account of the period in one partition filter: billing_period, not the account.
    const sql = prepared.levels
      .flat()
      .map((s) => (s.kind === 'ctas' ? s.sql : ''))
      .join('\n');
    expect(sql).toContain("billing_period = '2026-10'");
    expect(sql).not.toContain('source_account =');
  });

  it('reads only its own delivery when the other account has none for the period', async () => {
    inputs();
    delivered(B, 'exec-b', [dataFile(B, 1)], '2026-10-14T09:30:00.000Z');
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: manifestKey(A) }).rejects(
      new NoSuchKey({ message: 'no', $metadata: {} }),
    );
    const prepared = await prepareRun(runOf(B, 'exec-b'), options);
    expect(pathList(prepared.levels.flat())).toEqual([dataFile(B, 1)]);
    expect(prepared.deliveredAt).toBe('2026-10-14T09:30:00.000Z');
  });

  it('fails when the other account’s delivery is being refreshed (a listed file is missing)', async () => {
    inputs();
    delivered(A, 'exec-a', [dataFile(A, 1)], '2026-10-14T08:00:00.000Z');
    delivered(B, 'exec-b', [dataFile(B, 1), dataFile(B, 2)], '2026-10-14T09:30:00.000Z');
    dataFilesExist(B, [dataFile(B, 1)]);
    const error = await prepareRun(runOf(A, 'exec-a'), options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceDeliveryIncompleteError);
    expect((error as Error).message).toContain(
      `1 data file(s) of s3://${BUCKET}/${manifestKey(B)} are missing`,
    );
    expect((error as Error).message).toContain(dataFile(B, 2));
  });

  it('refuses a delivery from a folder the table does not read', async () => {
    inputs();
    const stray = runOf(A, 'exec-a');
    const error = await prepareRun(
      {
        ...stray,
        manifest: { bucket: BUCKET, key: 'cur/999999999999/cost-per-customer/metadata/x-Manifest.json' },
      },
      options,
    ).catch((e: unknown) => e);
    expect((error as Error).message).toContain(`reads the export ${folder(A)}/, ${folder(B)}/`);
  });
});

describe('a re-run with source accounts', () => {
  const rerunOptions = {
    s3: new S3Client({ region: 'eu-west-1' }),
    sfn: new SFNClient({ region: 'eu-west-1' }),
    stateMachineArn: 'arn:aws:states:eu-west-1:111122223333:stateMachine:cpc',
    curBucket: BUCKET,
    curPrefix: 'cur',
    exportName: 'cost-per-customer',
    sourceAccounts: [A, B],
    invocationId: 'req-1',
  };

  it('starts from the named account’s latest delivery', async () => {
    delivered(B, 'exec-b', [dataFile(B, 1)], '2026-10-14T09:30:00.000Z');
    dataFilesExist(B, [dataFile(B, 1)]);
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec', startDate: new Date() });
    const result = await handleRerunRequest(
      { rerun: { billingPeriod: '2026-10', requestId: 'fix', sourceAccount: B } },
      rerunOptions,
    );
    expect(result.status).toBe('started');
    const started = JSON.parse(String(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input));
    expect(started.manifest).toEqual({ bucket: BUCKET, key: manifestKey(B) });
  });

  it('needs the account, and one of the configured ones', async () => {
    await expect(
      handleRerunRequest({ rerun: { billingPeriod: '2026-10', requestId: 'x' } }, rerunOptions),
    ).rejects.toThrow(`name the sourceAccount whose delivery to start from (one of ${A}, ${B})`);
    await expect(
      handleRerunRequest(
        { rerun: { billingPeriod: '2026-10', requestId: 'x', sourceAccount: '999999999999' } },
        rerunOptions,
      ),
    ).rejects.toThrow('sourceAccount 999999999999 is not one of the export');
  });
});
