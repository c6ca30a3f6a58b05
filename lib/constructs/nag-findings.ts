import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { PREFIXES } from '../common/names.ts';
import { type CloudWatchTelemetry, cloudWatchObjectPattern } from './cloudwatch-telemetry.ts';
import type { FinanceReader } from './finance-reader.ts';
import type { FinanceViews } from './finance-views.ts';
import type { RunPipeline } from './run-pipeline.ts';
import { STREAM_ERROR_PREFIX, type TelemetryStream } from './telemetry-stream.ts';

/**
 * How cdk-nag writes a value (an ARN, usually) inside a finding id: literal text as is, a `Ref` as
 * `<Name>`, `Fn::GetAtt` as `<Resource.Attribute>`. Findings with detail must be acknowledged by their
 * exact id, for example `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::bucket/*]`, and whether
 * the partition or account is a literal or a reference depends on the stack's environment.
 */
export function nagFindingText(scope: IConstruct, value: unknown): string {
  const render = (part: unknown): string => {
    if (typeof part === 'string') return part;
    if (part !== null && typeof part === 'object') {
      const intrinsic = part as Record<string, unknown>;
      if (typeof intrinsic.Ref === 'string') return `<${intrinsic.Ref}>`;
      const getAtt = intrinsic['Fn::GetAtt'];
      if (Array.isArray(getAtt)) return `<${getAtt.join('.')}>`;
      const join = intrinsic['Fn::Join'];
      if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
        return join[1].map(render).join(join[0]);
      }
    }
    throw new Error(`Cannot write ${JSON.stringify(part)} as cdk-nag does`);
  };
  return render(Stack.of(scope).resolve(value));
}

/**
 * The cdk-nag AwsSolutions findings of the run pipeline that stay, each acknowledged by its exact id
 * with the reason it is accepted. Acknowledged on the pipeline construct, so they cover its roles and
 * nothing outside it (but the S3 notification handler CDK adds at the stack's root).
 */
export function acknowledgeRunPipelineFindings(pipeline: RunPipeline): void {
  const acknowledge = (id: string, reason: string, scope: IConstruct = pipeline) =>
    Validations.of(scope).acknowledge({ id, reason });

  acknowledgePipelineFunctionFindings(pipeline);
  acknowledge(
    'AwsSolutions-SQS3',
    'This queue is the dead-letter destination of on-delivery (Lambda on-failure destination), which cdk-nag does not see as a DLQ use; a DLQ of a DLQ would only hide the messages further.',
  );
  for (const { bucket, pattern } of pipeline.grantedPrefixes) {
    acknowledge(
      iam5(`Resource::${nagFindingText(pipeline, bucket.arnForObjects(pattern))}`),
      `Objects under one prefix (${pattern}) of one bucket: the keys are per run, billing period or file, unknown at deploy time.`,
    );
  }
  acknowledge(
    iam5(`Resource::${nagFindingText(pipeline, pipeline.glueArns.runTables)}`),
    'The per-run Glue tables (run_<run id>_<name>) are created by the run itself; their names are unknown at deploy time.',
  );
  for (const [name, fn] of Object.entries(pipeline.functions)) {
    if (name === 'on-delivery') continue;
    acknowledge(
      iam5(`Resource::${nagFindingText(pipeline, `${fn.functionArn}:*`)}`),
      `From the LambdaInvoke task: versions and aliases of the ${name} function only.`,
    );
  }

  const notificationsHandler = Stack.of(pipeline).node.children.find((child) =>
    child.node.id.startsWith('BucketNotificationsHandler'),
  );
  if (notificationsHandler) {
    acknowledge(
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'The CDK-provided handler that sets the CUR bucket notification at deploy time; the managed policy only lets it write its own logs.',
      notificationsHandler,
    );
  }
}

const iam5 = (detail: string) => `AwsSolutions-IAM5[${detail}]`;

/**
 * The findings every PipelineFunction's role has, acknowledged on `scope` (the construct that owns the
 * functions): the runtime check, X-Ray's `*`, and the two KMS wildcard actions (the S3, DynamoDB and
 * listing statements are written out with exact actions, lib/constructs/access-statements.ts).
 */
function acknowledgePipelineFunctionFindings(scope: IConstruct): void {
  const acknowledge = (id: string, reason: string) => Validations.of(scope).acknowledge({ id, reason });
  acknowledge(
    'AwsSolutions-L1',
    'The pipeline functions run on Node.js 22 (a supported LTS runtime): the bundling targets node22 and the integration test loads the bundles on it.',
  );
  acknowledge(
    iam5('Resource::*'),
    'X-Ray PutTraceSegments/PutTelemetryRecords and the CloudWatch Logs delivery actions of the state machine have no resource-level permissions.',
  );
  for (const [action, reason] of [
    [
      'kms:GenerateDataKey*',
      'on the stack CMK only: writing S3 objects, DynamoDB items, SNS messages and SQS messages it encrypts',
    ],
    [
      'kms:ReEncrypt*',
      "from queue.grantSendMessages (on-delivery's dead-letter destination): the stack CMK only",
    ],
  ] as const) {
    acknowledge(iam5(`Action::${action}`), `Wildcard action ${reason}.`);
  }
}

