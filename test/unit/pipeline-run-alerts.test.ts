import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import type { NotifiedAlert } from '../../lib/alerts/alert.ts';
import { readRunAlerts, runAlertsKey, writeRunAlerts } from '../../lib/pipeline/run-alerts.ts';

const s3mock = mockClient(S3Client);
beforeEach(() => s3mock.reset());

const s3 = new S3Client({ region: 'eu-west-1' });
const BUCKET = 'cpc-results-111122223333';
const RUN = '2026-10_exec_abc';
const body = (text: string) =>
  ({ transformToString: async () => text }) as unknown as GetObjectCommandOutput['Body'];

const alert = {
  type: 'cost_to_mrr',
  severity: 'P1',
  asOf: '2026-10-30',
  subject: 'acme',
  customerId: 'acme',
  customerName: 'Acme "Zürich" </script>',
  value: 0.31,
  threshold: 0.25,
  notify: true,
} as unknown as NotifiedAlert;

describe("a run's alerts file", () => {
  it('lives next to the run results, as the local run names it', () => {
    expect(runAlertsKey(RUN)).toBe('runs/run=2026-10_exec_abc/alerts.json');
  });

  it('reads back what was written, names and all', async () => {
    s3mock.on(PutObjectCommand).resolves({});
    await writeRunAlerts(s3, BUCKET, RUN, [alert]);
    const put = s3mock.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(put).toMatchObject({ Bucket: BUCKET, Key: runAlertsKey(RUN), ContentType: 'application/json' });

    s3mock
      .on(GetObjectCommand, { Bucket: BUCKET, Key: runAlertsKey(RUN) })
      .resolves({ Body: body(String(put?.Body)) });
    expect(await readRunAlerts(s3, BUCKET, RUN)).toEqual([alert]);
  });

  it('is empty when evaluate-alerts wrote none, and refuses a file that is not a list', async () => {
    s3mock.on(GetObjectCommand).rejectsOnce(new NoSuchKey({ message: 'no', $metadata: {} }));
    expect(await readRunAlerts(s3, BUCKET, RUN)).toEqual([]);
    s3mock.on(GetObjectCommand).resolves({ Body: body('{"type":"cost_to_mrr"}') });
    await expect(readRunAlerts(s3, BUCKET, RUN)).rejects.toThrow(/is not a JSON array/);
  });
});
