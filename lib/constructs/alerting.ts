import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

export interface AlertingProps {
  /** Customer-managed key both topics are encrypted with. */
  readonly encryptionKey: kms.IKey;
  /**
   * Slack workspace and channel to subscribe to the alert topic through AWS Chatbot. The workspace
   * must have been authorized once in the AWS Chatbot console.
   * @default - no Slack channel
   */
  readonly slack?: { readonly workspaceId: string; readonly channelId: string };
}

/**
 * Where alerts go. The alert topic carries customer and account alerts (docs/alerts.md) with routing
 * message attributes; teams subscribe with filter policies. The operations topic carries pipeline
 * failures from CloudWatch alarms. Both are encrypted with the CMK and refuse non-TLS requests.
 * Optionally a Slack channel (AWS Chatbot) is subscribed to the alert topic.
 */
export class Alerting extends Construct {
  readonly alertTopic: sns.Topic;
  readonly operationsTopic: sns.Topic;
  readonly slackChannel?: chatbot.SlackChannelConfiguration;

  constructor(scope: Construct, id: string, props: AlertingProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.alertTopic = new sns.Topic(this, 'AlertTopic', {
      displayName: 'Cost per customer alerts',
      masterKey: props.encryptionKey,
      enforceSSL: true,
    });
    this.operationsTopic = new sns.Topic(this, 'OperationsTopic', {
      displayName: 'Cost per customer operations',
      masterKey: props.encryptionKey,
      enforceSSL: true,
    });
    // Alarm actions publish as the CloudWatch service; the topic policy must let this account's alarms do so.
    this.operationsTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.operationsTopic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );

    if (props.slack) {
      // Channel members get notifications only: the guardrail denies every action, so nobody can run
      // AWS commands from Slack with this channel's role, whatever role is attached later.
      const notificationsOnly = new iam.ManagedPolicy(this, 'SlackGuardrailPolicy', {
        description: 'Cost per customer Slack channel: notifications only, no AWS actions from chat',
        statements: [new iam.PolicyStatement({ effect: iam.Effect.DENY, actions: ['*'], resources: ['*'] })],
      });
      this.slackChannel = new chatbot.SlackChannelConfiguration(this, 'SlackChannel', {
        slackChannelConfigurationName: `${stack.stackName}-alerts`.slice(0, 128),
        slackWorkspaceId: props.slack.workspaceId,
        slackChannelId: props.slack.channelId,
        notificationTopics: [this.alertTopic],
        guardrailPolicies: [notificationsOnly],
        loggingLevel: chatbot.LoggingLevel.ERROR,
      });
    }
  }
}
