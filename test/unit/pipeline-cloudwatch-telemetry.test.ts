import { CloudWatchClient, GetMetricDataCommand, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { HeadObjectCommand, NotFound, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { cloudWatchSourceSchema, cloudWatchSourcesSchema } from '../../lib/inputs/cloudwatch-sources.ts';
import {
  cloudWatchObjectKey,
  daysBefore,
  METRICS_PER_REQUEST,
  readCloudWatchTelemetry,
} from '../../lib/pipeline/cloudwatch-telemetry.ts';

const cloudwatchMock = mockClient(CloudWatchClient);
const s3Mock = mockClient(S3Client);
beforeEach(() => {
  cloudwatchMock.reset();
  s3Mock.reset();
  s3Mock.on(PutObjectCommand).resolves({});
  s3Mock.on(HeadObjectCommand).rejects(new NotFound({ message: 'Not Found', $metadata: {} }));
});

const REQUESTS = cloudWatchSourceSchema.parse({
  source: 'myapp',
  namespace: 'MyApp',
  metricName: 'Requests',
  tenantDimension: 'TenantId',
  metric: 'requests',
});
const tenantMetric = (tenant: string) => ({
  Namespace: 'MyApp',
  MetricName: 'Requests',
  Dimensions: [{ Name: 'TenantId', Value: tenant }],
});

const options = (days: string[]) => ({
  cloudwatch: new CloudWatchClient({ region: 'eu-west-1' }),
  s3: new S3Client({ region: 'eu-west-1' }),
  dataBucket: 'cpc-data-111122223333',
  sources: [REQUESTS],
  days,
});

/** The NDJSON body written for each key. */
const bodies = () =>
  Object.fromEntries(
    s3Mock
      .commandCalls(PutObjectCommand)
      .map((call) => [call.args[0].input.Key, String(call.args[0].input.Body)]),
  );

describe('readCloudWatchTelemetry', () => {
  it("writes a source's day per tenant, through every page of ListMetrics and GetMetricData", async () => {
    // Two pages of metrics: acme and globex, then initech and a metric also split by endpoint (left
    // out: summed per tenant it would count acme once per endpoint).
    cloudwatchMock
      .on(ListMetricsCommand)
      .resolvesOnce({ Metrics: [tenantMetric('acme'), tenantMetric('globex')], NextToken: 'p2' })
      .resolvesOnce({
        Metrics: [
          tenantMetric('initech'),
          {
            Namespace: 'MyApp',
            MetricName: 'Requests',
            Dimensions: [
              { Name: 'TenantId', Value: 'acme' },
              { Name: 'Endpoint', Value: '/search' },
            ],
          },
        ],
      });
    // Two pages of data: acme 1200 and globex 30, then initech 7.5; globex's second value is part of
    // the same day (a page may split a series): 30 + 5 = 35.
    cloudwatchMock
      .on(GetMetricDataCommand)
      .resolvesOnce({
        MetricDataResults: [
          { Id: 'm0', Values: [1200] },
          { Id: 'm1', Values: [30] },
        ],
        NextToken: 'd2',
      })
      .resolvesOnce({
        MetricDataResults: [
          { Id: 'm1', Values: [5] },
          { Id: 'm2', Values: [7.5] },
        ],
      });
    const written = await readCloudWatchTelemetry(options(['2026-10-14']));

    expect(written).toEqual([
      {
        source: 'myapp',
        day: '2026-10-14',
        key: 'telemetry/usage_day=2026-10-14/myapp/cloudwatch.json',
        tenants: 3,
        written: true,
      },
    ]);
    expect(bodies()).toEqual({
      'telemetry/usage_day=2026-10-14/myapp/cloudwatch.json':
        '{"usage_date":"2026-10-14","tenant_id":"acme","metric":"requests","quantity":1200}\n' +
        '{"usage_date":"2026-10-14","tenant_id":"globex","metric":"requests","quantity":35}\n' +
        '{"usage_date":"2026-10-14","tenant_id":"initech","metric":"requests","quantity":7.5}\n',
    });
    expect(s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({
      Bucket: 'cpc-data-111122223333',
      ContentType: 'application/x-ndjson',
    });
    // The listing asked for the tenant dimension, the second page with its token.
    const listings = cloudwatchMock.commandCalls(ListMetricsCommand).map((call) => call.args[0].input);
    expect(listings).toEqual([
      { Namespace: 'MyApp', MetricName: 'Requests', Dimensions: [{ Name: 'TenantId' }] },
      { Namespace: 'MyApp', MetricName: 'Requests', Dimensions: [{ Name: 'TenantId' }], NextToken: 'p2' },
    ]);
    // One day, one datapoint a metric: the UTC day, period 86400, the source's statistic.
    const [first, second] = cloudwatchMock
      .commandCalls(GetMetricDataCommand)
      .map((call) => call.args[0].input);
    expect(first).toMatchObject({
      StartTime: new Date('2026-10-14T00:00:00.000Z'),
      EndTime: new Date('2026-10-15T00:00:00.000Z'),
      ScanBy: 'TimestampAscending',
    });
    expect(
      first?.MetricDataQueries?.map((q) => [
        q.Id,
        q.MetricStat?.Metric?.Dimensions?.[0]?.Value,
        q.MetricStat?.Period,
        q.MetricStat?.Stat,
      ]),
    ).toEqual([
      ['m0', 'acme', 86_400, 'Sum'],
      ['m1', 'globex', 86_400, 'Sum'],
      ['m2', 'initech', 86_400, 'Sum'],
    ]);
    expect(second?.NextToken).toBe('d2');
  });

  it('asks for at most 500 metrics a request', async () => {
    const tenants = Array.from(
      { length: METRICS_PER_REQUEST + 1 },
      (_, i) => `t${String(i).padStart(3, '0')}`,
    );
    cloudwatchMock.on(ListMetricsCommand).resolves({ Metrics: tenants.map(tenantMetric) });
    cloudwatchMock.on(GetMetricDataCommand).callsFake((input: { MetricDataQueries: { Id: string }[] }) => ({
      MetricDataResults: input.MetricDataQueries.map((q) => ({ Id: q.Id, Values: [1] })),
    }));
    const [written] = await readCloudWatchTelemetry(options(['2026-10-14']));
    expect(
      cloudwatchMock.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input.MetricDataQueries?.length),
    ).toEqual([500, 1]);
    // The 501st tenant is in the object too: 501 rows of 1.
    expect(written?.tenants).toBe(501);
    expect(
      String(s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input.Body).trim().split('\n'),
    ).toHaveLength(501);
  });

  it("replaces a day's object, also with nothing when the day has no data now", async () => {
    cloudwatchMock.on(ListMetricsCommand).resolves({ Metrics: [tenantMetric('acme')] });
    cloudwatchMock.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm0', Values: [] }] });
    await readCloudWatchTelemetry(options(['2026-10-13', '2026-10-14']));
    // One object per (source, day), at the same key as before: what the day held before is gone.
    expect(bodies()).toEqual({
      [cloudWatchObjectKey('myapp', '2026-10-13')]: '',
      [cloudWatchObjectKey('myapp', '2026-10-14')]: '',
    });
  });

  it('leaves a day read again with the same values as it is, and rewrites one whose values changed', async () => {
    cloudwatchMock.on(ListMetricsCommand).resolves({ Metrics: [tenantMetric('acme')] });
    cloudwatchMock.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm0', Values: [4] }] });
    await readCloudWatchTelemetry(options(['2026-10-13']));
    const put = s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input;
    const body = '{"usage_date":"2026-10-13","tenant_id":"acme","metric":"requests","quantity":4}\n';
    expect(put?.Body).toBe(body);
    // The SHA-256 of that body, worked out with `printf '%s\n' '<row>' | sha256sum`.
    const hash = put?.Metadata?.['content-sha256'];
    expect(hash).toBe('c67ed047b4402b60b42c54430b993565cd77cd8dddf4cabc2fb81214504c48bf');

    // Read again the next day: the stored object has that hash, so nothing is written.
    s3Mock.resetHistory();
    s3Mock.on(HeadObjectCommand).resolves({ Metadata: { 'content-sha256': hash as string } });
    const again = await readCloudWatchTelemetry(options(['2026-10-13']));
    expect(again[0]?.written).toBe(false);
    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);

    // A late datapoint changes the day: it is written again.
    cloudwatchMock.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm0', Values: [5] }] });
    const changed = await readCloudWatchTelemetry(options(['2026-10-13']));
    expect(changed[0]?.written).toBe(true);
    expect(s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input.Body).toBe(body.replace(':4}', ':5}'));
  });

  it('refuses a day that is not YYYY-MM-DD before calling anything', async () => {
    await expect(readCloudWatchTelemetry(options(['2026-10-14T00:00Z']))).rejects.toThrow(
      'Not a day (YYYY-MM-DD)',
    );
    await expect(readCloudWatchTelemetry(options(['2026-02-30x']))).rejects.toThrow('Not a day');
    expect(cloudwatchMock.calls()).toHaveLength(0);
  });
});

describe('the CloudWatch sources of the configuration', () => {
  it('takes Sum by default and refuses a source name that is not a folder, or one used twice', () => {
    expect(REQUESTS.statistic).toBe('Sum');
    expect(cloudWatchSourceSchema.safeParse({ ...REQUESTS, source: '../x' }).success).toBe(false);
    expect(cloudWatchSourcesSchema.safeParse([REQUESTS, REQUESTS]).error?.issues[0]?.message).toBe(
      'source names must be unique',
    );
    expect(cloudWatchSourceSchema.safeParse({ ...REQUESTS, statistic: 'p99' }).success).toBe(false);
  });
});

describe('daysBefore', () => {
  it('gives the UTC days before today, oldest first, across a month', () => {
    expect(daysBefore(new Date('2026-11-01T00:30:00Z'), 2)).toEqual(['2026-10-30', '2026-10-31']);
  });
});
