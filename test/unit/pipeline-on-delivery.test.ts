import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  NoSuchKey,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  ExecutionAlreadyExists,
  SFNClient,
  StartExecutionCommand,
  type StartExecutionCommandInput,
} from '@aws-sdk/client-sfn';
import type { Context, S3Event, S3EventRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigurationError } from '../../lib/pipeline/config.ts';
import {
  cur2ManifestKey,
  DeliveryEventError,
  eventObjectKey,
  type HandleRerunOptions,
  handleDeliveryEvent,
  handleRerunRequest as handleParsedRerun,
  parseOnDeliveryEvent,
} from '../../lib/pipeline/on-delivery.ts';
import { PipelineInputError } from '../../lib/pipeline/run-contract.ts';
import { ManifestNotFoundError, runIdFor } from '../../lib/pipeline/start-run.ts';

const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);
const dynamodb = mockClient(DynamoDBClient);
beforeEach(() => {
  s3.reset();
  sfn.reset();
  dynamodb.reset();
  dynamodb.on(UpdateItemCommand).resolves({});
});

const BUCKET = 'cpc-cur-111122223333';
const STATE_MACHINE = 'arn:aws:states:eu-west-1:111122223333:stateMachine:cpc-attribution';
const EXECUTION_ID = '6d2f3c1e-4b5a-4f7e-9a8b-1c2d3e4f5a6b';
// A prefix with a space: S3 events encode it as '+', and '=' as %3D.
const MANIFEST_KEY = 'cur/my exports/cpc-export/metadata/BILLING_PERIOD=2026-10/cpc-export-Manifest.json';
const ENCODED_MANIFEST_KEY =
  'cur/my+exports/cpc-export/metadata/BILLING_PERIOD%3D2026-10/cpc-export-Manifest.json';
const DATA_KEY = 'cur/my exports/cpc-export/data/BILLING_PERIOD=2026-10/cpc-export-00001.snappy.parquet';

const body = (text: string) =>
  ({ transformToString: async () => text }) as unknown as GetObjectCommandOutput['Body'];

function manifest(): string {
  return JSON.stringify({
    executionId: EXECUTION_ID,
    bucket: BUCKET,
    billingPeriod: { start: '2026-10-01T00:00:00.000Z', end: '2026-11-01T00:00:00.000Z' },
    dataFiles: [`s3://${BUCKET}/${DATA_KEY}`],
  });
}

function record(key: string, eventName = 'ObjectCreated:Put'): S3EventRecord {
  return {
    eventName,
    s3: { bucket: { name: BUCKET }, object: { key } },
  } as unknown as S3EventRecord;
}

const event = (...records: S3EventRecord[]): S3Event => ({ Records: records });

function deliveryExists(): void {
  s3.on(GetObjectCommand, { Bucket: BUCKET, Key: MANIFEST_KEY }).resolves({
    Body: body(manifest()),
    LastModified: new Date('2026-10-14T08:03:11.000Z'),
  });
  s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: DATA_KEY }], IsTruncated: false });
}

/** Step Functions as it treats a Standard workflow's names: a second start of a name is refused. */
function fakeStepFunctions(): Set<string> {
  const names = new Set<string>();
  sfn.on(StartExecutionCommand).callsFake((input: StartExecutionCommandInput) => {
    const name = input.name ?? '';
    if (names.has(name)) throw new ExecutionAlreadyExists({ message: `exists: ${name}`, $metadata: {} });
    names.add(name);
    return {
      executionArn: `${STATE_MACHINE.replace(':stateMachine:', ':execution:')}:${name}`,
      startDate: new Date(),
    };
  });
  return names;
}

const clients = () => ({
  s3: new S3Client({ region: 'eu-west-1' }),
  sfn: new SFNClient({ region: 'eu-west-1' }),
  stateMachineArn: STATE_MACHINE,
});

describe('eventObjectKey', () => {
  it('decodes S3 event keys: %XX escapes, and + for a space', () => {
    expect(eventObjectKey(ENCODED_MANIFEST_KEY)).toBe(MANIFEST_KEY);
    expect(eventObjectKey('a%2Bb+c')).toBe('a+b c');
  });
});