/** The cdk-nag findings of the finance views' function and its CDK Provider framework. */
export function acknowledgeFinanceViewsFindings(financeViews: FinanceViews): void {
  acknowledgePipelineFunctionFindings(financeViews);
  const acknowledge = (id: string, reason: string) =>
    Validations.of(financeViews).acknowledge({ id, reason });
  acknowledge(
    iam5(`Resource::${nagFindingText(financeViews, `${financeViews.queryResultsBucketArn}/athena/*`)}`),
    'Objects under one prefix (athena/) of the query-results bucket: Athena names each result file after its query id.',
  );
  acknowledge(
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    "The CDK Provider framework's function only relays CloudFormation events to create-finance-views; the managed policy lets it write its own logs.",
  );
  acknowledge(
    iam5(`Resource::${nagFindingText(financeViews, `${financeViews.function.functionArn}:*`)}`),
    'From the Provider framework: invoking versions and aliases of the create-finance-views function only.',
  );
}

/** The cdk-nag findings of the finance reader policy: its prefix and finance-database wildcards. */
export function acknowledgeFinanceReaderFindings(financeReader: FinanceReader): void {
  const acknowledge = (id: string, reason: string) =>
    Validations.of(financeReader).acknowledge({ id, reason });
  for (const { bucket, pattern } of financeReader.objectPatterns) {
    acknowledge(
      iam5(`Resource::${nagFindingText(financeReader, bucket.arnForObjects(pattern))}`),
      `Objects under one prefix (${pattern}) of one bucket: the keys are per run, billing period or query id, unknown at deploy time.`,
    );
  }
  acknowledge(
    iam5(`Resource::${nagFindingText(financeReader, financeReader.financeTablesArn)}`),
    'The tables of the finance database, which holds only the finance views (create-finance-views creates them); GetTables lists them for the Athena console.',
  );
}

/**
 * The cdk-nag findings of the telemetry stream's role: object keys under its two prefixes are per day
 * and per buffer flush, and its KMS actions are on the stack CMK only.
 */
export function acknowledgeTelemetryStreamFindings(
  stream: TelemetryStream,
  dataBucket: { arnForObjects(key: string): string },
): void {
  const acknowledge = (id: string, reason: string) => Validations.of(stream).acknowledge({ id, reason });
  for (const prefix of [PREFIXES.telemetry, STREAM_ERROR_PREFIX]) {
    acknowledge(
      iam5(`Resource::${nagFindingText(stream, dataBucket.arnForObjects(`${prefix}*`))}`),
      `Objects under one prefix (${prefix}) of the data bucket: Firehose names each object after its usage day and its buffer flush, unknown at deploy time.`,
    );
  }
  acknowledge(
    iam5('Action::kms:GenerateDataKey*'),
    'Wildcard action on the stack CMK only: Firehose encrypts the objects it writes with it.',
  );
}

/**
 * The cdk-nag findings of the CloudWatch telemetry reader: the runtime check, the actions without
 * resource-level permissions, the stack key's wildcard action, and one object pattern per source.
 */
export function acknowledgeCloudWatchTelemetryFindings(
  reader: CloudWatchTelemetry,
  dataBucket: { arnForObjects(key: string): string },
  sources: readonly { readonly source: string }[],
): void {
  const acknowledge = (id: string, reason: string) => Validations.of(reader).acknowledge({ id, reason });
  acknowledge(
    'AwsSolutions-L1',
    'The function runs on Node.js 22 (a supported LTS runtime), like every pipeline function: the bundling targets node22.',
  );
  acknowledge(
    iam5('Resource::*'),
    'cloudwatch:ListMetrics and cloudwatch:GetMetricData, and X-Ray PutTraceSegments/PutTelemetryRecords, have no resource-level permissions.',
  );
  acknowledge(
    iam5('Action::kms:GenerateDataKey*'),
    'Wildcard action on the stack CMK only: the objects it writes are encrypted with it.',
  );
  for (const { source } of sources) {
    acknowledge(
      iam5(`Resource::${nagFindingText(reader, dataBucket.arnForObjects(cloudWatchObjectPattern(source)))}`),
      `The source's one object of each day (${cloudWatchObjectPattern(source)}): the day is in the key.`,
    );
  }
}
