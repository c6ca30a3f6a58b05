import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { settingsFromContext } from '../../lib/config/stack-config.ts';
import { CostPerCustomerStack } from '../../lib/cost-per-customer-stack.ts';

// The telemetry stream (lib/constructs/telemetry-stream.ts): the Firehose stream's partitioning into the
// telemetry layout, its encryption, its role's least privilege, its alarms, the switch that leaves it
// out, and cdk-nag.
const CDK_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'),
).context;

function synth(context: Record<string, unknown> = {}, before?: (stack: CostPerCustomerStack) => void) {
  const app = new App({ context: { ...CDK_CONTEXT, ...context, 'aws:cdk:bundling-stacks': [] } });
  const stack = new CostPerCustomerStack(app, 'Test', {
    config: settingsFromContext(app.node).config,
    env: { account: '123456789012', region: 'eu-west-1' },
  });
  before?.(stack);
  return {
    app,
    stack,
    template: Template.fromStack(stack),
    nag: new AwsSolutionsChecks(app).validateScope(app),
  };
}

const { template, nag } = synth();
const keyArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('EncryptionKey'), 'Arn'] };
const dataBucketArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('DataBucket'), 'Arn'] };
// The same, for vitest's matchers (Match works in template assertions only).
const keyArnValue = { 'Fn::GetAtt': [expect.stringContaining('EncryptionKey'), 'Arn'] };
const dataBucketArnValue = { 'Fn::GetAtt': [expect.stringContaining('DataBucket'), 'Arn'] };

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };
const streamRoleStatements = (): Statement[] => {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
    JSON.stringify(policy.Properties.Roles).includes('TelemetryStreamRole'),
  );
  expect(policies).toHaveLength(1);
  return policies[0]?.Properties.PolicyDocument.Statement as Statement[];
};
const actionsOf = (statement: Statement) =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];

