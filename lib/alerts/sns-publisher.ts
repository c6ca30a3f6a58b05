import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Alert } from './alert.ts';
import { type AlertMessageOptions, messageAttributes, snsMessage } from './alert-message.ts';

/** Publishes an alert to an SNS topic with its routing attributes. The SDK retries throttling itself. */
export function snsPublisher(
  client: SNSClient,
  topicArn: string,
  options: AlertMessageOptions = {},
): (alert: Alert) => Promise<void> {
  return async (alert) => {
    await client.send(
      new PublishCommand({
        TopicArn: topicArn,
        MessageStructure: 'json',
        Message: snsMessage(alert, options),
        Subject: `[${alert.severity}] cost-per-customer: ${alert.type}`.slice(0, 100),
        MessageAttributes: messageAttributes(alert),
      }),
    );
  };
}