describe('handleDeliveryEvent', () => {
  it('starts a run for the manifest and ignores data files and other events', async () => {
    deliveryExists();
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${STATE_MACHINE}:exec`, startDate: new Date() });
    const summary = await handleDeliveryEvent(
      event(
        record(ENCODED_MANIFEST_KEY),
        record(DATA_KEY.replaceAll(' ', '+')),
        record(ENCODED_MANIFEST_KEY, 'ObjectRemoved:Delete'),
      ),
      clients(),
    );
    expect(summary).toMatchObject({ started: 1, duplicate: 0, incomplete: 0, empty: 0, ignored: 2 });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: STATE_MACHINE,
      name: runIdFor('2026-10', EXECUTION_ID),
    });
  });

  it("ignores S3's test event, which has no records", async () => {
    const summary = await handleDeliveryEvent(
      { Service: 'Amazon S3', Event: 's3:TestEvent' } as never,
      clients(),
    );
    expect(summary).toMatchObject({ started: 0, ignored: 0 });
    expect(s3).toHaveReceivedCommandTimes(GetObjectCommand, 0);
  });

  it('counts a delivery whose data files are missing as incomplete', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body(manifest()) });
    s3.on(ListObjectsV2Command).resolves({ Contents: [], IsTruncated: false });
    // Without a delivery store there is no attempt count: the first attempt reports it.
    const summary = await handleDeliveryEvent(event(record(ENCODED_MANIFEST_KEY)), clients());
    expect(summary).toMatchObject({ started: 0, incomplete: 1 });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 0);
  });

  it('handles every manifest, then throws one error naming the failures, with the counts of the rest', async () => {
    const otherKey = 'cur/other/cpc-other/metadata/BILLING_PERIOD=2026-10/cpc-other-Manifest.json';
    deliveryExists();
    s3.on(GetObjectCommand, { Key: otherKey }).rejects(new NoSuchKey({ message: 'gone', $metadata: {} }));
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${STATE_MACHINE}:exec`, startDate: new Date() });
    const handled = handleDeliveryEvent(event(record(otherKey), record(ENCODED_MANIFEST_KEY)), clients());
    await expect(handled).rejects.toBeInstanceOf(DeliveryEventError);
    const error = (await handled.catch((e: unknown) => e)) as DeliveryEventError;
    expect(error.errors).toHaveLength(1);
    expect(error.errors[0]).toBeInstanceOf(ManifestNotFoundError);
    expect(error.summary.started).toBe(1);
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
  });
});

/** What the handler does with a re-run request: parse it once, then run the core on the typed request. */
async function handleRerunRequest(event: unknown, options: HandleRerunOptions) {
  const parsed = parseOnDeliveryEvent(event);
  if (parsed.kind !== 'rerun') throw new Error('not a re-run request');
  return handleParsedRerun(parsed.request, options);
}

