import { describe, expect, it } from 'vitest';
import { parseCurManifest } from '../../lib/inputs/cur-manifest.ts';
import { InputError } from '../../lib/inputs/input-error.ts';

const CUR2_PATH = '/data/my-export/metadata/BILLING_PERIOD=2026-10/my-export-Manifest.json';

describe('parseCurManifest', () => {
  it('reads a CUR 2.0 manifest: period from billingPeriod, keys from the s3 URIs, duplicates once', () => {
    const manifest = parseCurManifest(
      JSON.stringify({
        executionId: 'e-1',
        exportArn: 'arn:aws:bcm-data-exports:us-east-1:111122223333:export/x',
        billingPeriod: { start: '2026-10-01T00:00:00.000Z', end: '2026-11-01T00:00:00.000Z' },
        dataFiles: [
          's3://b/cur/x/data/BILLING_PERIOD=2026-10/x-1.parquet',
          's3://b/cur/x/data/BILLING_PERIOD=2026-10/x-1.parquet',
        ],
      }),
      CUR2_PATH,
    );
    expect(manifest).toEqual({
      billingPeriod: '2026-10',
      id: 'e-1',
      keys: ['cur/x/data/BILLING_PERIOD=2026-10/x-1.parquet'],
      uris: ['s3://b/cur/x/data/BILLING_PERIOD=2026-10/x-1.parquet'],
    });
  });

  it('reads a legacy manifest: legacy period start, keys in its bucket', () => {
    const manifest = parseCurManifest(
      JSON.stringify({
        assemblyId: 'a-1',
        bucket: 'b',
        billingPeriod: { start: '20261001T000000.000Z', end: '20261101T000000.000Z' },
        reportKeys: ['cur/r/20261001-20261101/a-1/r-1.csv.gz'],
      }),
      '/x/r/20261001-20261101/r-Manifest.json',
    );
    expect(manifest).toEqual({
      billingPeriod: '2026-10',
      id: 'a-1',
      keys: ['cur/r/20261001-20261101/a-1/r-1.csv.gz'],
      uris: ['s3://b/cur/r/20261001-20261101/a-1/r-1.csv.gz'],
    });
  });

  it('takes the period from the folder when the manifest has none', () => {
    expect(parseCurManifest('{"executionId":"e","dataFiles":[]}', CUR2_PATH).billingPeriod).toBe('2026-10');
  });

  it('refuses text that is not a usable manifest, naming the file', () => {
    const cases: [string, string][] = [
      [
        '{"executionId": "e", "dataF',
        'is not valid JSON (truncated or corrupt?): a CUR manifest is a JSON object',
      ],
      [
        '{"files": []}',
        'is neither a CUR 2.0 manifest (executionId, dataFiles) nor a legacy CUR manifest (assemblyId, reportKeys)',
      ],
      [
        '{"executionId":"e","dataFiles":[],"billingPeriod":{"start":"2026-10-15"}}',
        'billingPeriod start "2026-10-15" is not the start of a month',
      ],
    ];
    for (const [text, problem] of cases) {
      const error = (() => {
        try {
          parseCurManifest(text, CUR2_PATH);
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(InputError);
      expect((error as InputError).message).toBe(`${CUR2_PATH}: ${problem}`);
    }
    expect(() => parseCurManifest('{"executionId":"e","dataFiles":[]}', '/x/m-Manifest.json')).toThrow(
      '/x/m-Manifest.json: has no billingPeriod and its folder names no billing period',
    );
  });
});
