import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { cur2Columns, RESULT_COLUMNS } from '../../lib/catalog/glue-schemas.ts';
import { type CostPerCustomerConfig, settingsFromContext } from '../../lib/config/stack-config.ts';
import { CostPerCustomerStack } from '../../lib/cost-per-customer-stack.ts';
import { SUPERSEDED_RUN_TAG } from '../../lib/pipeline/run-contract.ts';
import { joinWithPlaceholders } from '../support/template-text.ts';

const ACCOUNT = '123456789012';
const CDK_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'),
).context;

/** Synthesizes the stack as bin/app.ts does: cdk.json context, then the given overrides. */
function synth(options: {
  region?: string;
  context?: Record<string, unknown>;
  config?: CostPerCustomerConfig;
}) {
  const app = new App({ context: { ...CDK_CONTEXT, ...options.context, 'aws:cdk:bundling-stacks': [] } });
  const config = options.config ?? settingsFromContext(app.node).config;
  const stack = new CostPerCustomerStack(app, 'Test', {
    config,
    env: { account: ACCOUNT, ...(options.region ? { region: options.region } : {}) },
  });
  const template = Template.fromStack(stack);
  const nag = new AwsSolutionsChecks(app).validateScope(app);
  return { template, nag };
}

// One synthesis per configuration, shared by the tests that look at it.
const defaults = synth({ region: 'eu-west-1' });
const full = synth({
  region: 'us-east-1',
  context: {
    'cpc:createCurExport': 'true',
    'cpc:removalPolicy': 'destroy',
    'cpc:slackWorkspaceId': 'T0123ABCD',
    'cpc:slackChannelId': 'C0123ABCD',
    'cpc:bytesScannedCutoffPerQuery': '52428800',
  },
});
const remoteExport = synth({ region: 'eu-west-1', config: { createCurExport: true } });
// What an offline `cdk synth` without credentials builds: no account, no region.
const agnostic = synth({ config: { createCurExport: true } });

const keyArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('EncryptionKey'), 'Arn'] };
const resourcesOf = (template: Template, type: string) => Object.entries(template.findResources(type));