describe('handleRerunRequest', () => {
  const rerunOptions = (requestedAt: string, invocationId = 'lambda-request-1') => ({
    ...clients(),
    curBucket: BUCKET,
    curPrefix: 'cur/my exports',
    exportName: 'cpc-export',
    invocationId,
    now: () => new Date(requestedAt),
  });
  const request = { rerun: { billingPeriod: '2026-10' } };

  it('finds the CUR 2.0 manifest of the period where Data Exports writes it', () => {
    expect(cur2ManifestKey('cur/my exports', 'cpc-export', '2026-10')).toBe(MANIFEST_KEY);
  });

  it("starts a new run of the period's latest delivery, named after the request id and dated by it", async () => {
    deliveryExists();
    fakeStepFunctions();

    const first = await handleRerunRequest(
      { rerun: { billingPeriod: '2026-10', requestId: 'ticket-4711' } },
      rerunOptions('2026-10-20T09:15:00Z'),
    );

    const firstName = runIdFor('2026-10', `${EXECUTION_ID} rerun ticket-4711`);
    expect(first).toMatchObject({ status: 'started', executionName: firstName });
    // Not the delivery's own run id (the service would refuse it).
    expect(firstName).not.toBe(runIdFor('2026-10', EXECUTION_ID));
    const input = JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '{}');
    expect(input).toEqual({
      billingPeriod: '2026-10',
      executionId: EXECUTION_ID,
      format: 'cur2',
      manifest: { bucket: BUCKET, key: MANIFEST_KEY },
      dataFiles: 1,
      runId: firstName,
      rerunRequestedAt: '2026-10-20T09:15:00.000Z',
    });
  });

  it('starts one execution for two invocations with one request id (the retry is a duplicate)', async () => {
    deliveryExists();
    const executions = fakeStepFunctions();
    const retried = { rerun: { billingPeriod: '2026-10', requestId: 'ticket-4711' } };

    // The retry comes later and from another invocation: its time and Lambda request id differ.
    const first = await handleRerunRequest(retried, rerunOptions('2026-10-20T09:15:00Z', 'lambda-a'));
    const second = await handleRerunRequest(retried, rerunOptions('2026-10-20T09:17:30Z', 'lambda-b'));

    expect(first.status).toBe('started');
    expect(second).toMatchObject({ status: 'duplicate', executionName: first.executionName });
    expect(executions.size).toBe(1);
  });

  it('starts two executions for two request ids', async () => {
    deliveryExists();
    const executions = fakeStepFunctions();

    const first = await handleRerunRequest(
      { rerun: { billingPeriod: '2026-10', requestId: 'ticket-4711' } },
      rerunOptions('2026-10-20T09:15:00Z'),
    );
    const second = await handleRerunRequest(
      { rerun: { billingPeriod: '2026-10', requestId: 'ticket-4712' } },
      rerunOptions('2026-10-20T09:15:00Z'),
    );

    expect([first.status, second.status]).toEqual(['started', 'started']);
    expect(second.executionName).not.toBe(first.executionName);
    expect([...executions]).toEqual([
      runIdFor('2026-10', `${EXECUTION_ID} rerun ticket-4711`),
      runIdFor('2026-10', `${EXECUTION_ID} rerun ticket-4712`),
    ]);
  });

  it("without a request id, names the run after the invocation's request id, which Lambda's retries keep", async () => {
    deliveryExists();
    const executions = fakeStepFunctions();

    // An asynchronous invocation and Lambda's retry of it: one request id.
    const first = await handleRerunRequest(request, rerunOptions('2026-10-20T09:15:00Z', 'lambda-a'));
    const retry = await handleRerunRequest(request, rerunOptions('2026-10-20T09:16:00Z', 'lambda-a'));
    // Another invocation: another request.
    const another = await handleRerunRequest(request, rerunOptions('2026-10-21T10:00:00Z', 'lambda-b'));

    expect(first).toMatchObject({
      status: 'started',
      executionName: runIdFor('2026-10', `${EXECUTION_ID} rerun lambda-a`),
    });
    expect(retry.status).toBe('duplicate');
    expect(another.status).toBe('started');
    expect(executions.size).toBe(2);
  });

  it('starts nothing for a period without a delivery, or a request that is not one', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'no', $metadata: {} }));
    await expect(handleRerunRequest(request, rerunOptions('2026-10-20T09:15:00Z'))).rejects.toBeInstanceOf(
      ManifestNotFoundError,
    );
    await expect(
      handleRerunRequest({ rerun: { billingPeriod: '2026-13' } }, rerunOptions('2026-10-20T09:15:00Z')),
    ).rejects.toBeInstanceOf(PipelineInputError);
    await expect(
      handleRerunRequest(
        { rerun: { billingPeriod: "2026-10' OR 1=1" } },
        rerunOptions('2026-10-20T09:15:00Z'),
      ),
    ).rejects.toThrow(/billingPeriod: is not YYYY-MM/);
    await expect(
      handleRerunRequest(
        { rerun: { billingPeriod: '2026-10', requestId: '' } },
        rerunOptions('2026-10-20T09:15:00Z'),
      ),
    ).rejects.toThrow(/requestId/);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });
});

