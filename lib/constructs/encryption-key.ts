import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface EncryptionKeyProps {
  /**
   * What happens to the key when the stack is deleted. Keep it whenever data encrypted with it is
   * kept: a retained bucket is unreadable without its key.
   */
  readonly removalPolicy: RemovalPolicy;
  /**
   * Alias of the key, without the `alias/` prefix.
   * @default - `cost-per-customer/<stack name>`
   */
  readonly aliasName?: string;
}

/**
 * The customer-managed KMS key for all data at rest: buckets, the serving table, the SNS topics and
 * Athena query results. Rotation is on. Its policy also lets CloudWatch alarms in this account use
 * it, which they need to publish to topics encrypted with it.
 */
export class EncryptionKey extends Construct {
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: EncryptionKeyProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.key = new kms.Key(this, 'Key', {
      description: `Cost per customer (${stack.stackName}): data at rest`,
      alias: `alias/${props.aliasName ?? `cost-per-customer/${stack.stackName}`}`,
      enableKeyRotation: true,
      pendingWindow: Duration.days(30),
      removalPolicy: props.removalPolicy,
    });
    // An alarm action publishes to an encrypted topic with the alarm service's identity, so the
    // key policy (not IAM) must allow it; scoped to alarms of this account.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
  }
}
