import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { NotifiedAlert } from '../alerts/alert.ts';
import { isAwsError } from '../common/aws-errors.ts';
import { runPrefix } from '../common/names.ts';

/**
 * A run's alerts next to its results, `runs/run=<runId>/alerts.json`: the JSON array the local run
 * writes as `alerts.json` (docs/local-run.md), written by evaluate-alerts and read by write-report, so the
 * report lists exactly the alerts that were evaluated and sent.
 */
export function runAlertsKey(runId: string): string {
  return `${runPrefix(runId)}alerts.json`;
}

export async function writeRunAlerts(
  s3: S3Client,
  resultsBucket: string,
  runId: string,
  alerts: readonly NotifiedAlert[],
): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: resultsBucket,
      Key: runAlertsKey(runId),
      Body: JSON.stringify(alerts),
      ContentType: 'application/json',
    }),
  );
}

/** The run's alerts; none when evaluate-alerts wrote no file (nothing was published to evaluate). */
export async function readRunAlerts(
  s3: S3Client,
  resultsBucket: string,
  runId: string,
): Promise<NotifiedAlert[]> {
  const key = runAlertsKey(runId);
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: resultsBucket, Key: key }));
    const alerts: unknown = JSON.parse((await response.Body?.transformToString('utf-8')) ?? '[]');
    if (!Array.isArray(alerts)) throw new Error(`s3://${resultsBucket}/${key} is not a JSON array`);
    return alerts as NotifiedAlert[];
  } catch (error: unknown) {
    if (isAwsError(error, 'NoSuchKey')) return [];
    throw error;
  }
}
