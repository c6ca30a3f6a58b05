import { CfnResource, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** Ids of the singleton handlers CDK adds at the stack's root for this product's resources. */
const CDK_HANDLER_IDS = ['BucketNotificationsHandler', 'Custom::S3AutoDeleteObjectsCustomResourceProvider'];

/**
 * Gives the Lambda functions CDK adds at the stack's root (the S3 notification handler that wires the
 * CUR trigger; the auto-delete-objects provider when the removal policy is destroy) a log group of their
 * own with a retention: left alone, Lambda creates `/aws/lambda/<name>` on first use, kept forever.
 * Each function's `LoggingConfig` names the new group, so no log group of theirs is created implicitly.
 * Call once every resource of the product exists.
 */
export function giveCdkHandlersLogRetention(
  scope: Construct,
  props: { readonly encryptionKey: kms.IKey; readonly removalPolicy: RemovalPolicy },
): logs.LogGroup[] {
  const stack = Stack.of(scope);
  const created: logs.LogGroup[] = [];
  for (const child of stack.node.children) {
    if (!CDK_HANDLER_IDS.some((id) => child.node.id.startsWith(id))) continue;
    const handlers = child.node
      .findAll()
      .filter(
        (node): node is CfnResource =>
          node instanceof CfnResource && node.cfnResourceType === 'AWS::Lambda::Function',
      );
    for (const handler of handlers) {
      const logGroup = new logs.LogGroup(scope, `${child.node.id.replace(/[^A-Za-z0-9]/g, '')}LogGroup`, {
        retention: logs.RetentionDays.ONE_MONTH,
        encryptionKey: props.encryptionKey,
        removalPolicy: props.removalPolicy,
      });
      handler.addPropertyOverride('LoggingConfig', { LogGroup: logGroup.logGroupName });
      created.push(logGroup);
    }
  }
  return created;
}
