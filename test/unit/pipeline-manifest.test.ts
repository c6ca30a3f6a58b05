import { describe, expect, it } from 'vitest';
import { deliveryDataFiles, exportDataFolder, parseManifest } from '../../lib/pipeline/manifest.ts';

describe("exportDataFolder: where a delivery's data files must be", () => {
  it.each([
    // CUR 2.0, and an export that keeps a copy of the manifest per delivery (one folder deeper).
    [
      'cur2/acme/metadata/BILLING_PERIOD=2026-10/acme-Manifest.json',
      'data-exports',
      'cur2/acme/data/BILLING_PERIOD=2026-10/',
    ],
    [
      'cur2/acme/metadata/BILLING_PERIOD=2026-10/exec-7/acme-Manifest.json',
      'data-exports',
      'cur2/acme/data/BILLING_PERIOD=2026-10/',
    ],
    [
      'a/b/acme/metadata/BILLING_PERIOD=2026-10/acme-Manifest.json',
      'data-exports',
      'a/b/acme/data/BILLING_PERIOD=2026-10/',
    ],
    // Legacy CUR: the report's folder, for both manifest places.
    ['cur/report/20261001-20261101/report-Manifest.json', 'legacy-cur', 'cur/report/'],
    ['cur/report/report-Manifest.json', 'legacy-cur', 'cur/report/'],
  ] as const)('%s -> %s', (key, kind, folder) => {
    expect(exportDataFolder(key, kind, '2026-10')).toBe(folder);
  });

  it('knows no folder for a manifest outside an export layout, or of another period', () => {
    expect(exportDataFolder('somewhere/acme-Manifest.json', 'data-exports', '2026-10')).toBeUndefined();
    expect(
      exportDataFolder(
        'cur2/acme/metadata/BILLING_PERIOD=2026-09/acme-Manifest.json',
        'data-exports',
        '2026-10',
      ),
    ).toBeUndefined();
    expect(
      exportDataFolder('cur/report/20261001-20261101/other-Manifest.json', 'legacy-cur', '2026-10'),
    ).toBeUndefined();
  });
});

describe('deliveryDataFiles', () => {
  const key = 'cur2/acme/metadata/BILLING_PERIOD=2026-10/acme-Manifest.json';
  const location = { bucket: 'cur-bucket', key };
  const parsed = (dataFiles: string[], manifestKey = key) =>
    parseManifest(
      JSON.stringify({ executionId: 'e-1', billingPeriod: { start: '2026-10-01T00:00:00.000Z' }, dataFiles }),
      manifestKey,
      'cur-bucket',
    );

  it('gives each listed file as the s3:// URI Athena names its rows with', () => {
    const files = ['s3://cur-bucket/cur2/acme/data/BILLING_PERIOD=2026-10/acme-00001.snappy.parquet'];
    expect(deliveryDataFiles(parsed(files), location)).toEqual(files);
  });

  it('refuses a manifest whose key is not in an export layout: its data folder is unknown', () => {
    const odd = 'elsewhere/BILLING_PERIOD=2026-10/acme-Manifest.json';
    expect(() => deliveryDataFiles(parsed([], odd), { bucket: 'cur-bucket', key: odd })).toThrow(
      `manifest ${odd}: is not where a Data Exports export writes its manifest for 2026-10`,
    );
  });

  it("refuses a file of the export's folder in another period, naming the entry and the folder", () => {
    const stray = 's3://cur-bucket/cur2/acme/data/BILLING_PERIOD=2026-09/acme-00001.snappy.parquet';
    expect(() => deliveryDataFiles(parsed([stray]), location)).toThrow(
      `manifest ${key}: data file 1 "${stray}" is not under the export's data folder s3://cur-bucket/cur2/acme/data/BILLING_PERIOD=2026-10/`,
    );
  });
});