describe('buckets', () => {
  const buckets = resourcesOf(defaults.template, 'AWS::S3::Bucket');
  const policies = resourcesOf(defaults.template, 'AWS::S3::BucketPolicy');
  const policyOf = (bucketId: string) =>
    policies.find(([, policy]) => policy.Properties.Bucket.Ref === bucketId)?.[1].Properties.PolicyDocument;
  const bucketId = (name: string) => {
    const found = buckets.find(([id]) => id.includes(name));
    if (!found) throw new Error(`no ${name}`);
    return found[0];
  };

  it('are the five buckets of the spec', () => {
    expect(buckets.map(([id]) => id.replace(/^CostPerCustomerStorage|[0-9A-F]{8}$/g, '')).sort()).toEqual([
      'AccessLogBucket',
      'CurBucket',
      'DataBucket',
      'QueryResultsBucket',
      'ResultsBucket',
    ]);
  });

  it('all block public access and deny requests without TLS', () => {
    for (const [id, bucket] of buckets) {
      expect(bucket.Properties.PublicAccessBlockConfiguration, id).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(policyOf(id)?.Statement, id).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      );
    }
  });

  it('data buckets are encrypted with the CMK and log access to the access-log bucket', () => {
    const logBucket = bucketId('AccessLogBucket');
    for (const [id, bucket] of buckets.filter(([id]) => id !== logBucket)) {
      expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration, id).toEqual([
        {
          BucketKeyEnabled: true,
          ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: expect.anything() },
        },
      ]);
      const keyId =
        bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault
          .KMSMasterKeyID;
      expect(keyId['Fn::GetAtt'][0], id).toMatch(/EncryptionKey/);
      expect(bucket.Properties.LoggingConfiguration.DestinationBucketName, id).toEqual({ Ref: logBucket });
    }
  });

  it('the access-log bucket uses S3-managed keys (log delivery cannot write SSE-KMS) and lets only S3 logging write', () => {
    const logBucket = defaults.template.toJSON().Resources[bucketId('AccessLogBucket')];
    expect(logBucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
      { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
    ]);
    expect(policyOf(bucketId('AccessLogBucket'))?.Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: 'logging.s3.amazonaws.com' },
          Action: 's3:PutObject',
          Condition: expect.objectContaining({ StringEquals: { 'aws:SourceAccount': ACCOUNT } }),
        }),
      ]),
    );
  });

  it('buckets that hold data are versioned', () => {
    for (const name of ['CurBucket', 'DataBucket', 'ResultsBucket']) {
      const bucket = defaults.template.toJSON().Resources[bucketId(name)];
      expect(bucket.Properties.VersioningConfiguration, name).toEqual({ Status: 'Enabled' });
    }
  });

  it('the CUR bucket lets only this account’s CUR definitions and Data Exports write, under the CUR prefix', () => {
    const conditions = {
      StringEquals: { 'aws:SourceAccount': ACCOUNT },
      ArnLike: {
        'aws:SourceArn': [
          `arn:aws:cur:us-east-1:${ACCOUNT}:definition/*`,
          `arn:aws:bcm-data-exports:us-east-1:${ACCOUNT}:export/*`,
        ],
      },
    };
    const principals = { Service: ['bcm-data-exports.amazonaws.com', 'billingreports.amazonaws.com'] };
    const curBucket = bucketId('CurBucket');
    expect(policyOf(curBucket)?.Statement).toEqual(
      expect.arrayContaining([
        {
          Sid: 'AllowBillingDeliveryPolicyCheck',
          Effect: 'Allow',
          Principal: principals,
          Action: ['s3:GetBucketAcl', 's3:GetBucketPolicy'],
          Resource: { 'Fn::GetAtt': [curBucket, 'Arn'] },
          Condition: conditions,
        },
        {
          Sid: 'AllowBillingDeliveryWrite',
          Effect: 'Allow',
          Principal: principals,
          Action: 's3:PutObject',
          Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [curBucket, 'Arn'] }, '/cur/*']] },
          Condition: conditions,
        },
      ]),
    );
    // No other bucket grants anything to a service principal of billing.
    for (const [id] of buckets.filter(([id]) => id !== curBucket)) {
      expect(JSON.stringify(policyOf(id))).not.toMatch(/billingreports|bcm-data-exports/);
    }
  });

  it('old runs expire only once tagged superseded; query results after 7 days', () => {
    const results = defaults.template.toJSON().Resources[bucketId('ResultsBucket')];
    expect(results.Properties.LifecycleConfiguration.Rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Id: 'ExpireSupersededRuns',
          Prefix: 'runs/',
          TagFilters: [{ Key: SUPERSEDED_RUN_TAG.key, Value: SUPERSEDED_RUN_TAG.value }],
          ExpirationInDays: 30,
          Status: 'Enabled',
        }),
        expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 7 }, Status: 'Enabled' }),
      ]),
    );
    const queryResults = defaults.template.toJSON().Resources[bucketId('QueryResultsBucket')];
    expect(queryResults.Properties.LifecycleConfiguration.Rules).toEqual(
      expect.arrayContaining([expect.objectContaining({ ExpirationInDays: 7, Status: 'Enabled' })]),
    );
  });
});

describe('encryption key', () => {
  it('rotates, and lets only this account’s CloudWatch alarms use it', () => {
    defaults.template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Sid: 'AllowCloudWatchAlarmsOfThisAccount',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Resource: '*',
            Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT } },
          },
        ]),
      },
    });
  });
});

describe('Athena workgroup', () => {
  it('enforces engine v3, SSE-KMS results with the CMK, CloudWatch metrics and the default 10 GiB cutoff', () => {
    defaults.template.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'Test',
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        PublishCloudWatchMetricsEnabled: true,
        BytesScannedCutoffPerQuery: 10 * 1024 ** 3,
        ResultConfiguration: {
          OutputLocation: {
            'Fn::Join': ['', ['s3://', { Ref: Match.stringLikeRegexp('QueryResultsBucket') }, '/athena/']],
          },
          EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: keyArn },
          ExpectedBucketOwner: ACCOUNT,
        },
      },
    });
  });

  it('uses the configured cutoff, and has no result-reuse setting (reuse is per query and left off)', () => {
    full.template.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({ BytesScannedCutoffPerQuery: 52_428_800 }),
    });
    expect(JSON.stringify(full.template.findResources('AWS::Athena::WorkGroup'))).not.toMatch(/[Rr]euse/);
  });
});