describe('the telemetry stream', () => {
  it('files each record under its usage day in the telemetry layout, as gzip NDJSON, errors apart', () => {
    template.resourceCountIs('AWS::KinesisFirehose::DeliveryStream', 1);
    template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamName: 'Test-telemetry',
      DeliveryStreamType: 'DirectPut',
      ExtendedS3DestinationConfiguration: Match.objectLike({
        BucketARN: dataBucketArn,
        // The folder the telemetry table reads (usage_day=YYYY-MM-DD/), the source `stream` below it.
        Prefix: 'telemetry/usage_day=!{partitionKeyFromQuery:usage_day}/stream/',
        // Outside telemetry/: a record that could not be filed is never read as usage.
        ErrorOutputPrefix: 'telemetry-errors/!{firehose:error-output-type}/!{timestamp:yyyy-MM-dd}/',
        CompressionFormat: 'GZIP',
        BufferingHints: { SizeInMBs: 64, IntervalInSeconds: 300 },
        DynamicPartitioningConfiguration: { Enabled: true, RetryOptions: { DurationInSeconds: 300 } },
        ProcessingConfiguration: {
          Enabled: true,
          Processors: [
            {
              Type: 'MetadataExtraction',
              Parameters: [
                { ParameterName: 'MetadataExtractionQuery', ParameterValue: '{usage_day: .usage_date}' },
                { ParameterName: 'JsonParsingEngine', ParameterValue: 'JQ-1.6' },
              ],
            },
            {
              Type: 'AppendDelimiterToRecord',
              Parameters: [{ ParameterName: 'Delimiter', ParameterValue: '\\n' }],
            },
          ],
        },
        EncryptionConfiguration: { KMSEncryptionConfig: { AWSKMSKeyARN: keyArn } },
        CloudWatchLoggingOptions: Match.objectLike({ Enabled: true }),
      }),
    });
  });

  it('is encrypted with the stack key in the stream and in S3', () => {
    template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamEncryptionConfigurationInput: { KeyType: 'CUSTOMER_MANAGED_CMK', KeyARN: keyArn },
    });
  });

  it('writes with a role only Firehose of this account and stream can assume, into its two prefixes only', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'firehose.amazonaws.com' },
            Condition: {
              StringEquals: { 'aws:SourceAccount': '123456789012' },
              ArnLike: {
                'aws:SourceArn': 'arn:aws:firehose:eu-west-1:123456789012:deliverystream/Test-telemetry',
              },
            },
          }),
        ],
      },
    });
    const statements = streamRoleStatements();
    const s3Objects = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('s3:Put')));
    // Exactly putting objects (and aborting their multipart uploads), under its two prefixes.
    expect(s3Objects).toHaveLength(1);
    expect(s3Objects[0]?.Action).toEqual(['s3:AbortMultipartUpload', 's3:PutObject']);
    expect(((s3Objects[0]?.Resource ?? []) as unknown[]).map((resource) => JSON.stringify(resource))).toEqual(
      [expect.stringContaining('"/telemetry-errors/*"'), expect.stringContaining('"/telemetry/*"')],
    );
    const actions = statements.flatMap(actionsOf);
    // It never reads an object, deletes one, or touches the customers or rules prefixes.
    expect(actions.filter((a) => /^s3:(GetObject|DeleteObject|List(Bucket)?$)/.test(a))).toEqual([]);
    expect(JSON.stringify(statements)).not.toMatch(/customers\/|rules\/|cur2\//);
    // The bucket-level lookups Firehose makes before it writes.
    expect(statements.find((s) => actionsOf(s).includes('s3:GetBucketLocation'))).toMatchObject({
      Action: 's3:GetBucketLocation',
      Resource: dataBucketArnValue,
    });
    // The stack key, to encrypt what it writes.
    expect(statements.find((s) => actionsOf(s).some((a) => a.startsWith('kms:')))).toMatchObject({
      Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey*'],
      Resource: keyArnValue,
    });
  });

  it('tells operations when delivery fails or too many days are open at once', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter(
      (alarm) => alarm.Properties.Namespace === 'AWS/Firehose',
    );
    expect(
      alarms.map((alarm) => [
        alarm.Properties.MetricName,
        alarm.Properties.ComparisonOperator,
        alarm.Properties.Threshold,
      ]),
    ).toEqual([
      ['DeliveryToS3.Success', 'LessThanThreshold', 1],
      ['PartitionCountExceeded', 'GreaterThanOrEqualToThreshold', 1],
    ]);
    for (const alarm of alarms) {
      expect(alarm.Properties.Dimensions).toEqual([{ Name: 'DeliveryStreamName', Value: 'Test-telemetry' }]);
      expect(JSON.stringify(alarm.Properties.AlarmActions)).toContain('OperationsTopic');
      expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
    }
  });

  it('names the stream in the outputs', () => {
    template.hasOutput('TelemetryStreamName', {
      Value: { Ref: Match.stringLikeRegexp('TelemetryStreamDeliveryStream') },
    });
  });

  it("lets an application's role put records into this stream and nothing else", () => {
    const withProducer = synth({}, (stack) => {
      const producer = new iam.Role(stack, 'Producer', { assumedBy: new iam.AccountRootPrincipal() });
      stack.costPerCustomer.telemetryStream?.grantPutRecords(producer);
    });
    const producerPolicy = Object.values(withProducer.template.findResources('AWS::IAM::Policy')).find(
      (policy) => JSON.stringify(policy.Properties.Roles).includes('Producer'),
    );
    expect(producerPolicy?.Properties.PolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: ['firehose:PutRecord', 'firehose:PutRecordBatch'],
        Resource: { 'Fn::GetAtt': [expect.stringContaining('TelemetryStreamDeliveryStream'), 'Arn'] },
      },
    ]);
  });

  it('is left out with cpc:telemetryStream=false', () => {
    const without = synth({ 'cpc:telemetryStream': 'false' });
    without.template.resourceCountIs('AWS::KinesisFirehose::DeliveryStream', 0);
    expect(Object.keys(without.template.findOutputs('TelemetryStreamName'))).toEqual([]);
    expect(without.nag.violations).toEqual([]);
  });

  it('has no unacknowledged cdk-nag finding', () => {
    expect(
      nag.violations.map(
        (v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
      ),
    ).toEqual([]);
  });
});
