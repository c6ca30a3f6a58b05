import { DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { S3Event } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

// The on-input handler with its real clients mocked: what it sends to SNS and to Lambda.
const s3 = mockClient(S3Client);
const dynamodb = mockClient(DynamoDBClient);
const lambda = mockClient(LambdaClient);
const sns = mockClient(SNSClient);
const BUCKET = 'cpc-data-111122223333';
const ON_DELIVERY = 'arn:aws:lambda:eu-west-1:111122223333:function:cpc-on-delivery';
const TOPIC = 'arn:aws:sns:eu-west-1:111122223333:cpc-operations';

type OnInputModule = typeof import('../../lambdas/on-input.ts');
let handler: OnInputModule['handler'];
let rejectionMessage: OnInputModule['rejectionMessage'];
beforeAll(async () => {
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  vi.stubEnv('DATA_BUCKET', BUCKET);
  vi.stubEnv('CUR_PREFIX', 'cur');
  vi.stubEnv('TENANT_TAG_KEY', 'customer');
  vi.stubEnv('COST_BASIS', 'net_amortized');
  vi.stubEnv('TABLE_NAME', 'cpc-serving');
  vi.stubEnv('ON_DELIVERY_FUNCTION', ON_DELIVERY);
  vi.stubEnv('OPERATIONS_TOPIC_ARN', TOPIC);
  ({ handler, rejectionMessage } = await import('../../lambdas/on-input.ts'));
});

const body = (text: string) =>
  ({ transformToString: async () => text }) as unknown as GetObjectCommandOutput['Body'];

beforeEach(() => {
  for (const mock of [s3, dynamodb, lambda, sns]) mock.reset();
  s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'Not Found', $metadata: {} }));
  s3.on(GetObjectCommand, { Key: 'rules/current/rules.json' }).rejects(
    new NoSuchKey({ message: 'no', $metadata: {} }),
  );
  s3.on(PutObjectCommand).resolves({});
  sns.on(PublishCommand).resolves({ MessageId: 'm' });
  lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
});

const event = (key: string): Partial<S3Event> =>
  ({
    Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: BUCKET }, object: { key } } }],
  }) as never;
const context = { awsRequestId: 'req-1' } as never;

describe('on-input handler', () => {
  it('tells the operations topic of a rejected upload, in plain text with the exact error', async () => {
    const bad = 'customer_id,tenant_id,name,tier,plan_status,mrr\nacme,,Acme,gold,paid,25OO';
    s3.on(GetObjectCommand, { Key: 'customers/incoming/new.csv' }).resolves({
      Body: body(bad),
      LastModified: new Date(),
    });
    await handler(event('customers/incoming/new.csv') as never, context);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    const input = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(input?.TopicArn).toBe(TOPIC);
    expect(input?.Subject).toBe('Cost per customer: upload rejected');
    expect(input?.Message).toBe(
      [
        'An upload to the cost-per-customer data bucket was rejected; the runs go on reading the current file.',
        '',
        `Upload: s3://${BUCKET}/customers/incoming/new.csv`,
        `Error: s3://${BUCKET}/customers/incoming/new.csv, column "mrr", row 1: "25OO" is not a number`,
        `Current file: s3://${BUCKET}/customers/current/customers.csv`,
        '',
        'Fix the file and upload it again under the same folder; it is checked again on arrival.',
      ].join('\n'),
    );
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
    expect(lambda).not.toHaveReceivedCommand(InvokeCommand);
  });

  it('keeps a value from a file on its line: a newline in the error cannot forge a line', () => {
    const message = rejectionMessage({
      file: 's3://b/rules/incoming/x\nCurrent file: fake.json',
      error: 'bad',
      current: 's3://b/rules/current/rules.json',
    });
    expect(message.split('\n')).toContain('Upload: s3://b/rules/incoming/x Current file: fake.json');
    expect(message.split('\n').filter((line) => line.startsWith('Current file:'))).toEqual([
      'Current file: s3://b/rules/current/rules.json',
    ]);
  });

  it('asks on-delivery for the re-run of late telemetry asynchronously, naming the export', async () => {
    dynamodb.on(GetItemCommand, { Key: marshall({ pk: 'DELIVERY#2026-10', sk: 'LATEST' }) }).resolves({
      Item: marshall({
        billing_period: '2026-10',
        execution_id: 'e',
        run_id: 'r',
        delivered_at: '2026-11-02T06:00:00.000Z',
        received_at: '2026-11-02T06:00:00.000Z',
        manifest_key: 'cur/cpc-export/metadata/BILLING_PERIOD=2026-10/cpc-export-Manifest.json',
      }),
    });
    dynamodb.on(QueryCommand).resolves({ Items: [] });
    const summary = await handler(event('telemetry/usage_day=2026-10-30/app/x.json') as never, context);
    expect(summary).toMatchObject({ lateTelemetry: [{ billingPeriod: '2026-10', rerun: true }] });
    const invoke = lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(invoke?.FunctionName).toBe(ON_DELIVERY);
    expect(invoke?.InvocationType).toBe('Event');
    const payload = JSON.parse(String(invoke?.Payload));
    expect(payload.rerun).toMatchObject({ billingPeriod: '2026-10', exportName: 'cpc-export' });
    expect(payload.rerun.requestId).toMatch(/^late-telemetry-2026-10-/);
  });

  it('refuses a scheduled event that is not the sweep', async () => {
    await expect(handler({ sweep: 'everything' } as never, context)).rejects.toThrow();
    expect(lambda).not.toHaveReceivedCommand(InvokeCommand);
  });
});