describe('Glue catalog', () => {
  const resultsBucket = resourcesOf(defaults.template, 'AWS::S3::Bucket').find(([id]) =>
    id.includes('ResultsBucket'),
  )?.[0];
  const tables = Object.values(defaults.template.findResources('AWS::Glue::Table')).map(
    (table) => table.Properties.TableInput,
  );
  const table = (name: string) => {
    const found = tables.find((input) => input.Name === name);
    if (!found) throw new Error(`no table ${name}`);
    return found;
  };

  it('has the input tables, one table of every run per result, and published_runs', () => {
    // The results' own names are views (create-finance-views), not tables.
    expect(tables.map((input) => input.Name).sort()).toEqual([
      'cur2',
      'customer_daily_cost_runs',
      'customer_daily_service_cost_runs',
      'customer_daily_usage_runs',
      'customers',
      'daily_summary_runs',
      'published_runs',
      'telemetry',
      'unattributed_cost_runs',
    ]);
    defaults.template.hasResourceProperties('AWS::Glue::Database', {
      CatalogId: ACCOUNT,
      DatabaseInput: { Name: 'test' },
    });
  });

  it('cur2 is Parquet with the billing-format columns and projection on billing_period', () => {
    const cur2 = table('cur2');
    const location = (suffix: string) => ({
      'Fn::Join': [
        '',
        ['s3://', { Ref: Match.stringLikeRegexp('CurBucket') }, `/cur/cost-per-customer/data/${suffix}`],
      ],
    });
    expect(cur2.Parameters).toMatchObject({
      'projection.enabled': 'true',
      'projection.billing_period.type': 'date',
      'projection.billing_period.format': 'yyyy-MM',
      'projection.billing_period.range': '2020-01,NOW',
      'projection.billing_period.interval': '1',
      'projection.billing_period.interval.unit': 'MONTHS',
    });
    defaults.template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'cur2',
        Parameters: Match.objectLike({
          'storage.location.template': location('BILLING_PERIOD=${billing_period}/'),
        }),
        PartitionKeys: [Match.objectLike({ Name: 'billing_period', Type: 'string' })],
        StorageDescriptor: Match.objectLike({
          Location: location(''),
          SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
        }),
      }),
    });
    expect(cur2.StorageDescriptor.Columns).toEqual(
      cur2Columns('tenant_id').map((column) => ({ Name: column.name, Type: column.type })),
    );
    expect(cur2.StorageDescriptor.Columns).toEqual(
      expect.arrayContaining([
        { Name: 'resource_tags', Type: 'map<string,string>' },
        { Name: 'line_item_usage_start_date', Type: 'timestamp' },
        { Name: 'line_item_unblended_cost', Type: 'double' },
      ]),
    );
  });

  it('telemetry is JSON with projection on the usage day; customers is CSV with a header', () => {
    expect(table('telemetry').Parameters).toMatchObject({
      'projection.enabled': 'true',
      'projection.usage_day.type': 'date',
      'projection.usage_day.format': 'yyyy-MM-dd',
      'projection.usage_day.interval.unit': 'DAYS',
    });
    expect(table('telemetry').StorageDescriptor.SerdeInfo.SerializationLibrary).toBe(
      'org.apache.hive.hcatalog.data.JsonSerDe',
    );
    expect(table('customers').Parameters).toEqual({ classification: 'csv', 'skip.header.line.count': '1' });
    expect(table('customers').StorageDescriptor.SerdeInfo.SerializationLibrary).toBe(
      'org.apache.hadoop.hive.serde2.OpenCSVSerde',
    );
  });

  it('<result>_runs tables are Parquet under runs/, partitioned by billing_period then run_id', () => {
    for (const name of [
      'customer_daily_cost',
      'customer_daily_service_cost',
      'unattributed_cost',
      'daily_summary',
    ] as const) {
      const input = table(`${name}_runs`);
      expect(input.PartitionKeys, name).toEqual([
        expect.objectContaining({ Name: 'billing_period', Type: 'string' }),
        expect.objectContaining({ Name: 'run_id', Type: 'string' }),
      ]);
      expect(input.StorageDescriptor.Columns, name).toEqual(
        RESULT_COLUMNS[name].map((column) => ({
          Name: column.name,
          Type: column.type,
          ...(column.comment === undefined ? {} : { Comment: column.comment }),
        })),
      );
      expect(input.StorageDescriptor.SerdeInfo.SerializationLibrary, name).toMatch(/ParquetHiveSerDe/);
      expect(input.StorageDescriptor.Location, name).toEqual({
        'Fn::Join': ['', ['s3://', { Ref: resultsBucket }, '/runs/']],
      });
      expect(input.Parameters['projection.enabled'], name).toBeUndefined();
    }
  });

  it('published_runs reads the JSON image of the pointers under published/', () => {
    const input = table('published_runs');
    expect(input.PartitionKeys).toBeUndefined();
    expect(input.StorageDescriptor).toMatchObject({
      Columns: ['billing_period', 'run_id', 'delivered_at', 'published_at'].map((Name) => ({
        Name,
        Type: 'string',
      })),
      Location: {
        'Fn::Join': ['', ['s3://', { Ref: resultsBucket }, '/published/']],
      },
      SerdeInfo: { SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
    });
  });
});

