import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';

/** The run's alarms: what failed, and where operations hear of it. */
export interface RunAlarmsProps {
  readonly stateMachine: sfn.StateMachine;
  readonly deadLetterQueue: sqs.IQueue;
  /** Topic of pipeline failures (alarm actions). */
  readonly operationsTopic: sns.ITopic;
}

/**
 * Alarms, created in `scope`: a failed run (the state machine's `ExecutionsFailed`), and a delivery
 * whose run could not be started (a message in on-delivery's dead-letter queue). Both notify the
 * operations topic.
 */
export function createRunAlarms(
  scope: Construct,
  props: RunAlarmsProps,
): { readonly executionsFailed: cloudwatch.Alarm; readonly deadLetterQueue: cloudwatch.Alarm } {
  const notifyOperations = new cloudwatchActions.SnsAction(props.operationsTopic);
  const executionsFailed = new cloudwatch.Alarm(scope, 'ExecutionsFailedAlarm', {
    alarmDescription: 'A cost-per-customer run failed: the previous results stay published',
    metric: props.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  executionsFailed.addAlarmAction(notifyOperations);
  const deadLetterQueue = new cloudwatch.Alarm(scope, 'DeadLetterQueueAlarm', {
    alarmDescription: 'A CUR delivery could not start its run: see the on-delivery dead-letter queue',
    metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      period: Duration.minutes(5),
      statistic: cloudwatch.Stats.MAXIMUM,
    }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  deadLetterQueue.addAlarmAction(notifyOperations);
  return { executionsFailed, deadLetterQueue };
}
