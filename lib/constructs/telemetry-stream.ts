import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { PREFIXES } from '../common/names.ts';
import { keyStatement, objectStatement, S3_WRITE } from './access-statements.ts';

/** The telemetry source the stream's objects are filed under: `telemetry/usage_day=<day>/stream/`. */
export const STREAM_SOURCE = 'stream';

/**
 * Where the stream puts records it could not deliver or partition (no `usage_date`, not JSON): outside
 * `telemetry/`, so that no run reads them as usage, by error type and day.
 */
export const STREAM_ERROR_PREFIX = 'telemetry-errors/';

export interface TelemetryStreamProps {
  /** The data bucket, whose `telemetry/` the runs read. */
  readonly dataBucket: s3.IBucket;
  readonly encryptionKey: kms.IKey;
  /** Where its alarms notify. */
  readonly operationsTopic: sns.ITopic;
  readonly removalPolicy: RemovalPolicy;
  /**
   * How long the stream buffers before it writes an object, at most (Firehose writes sooner once 64 MB
   * of a day are buffered). @default 300 seconds
   */
  readonly bufferInterval?: Duration;
}

/**
 * The telemetry stream (docs/aws-pipeline.md, "Getting telemetry in"): a Firehose Direct PUT delivery
 * stream that an application sends `{usage_date, tenant_id, metric, quantity}` JSON records to. Dynamic
 * partitioning files each record under its usage day, `telemetry/usage_day=YYYY-MM-DD/stream/`, as
 * newline-delimited JSON, gzip, so the runs read it as any other telemetry. Encrypted with the
 * product's key in the stream and in S3; undeliverable records go to {@link STREAM_ERROR_PREFIX}. Its
 * alarms tell operations when delivery fails or the stream has more open days than Firehose allows.
 */
export class TelemetryStream extends Construct {
  readonly deliveryStream: firehose.CfnDeliveryStream;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly deliveryFailures: cloudwatch.Alarm;
  readonly partitionsExceeded: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: TelemetryStreamProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { dataBucket, encryptionKey } = props;

    this.logGroup = new logs.LogGroup(this, 'DeliveryErrors', {
      retention: logs.RetentionDays.ONE_MONTH,
      encryptionKey,
      removalPolicy: props.removalPolicy,
    });
    const logStream = new logs.LogStream(this, 'S3Delivery', {
      logGroup: this.logGroup,
      removalPolicy: props.removalPolicy,
    });

    // Only Firehose of this account, and only for this stream (the name is known before it exists).
    const streamName = `${stack.stackName}-telemetry`.slice(0, 64);
    const streamArn = stack.formatArn({
      service: 'firehose',
      resource: 'deliverystream',
      resourceName: streamName,
    });
    this.role = new iam.Role(this, 'Role', {
      description: 'Writes the telemetry stream into telemetry/ of the data bucket',
      assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': streamArn },
        },
      }),
    });
    // The objects it writes and nothing else (lambdas/README.md, "Permissions"): put and multipart
    // uploads under telemetry/ and its error prefix, the bucket's location, which Firehose looks up
    // before it writes, and the key to encrypt them. No read of any object, no listing, no delete, no
    // tagging (bucket.grantPut would add tagging, retention and legal hold).
    for (const statement of [
      objectStatement('TelemetryObjects', dataBucket, S3_WRITE, [
        `${PREFIXES.telemetry}*`,
        `${STREAM_ERROR_PREFIX}*`,
      ]),
      new iam.PolicyStatement({
        sid: 'DataBucketLocation',
        actions: ['s3:GetBucketLocation'],
        resources: [dataBucket.bucketArn],
      }),
      keyStatement('EncryptWithStackKey', encryptionKey, 'write'),
    ]) {
      this.role.addToPolicy(statement);
    }
    this.logGroup.grantWrite(this.role);

    this.deliveryStream = new firehose.CfnDeliveryStream(this, 'DeliveryStream', {
      deliveryStreamName: streamName,
      deliveryStreamType: 'DirectPut',
      deliveryStreamEncryptionConfigurationInput: {
        keyType: 'CUSTOMER_MANAGED_CMK',
        keyArn: encryptionKey.keyArn,
      },
      extendedS3DestinationConfiguration: {
        bucketArn: dataBucket.bucketArn,
        roleArn: this.role.roleArn,
        prefix: `${PREFIXES.telemetry}usage_day=!{partitionKeyFromQuery:usage_day}/${STREAM_SOURCE}/`,
        errorOutputPrefix: `${STREAM_ERROR_PREFIX}!{firehose:error-output-type}/!{timestamp:yyyy-MM-dd}/`,
        // 64 MB is the least dynamic partitioning accepts.
        bufferingHints: {
          sizeInMBs: 64,
          intervalInSeconds: (props.bufferInterval ?? Duration.minutes(5)).toSeconds(),
        },
        compressionFormat: 'GZIP',
        encryptionConfiguration: { kmsEncryptionConfig: { awskmsKeyArn: encryptionKey.keyArn } },
        cloudWatchLoggingOptions: {
          enabled: true,
          logGroupName: this.logGroup.logGroupName,
          logStreamName: logStream.logStreamName,
        },
        dynamicPartitioningConfiguration: { enabled: true, retryOptions: { durationInSeconds: 300 } },
        processingConfiguration: {
          enabled: true,
          processors: [
            {
              // The day folder from the record's own usage_date; a record without one cannot be filed
              // and goes to the error prefix rather than into some day.
              type: 'MetadataExtraction',
              parameters: [
                { parameterName: 'MetadataExtractionQuery', parameterValue: '{usage_day: .usage_date}' },
                { parameterName: 'JsonParsingEngine', parameterValue: 'JQ-1.6' },
              ],
            },
            {
              // One record a line: the telemetry table reads newline-delimited JSON.
              type: 'AppendDelimiterToRecord',
              parameters: [{ parameterName: 'Delimiter', parameterValue: '\\n' }],
            },
          ],
        },
      },
    });
    // The role's policy must exist before Firehose checks it at creation.
    this.deliveryStream.node.addDependency(this.role);

    const notifyOperations = new cloudwatchActions.SnsAction(props.operationsTopic);
    const metric = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/Firehose',
        metricName,
        dimensionsMap: { DeliveryStreamName: streamName },
        statistic,
        period: Duration.minutes(5),
      });
    // DeliveryToS3.Success is the share of put attempts that succeeded; below 1 means records were
    // retried or sent to the error prefix. Missing data is no traffic, which is fine.
    this.deliveryFailures = new cloudwatch.Alarm(this, 'DeliveryFailures', {
      alarmDescription:
        'The telemetry stream failed to write records into telemetry/ (see its log group and telemetry-errors/)',
      metric: metric('DeliveryToS3.Success', 'Minimum'),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // Firehose allows 500 active partitions (days buffered at once); past that it sends records to the
    // error prefix (activePartitionExceeded): records with usage dates spread over many days.
    this.partitionsExceeded = new cloudwatch.Alarm(this, 'PartitionsExceeded', {
      alarmDescription:
        'The telemetry stream had more usage days open at once than Firehose allows (activePartitionExceeded); records went to telemetry-errors/',
      metric: metric('PartitionCountExceeded', 'Maximum'),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const alarm of [this.deliveryFailures, this.partitionsExceeded])
      alarm.addAlarmAction(notifyOperations);
  }

  /** Lets `grantee` put records into the stream (an application's role): that action, on this stream only. */
  grantPutRecords(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['firehose:PutRecord', 'firehose:PutRecordBatch'],
      resourceArns: [this.deliveryStream.attrArn],
    });
  }
}