describe('serving table', () => {
  it('is on-demand, KMS-encrypted with the CMK, with PITR, TTL and the by-cost index', () => {
    defaults.template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
      DeletionProtectionEnabled: true,
      GlobalSecondaryIndexes: [
        Match.objectLike({
          IndexName: 'gsi1',
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        }),
      ],
      AttributeDefinitions: Match.arrayWith([{ AttributeName: 'gsi1sk', AttributeType: 'N' }]),
    });
  });
});

describe('alerting', () => {
  it('both topics are encrypted with the CMK and refuse non-TLS publishes', () => {
    const topics = resourcesOf(defaults.template, 'AWS::SNS::Topic');
    expect(topics).toHaveLength(2);
    for (const [id, topic] of topics) {
      expect(topic.Properties.KmsMasterKeyId['Fn::GetAtt'], id).toEqual([
        expect.stringMatching(/EncryptionKey/),
        'Arn',
      ]);
    }
    const policies = Object.values(defaults.template.findResources('AWS::SNS::TopicPolicy'));
    expect(policies).toHaveLength(2);
    for (const policy of policies) {
      expect(policy.Properties.PolicyDocument.Statement).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      );
    }
  });

  it('the operations topic accepts this account’s CloudWatch alarms', () => {
    defaults.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: {
              StringEquals: { 'aws:SourceAccount': ACCOUNT },
              ArnLike: { 'aws:SourceArn': `arn:aws:cloudwatch:eu-west-1:${ACCOUNT}:alarm:*` },
            },
          }),
        ]),
      },
    });
  });

  it('subscribes a Slack channel only when both ids are configured, with a deny-all guardrail', () => {
    defaults.template.resourceCountIs('AWS::Chatbot::SlackChannelConfiguration', 0);
    full.template.hasResourceProperties('AWS::Chatbot::SlackChannelConfiguration', {
      SlackWorkspaceId: 'T0123ABCD',
      SlackChannelId: 'C0123ABCD',
      SnsTopicArns: [{ Ref: Match.stringLikeRegexp('AlertTopic') }],
      GuardrailPolicies: [{ Ref: Match.stringLikeRegexp('SlackGuardrailPolicy') }],
    });
    full.template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: { Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }] },
    });
  });
});

describe('removal policy', () => {
  const dataResources = ['AWS::S3::Bucket', 'AWS::DynamoDB::Table', 'AWS::KMS::Key'];

  it('retains buckets, the table and the key by default', () => {
    for (const type of dataResources) {
      for (const [id, resource] of resourcesOf(defaults.template, type)) {
        expect(resource.DeletionPolicy, id).toBe('Retain');
        expect(resource.UpdateReplacePolicy, id).toBe('Retain');
      }
    }
    defaults.template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
  });

  it('deletes them (emptying the buckets) when removalPolicy is destroy', () => {
    for (const type of dataResources) {
      for (const [id, resource] of resourcesOf(full.template, type))
        expect(resource.DeletionPolicy, id).toBe('Delete');
    }
    full.template.resourceCountIs('Custom::S3AutoDeleteObjects', 5);
    full.template.hasResourceProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: false });
  });
});

