import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { CUSTOMERS_KEY, PREFIXES } from '../common/names.ts';
import { keyStatement, objectStatement } from './access-statements.ts';
import { nagFindingText } from './nag-findings.ts';
import { PIPELINE_TIMEOUTS, PipelineFunction } from './pipeline-function.ts';

/** The uploads the sync writes: on-input checks them like any other (lib/pipeline/stripe-sync.ts). */
export const STRIPE_UPLOAD_PATTERN = `${PREFIXES.customersIncoming}stripe-*`;

export interface StripeMrrProps {
  /** The Secrets Manager secret holding the Stripe API key (a restricted key that reads subscriptions). */
  readonly secretArn: string;
  readonly dataBucket: s3.IBucket;
  readonly encryptionKey: kms.IKey;
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The Stripe MRR sync: the stripe-mrr function and its daily schedule (02:00 UTC). Its role may read the
 * one secret, the current customers file, and write its uploads under `customers/incoming/stripe-*`,
 * nothing else; what it uploads becomes current only through on-input's checks.
 */
export class StripeMrr extends Construct {
  readonly function: PipelineFunction;
  readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: StripeMrrProps) {
    super(scope, id);
    this.function = new PipelineFunction(this, 'Function', {
      handlerName: 'stripe-mrr',
      memorySize: 512,
      timeout: PIPELINE_TIMEOUTS['stripe-mrr'],
      environment: { DATA_BUCKET: props.dataBucket.bucketName, STRIPE_SECRET_ARN: props.secretArn },
      encryptionKey: props.encryptionKey,
      ...(props.removalPolicy ? { removalPolicy: props.removalPolicy } : {}),
    });
    for (const statement of [
      new iam.PolicyStatement({
        sid: 'StripeApiKey',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [props.secretArn],
      }),
      objectStatement('CurrentCustomers', props.dataBucket, ['s3:GetObject'], [CUSTOMERS_KEY]),
      objectStatement('StripeUploads', props.dataBucket, ['s3:PutObject'], [STRIPE_UPLOAD_PATTERN]),
      keyStatement('StackKey', props.encryptionKey, 'write'),
    ]) {
      this.function.addToRolePolicy(statement);
    }
    // After the CloudWatch reader (01:30) and before the working day in Europe; a missed day is made up
    // by the next one, which reads the subscriptions as they are then.
    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'Syncs MRR from Stripe into the customer dimension every day',
      schedule: events.Schedule.cron({ minute: '0', hour: '2' }),
      targets: [
        new targets.LambdaFunction(this.function, { retryAttempts: 2, maxEventAge: Duration.hours(6) }),
      ],
    });

    const acknowledge = (findingId: string, reason: string) =>
      Validations.of(this).acknowledge({ id: findingId, reason });
    acknowledge(
      'AwsSolutions-L1',
      'The function runs on Node.js 22 (a supported LTS runtime), like every pipeline function: the bundling targets node22.',
    );
    acknowledge(
      'AwsSolutions-IAM5[Resource::*]',
      'X-Ray PutTraceSegments and PutTelemetryRecords have no resource-level permissions.',
    );
    acknowledge(
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      'Wildcard action on the stack CMK only: the uploads it writes are encrypted with it.',
    );
    acknowledge(
      `AwsSolutions-IAM5[Resource::${nagFindingText(this, props.dataBucket.arnForObjects(STRIPE_UPLOAD_PATTERN))}]`,
      `Its own uploads (${STRIPE_UPLOAD_PATTERN}): each is named after its day and content, unknown at deploy time.`,
    );
  }
}
