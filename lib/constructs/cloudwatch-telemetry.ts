import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { PREFIXES } from '../common/names.ts';
import type { CloudWatchSource } from '../inputs/cloudwatch-sources.ts';
import { keyStatement, objectStatement } from './access-statements.ts';
import { PIPELINE_TIMEOUTS, PipelineFunction } from './pipeline-function.ts';

export interface CloudWatchTelemetryProps {
  /** The configured sources; at least one. */
  readonly sources: readonly CloudWatchSource[];
  readonly dataBucket: s3.IBucket;
  readonly encryptionKey: kms.IKey;
  readonly removalPolicy?: RemovalPolicy;
}

/** The object keys a source's days are written to (lib/pipeline/cloudwatch-telemetry.ts). */
export function cloudWatchObjectPattern(source: string): string {
  return `${PREFIXES.telemetry}usage_day=*/${source}/cloudwatch.json`;
}

/**
 * The CloudWatch telemetry reader: the cloudwatch-telemetry function and its daily schedule (01:30 UTC,
 * when yesterday's datapoints are in), reading the configured metrics into the telemetry layout. Its role
 * may list metrics and read their data (CloudWatch has no resource-level permissions for either), and
 * read (for their content hash) and put exactly its sources' objects, nothing else of the bucket.
 */
export class CloudWatchTelemetry extends Construct {
  readonly function: PipelineFunction;
  readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: CloudWatchTelemetryProps) {
    super(scope, id);
    if (props.sources.length === 0) throw new Error('CloudWatchTelemetry needs at least one source');
    this.function = new PipelineFunction(this, 'Function', {
      handlerName: 'cloudwatch-telemetry',
      memorySize: 256,
      timeout: PIPELINE_TIMEOUTS['cloudwatch-telemetry'],
      environment: {
        DATA_BUCKET: props.dataBucket.bucketName,
        TELEMETRY_CLOUDWATCH: JSON.stringify(props.sources),
        LOOKBACK_DAYS: '2',
      },
      encryptionKey: props.encryptionKey,
      ...(props.removalPolicy ? { removalPolicy: props.removalPolicy } : {}),
    });
    for (const statement of [
      new iam.PolicyStatement({
        sid: 'CloudWatchMetricsRead',
        actions: ['cloudwatch:ListMetrics', 'cloudwatch:GetMetricData'],
        resources: ['*'],
      }),
      objectStatement(
        'TelemetryObjects',
        props.dataBucket,
        // GetObject for HeadObject: a day whose values did not change is not written again.
        ['s3:GetObject', 's3:PutObject'],
        props.sources.map((source) => cloudWatchObjectPattern(source.source)),
      ),
      keyStatement('EncryptWithStackKey', props.encryptionKey, 'write'),
    ]) {
      this.function.addToRolePolicy(statement);
    }
    // The previous two days, so that a late datapoint of the day before yesterday is read again.
    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'Reads the configured CloudWatch metrics into telemetry/ every day',
      schedule: events.Schedule.cron({ minute: '30', hour: '1' }),
      targets: [
        new targets.LambdaFunction(this.function, { retryAttempts: 2, maxEventAge: Duration.hours(6) }),
      ],
    });
  }
}