describe('CUR 2.0 export', () => {
  it('is not created by default', () => {
    defaults.template.resourceCountIs('AWS::BCMDataExports::Export', 0);
    defaults.template.resourceCountIs('Custom::CurExport', 0);
  });

  it('is native in us-east-1: Parquet, overwrite, resources and split cost data, after the bucket policy', () => {
    const columns = cur2Columns('tenant_id').map((column) => column.name);
    full.template.hasResource('AWS::BCMDataExports::Export', {
      DependsOn: Match.arrayWith([Match.stringLikeRegexp('CurBucketPolicy')]),
      Properties: {
        Export: {
          Name: 'cost-per-customer',
          Description: Match.anyValue(),
          DataQuery: {
            QueryStatement: `SELECT ${columns.join(', ')} FROM COST_AND_USAGE_REPORT`,
            TableConfigurations: {
              COST_AND_USAGE_REPORT: Match.objectLike({
                INCLUDE_RESOURCES: 'TRUE',
                INCLUDE_SPLIT_COST_ALLOCATION_DATA: 'TRUE',
              }),
            },
          },
          DestinationConfigurations: {
            S3Destination: {
              S3Bucket: { Ref: Match.stringLikeRegexp('CurBucket') },
              S3Prefix: 'cur',
              S3Region: 'us-east-1',
              S3OutputConfigurations: {
                OutputType: 'CUSTOM',
                Format: 'PARQUET',
                Compression: 'PARQUET',
                Overwrite: 'OVERWRITE_REPORT',
              },
            },
          },
          RefreshCadence: { Frequency: 'SYNCHRONOUS' },
        },
      },
    });
  });

  it('elsewhere goes through a custom resource calling us-east-1 with a scoped policy', () => {
    remoteExport.template.resourceCountIs('AWS::BCMDataExports::Export', 0);
    const exportResource = Object.values(remoteExport.template.findResources('Custom::CurExport'))[0];
    const create = JSON.parse(joinWithPlaceholders(exportResource?.Properties.Create));
    expect(create).toMatchObject({
      service: '@aws-sdk/client-bcm-data-exports',
      action: 'CreateExport',
      region: 'us-east-1',
      parameters: {
        Export: {
          Name: 'cost-per-customer',
          DestinationConfigurations: {
            S3Destination: {
              S3Bucket: '<CostPerCustomerStorageCurBucket>',
              S3Prefix: 'cur',
              S3Region: 'eu-west-1',
              S3OutputConfigurations: { Format: 'PARQUET', Overwrite: 'OVERWRITE_REPORT' },
            },
          },
        },
      },
    });
    expect(JSON.parse(joinWithPlaceholders(exportResource?.Properties.Update))).toMatchObject({
      action: 'UpdateExport',
      region: 'us-east-1',
    });
    // Retained by default: the stack never deletes the export.
    expect(exportResource?.Properties.Delete).toBeUndefined();
    remoteExport.template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: ['bcm-data-exports:CreateExport', 'bcm-data-exports:UpdateExport'],
            Resource: [
              `arn:aws:bcm-data-exports:us-east-1:${ACCOUNT}:export/*`,
              `arn:aws:bcm-data-exports:us-east-1:${ACCOUNT}:table/COST_AND_USAGE_REPORT`,
            ],
          },
          {
            Effect: 'Allow',
            Action: ['cur:ModifyReportDefinition', 'cur:PutReportDefinition'],
            Resource: `arn:aws:cur:us-east-1:${ACCOUNT}:definition/*`,
          },
        ],
      },
    });
  });
});

describe('cdk-nag AwsSolutions', () => {
  it.each([
    ['defaults', defaults],
    ['us-east-1, destroy, Slack, native export', full],
    ['export through the custom resource', remoteExport],
    ['environment-agnostic', agnostic],
  ])('has no unacknowledged finding: %s', (_name, { nag }) => {
    const findings = nag.violations.map(
      (violation) =>
        `${violation.ruleName} at ${violation.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
    expect(nag.success).toBe(true);
  });
});