describe('the on-delivery handler', () => {
  let handler: (event: S3Event, context: Context) => Promise<unknown>;
  const context = {
    functionName: 'cpc-on-delivery',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:111122223333:function:cpc-on-delivery',
    memoryLimitInMB: '256',
    awsRequestId: 'req-1',
    getRemainingTimeInMillis: () => 30_000,
  } as unknown as Context;

  beforeAll(async () => {
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
    vi.stubEnv('STATE_MACHINE_ARN', STATE_MACHINE);
    vi.stubEnv('CUR_BUCKET', BUCKET);
    vi.stubEnv('CUR_PREFIX', 'cur/my exports');
    vi.stubEnv('CUR_EXPORT_NAME', 'cpc-export');
    vi.stubEnv('TABLE_NAME', 'cpc-serving');
    vi.resetModules();
    ({ handler } = await import('../../lambdas/on-delivery.ts'));
  });
  afterAll(() => {
    vi.unstubAllEnvs();
  });

  it('fails at load, naming the variable, when STATE_MACHINE_ARN is missing', async () => {
    vi.stubEnv('STATE_MACHINE_ARN', undefined);
    vi.resetModules();
    // resetModules loads a fresh copy of config.ts, so the class is matched by name.
    await expect(import('../../lambdas/on-delivery.ts')).rejects.toMatchObject({
      name: ConfigurationError.name,
      problems: ['STATE_MACHINE_ARN: is not set'],
    });
    vi.stubEnv('STATE_MACHINE_ARN', STATE_MACHINE);
  });

  it('starts one execution for a manifest event that arrives twice, and counts the repeat', async () => {
    deliveryExists();
    // The service refuses a second execution of the same name: the second event gets ExecutionAlreadyExists.
    sfn
      .on(StartExecutionCommand)
      .resolvesOnce({ executionArn: `${STATE_MACHINE}:exec`, startDate: new Date() })
      .rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));
    const addMetric = vi.spyOn(Metrics.prototype, 'addMetric');

    // One event holding the manifest twice (S3 may batch), then the same event again (an async retry).
    const delivery = event(record(ENCODED_MANIFEST_KEY), record(ENCODED_MANIFEST_KEY));
    const first = await handler(delivery, context);
    const second = await handler(delivery, context);

    expect(first).toEqual({ started: 1, duplicate: 1, incomplete: 0, empty: 0, ignored: 0 });
    // The repeat inside the event, and the refused start.
    expect(second).toEqual({ started: 0, duplicate: 2, incomplete: 0, empty: 0, ignored: 0 });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 2);
    const names = sfn.commandCalls(StartExecutionCommand).map((call) => call.args[0].input.name);
    expect(names).toEqual([runIdFor('2026-10', EXECUTION_ID), runIdFor('2026-10', EXECUTION_ID)]);
    const input = JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '{}');
    expect(input).toEqual({
      billingPeriod: '2026-10',
      executionId: EXECUTION_ID,
      format: 'cur2',
      manifest: { bucket: BUCKET, key: MANIFEST_KEY },
      dataFiles: 1,
      runId: runIdFor('2026-10', EXECUTION_ID),
    });
    const started = addMetric.mock.calls
      .filter(([name]) => name === 'RunsStarted')
      .map(([, , value]) => value);
    const duplicates = addMetric.mock.calls
      .filter(([name]) => name === 'DuplicateDeliveries')
      .map(([, , value]) => value);
    expect(started).toEqual([1, 0]);
    expect(duplicates).toEqual([1, 2]);
    addMetric.mockRestore();
    // Each answer, the refused start included, records the delivery for run-watch (a conditional
    // write that keeps the latest delivery).
    expect(dynamodb).toHaveReceivedCommandTimes(UpdateItemCommand, 2);
    expect(dynamodb).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: 'cpc-serving',
      Key: { pk: { S: 'DELIVERY#2026-10' }, sk: { S: 'LATEST' } },
    });
  });

  it('re-runs a billing period when invoked with a rerun request', async () => {
    deliveryExists();
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${STATE_MACHINE}:rerun`, startDate: new Date() });
    const result = await (handler as unknown as (e: unknown, c: Context) => Promise<unknown>)(
      { rerun: { billingPeriod: '2026-10' } },
      context,
    );
    expect(result).toMatchObject({ status: 'started', billingPeriod: '2026-10', executionId: EXECUTION_ID });
    const input = JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '{}');
    expect(input.manifest).toEqual({ bucket: BUCKET, key: MANIFEST_KEY });
    expect(input.rerunRequestedAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    // No requestId: the invocation's request id names the run.
    expect(input.runId).toBe(runIdFor('2026-10', `${EXECUTION_ID} rerun req-1`));
  });
});
