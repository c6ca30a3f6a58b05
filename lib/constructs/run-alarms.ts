import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { PIPELINE_METRICS_NAMESPACE } from './pipeline-function.ts';

/** The run's alarms: what failed, and where operations hear of it. */
export interface RunAlarmsProps {
  readonly stateMachine: sfn.StateMachine;
  readonly deadLetterQueue: sqs.IQueue;
  /** Topic of pipeline failures (alarm actions). */
  readonly operationsTopic: sns.ITopic;
}

/** Every alarm of the run. */
export interface RunAlarms {
  readonly executionsFailed: cloudwatch.Alarm;
  readonly executionsTimedOut: cloudwatch.Alarm;
  readonly executionsAborted: cloudwatch.Alarm;
  readonly deadLetterQueue: cloudwatch.Alarm;
  readonly incompleteDelivery: cloudwatch.Alarm;
  readonly overduePeriods: cloudwatch.Alarm;
}

/**
 * A Powertools metric of a pipeline function (namespace `CostPerCustomer`, dimension `service` = the
 * function's name, which Powertools adds to every metric).
 */
export function pipelineMetric(
  service: string,
  metricName: string,
  statistic: string,
  period: Duration,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: PIPELINE_METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service },
    statistic,
    period,
  });
}

/**
 * Alarms, created in `scope`, each notifying the operations topic once when it goes into alarm:
 * - a run failed, timed out (the state machine's 6-hour timeout) or was stopped by hand;
 * - a delivery could not start its run (a message in on-delivery's dead-letter queue);
 * - a delivery is incomplete: data files its manifest lists were still missing at on-delivery's last
 *   attempt (`IncompleteDeliveries` of on-delivery, counted only then);
 * - a billing period has no visible run 26 hours after its delivery (`OverduePeriods` of run-watch).
 */
export function createRunAlarms(scope: Construct, props: RunAlarmsProps): RunAlarms {
  const notifyOperations = new cloudwatchActions.SnsAction(props.operationsTopic);
  const fiveMinutes = Duration.minutes(5);
  const alarm = (id: string, alarmDescription: string, metric: cloudwatch.IMetric) => {
    const created = new cloudwatch.Alarm(scope, id, {
      alarmDescription,
      metric,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No datapoint means nothing happened (no run, no delivery, run-watch not yet run).
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    created.addAlarmAction(notifyOperations);
    return created;
  };
  const sum = { period: fiveMinutes, statistic: cloudwatch.Stats.SUM };
  const stillVisible =
    'the previous run of the period stays visible, or this run is fully visible if it failed after its publish (see the execution)';
  return {
    executionsFailed: alarm(
      'ExecutionsFailedAlarm',
      `A cost-per-customer run failed: ${stillVisible}`,
      props.stateMachine.metricFailed(sum),
    ),
    executionsTimedOut: alarm(
      'ExecutionsTimedOutAlarm',
      `A cost-per-customer run timed out (6 hours): ${stillVisible}`,
      props.stateMachine.metricTimedOut(sum),
    ),
    executionsAborted: alarm(
      'ExecutionsAbortedAlarm',
      `A cost-per-customer run was stopped: ${stillVisible}; its lease expires within 2 hours`,
      props.stateMachine.metricAborted(sum),
    ),
    deadLetterQueue: alarm(
      'DeadLetterQueueAlarm',
      'A CUR delivery could not start its run: see the on-delivery dead-letter queue',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: fiveMinutes,
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
    ),
    incompleteDelivery: alarm(
      'IncompleteDeliveryAlarm',
      'A CUR delivery is incomplete: data files its manifest lists were still missing after the retries (see the on-delivery logs); no run started',
      pipelineMetric('on-delivery', 'IncompleteDeliveries', cloudwatch.Stats.SUM, fiveMinutes),
    ),
    overduePeriods: alarm(
      'OverduePeriodsAlarm',
      'A billing period has no successful run 26 hours after its delivery (see the run-watch logs)',
      pipelineMetric('run-watch', 'OverduePeriods', cloudwatch.Stats.MAXIMUM, Duration.hours(1)),
    ),
  };
}
