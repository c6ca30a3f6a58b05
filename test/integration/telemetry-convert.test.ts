import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import { InputError } from '../../lib/inputs/input-error.ts';
import { defineTelemetry } from '../../lib/local/local-sources.ts';
import { fromCsv, fromPrometheusText, writeTelemetryLayout } from '../../lib/local/telemetry-convert.ts';
import { tempDir } from '../support/fixtures.ts';

// A dump as `curl http://prometheus:9090/federate?match[]={__name__=~"tenant:.*"}` gives it: HELP and
// TYPE lines, recording rules of daily increases with a tenant label, a series without it, a histogram,
// escaped label values and millisecond timestamps (2026-10-14T23:59:00Z and 2026-10-15T23:59:00Z).
const DUMP = `# HELP tenant:http_requests:increase1d Requests per tenant over the day.
# TYPE tenant:http_requests:increase1d gauge
tenant:http_requests:increase1d{tenant_id="acme",job="api"} 1200 1792022340000
tenant:http_requests:increase1d{job="api",tenant_id="acme"} 300 1792022340000
tenant:http_requests:increase1d{tenant_id="o\\"brien, ltd",job="api"} 450.5 1792022340000
tenant:http_requests:increase1d{tenant_id="acme",job="api"} 1000 1792108740000
tenant:http_requests:increase1d{job="api"} 99 1792022340000
# TYPE tenant:storage_bytes gauge
tenant:storage_bytes{tenant_id="acme"} 5e9 1792022340000
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{tenant_id="acme",le="0.5"} 10 1792022340000
http_request_duration_seconds_count{tenant_id="acme"} 12 1792022340000
`;

describe('cpc telemetry: a Prometheus dump', () => {
  it('reads every sample with a tenant label as its day, labels in any order and escaped', () => {
    const { rows, skipped } = fromPrometheusText(DUMP, 'dump.prom', {
      metrics: { 'tenant:http_requests:increase1d': 'requests', 'tenant:storage_bytes': 'storage_bytes' },
    });
    expect(rows).toEqual([
      { usageDate: '2026-10-14', tenantId: 'acme', metric: 'requests', quantity: 1200 },
      { usageDate: '2026-10-14', tenantId: 'acme', metric: 'requests', quantity: 300 },
      { usageDate: '2026-10-14', tenantId: 'o"brien, ltd', metric: 'requests', quantity: 450.5 },
      { usageDate: '2026-10-15', tenantId: 'acme', metric: 'requests', quantity: 1000 },
      { usageDate: '2026-10-14', tenantId: 'acme', metric: 'storage_bytes', quantity: 5e9 },
    ]);
    // The series without a tenant, the bucket and the metric not asked for are left out, counted.
    expect(skipped).toEqual({
      'no tenant_id label': 1,
      'histogram bucket or summary quantile': 1,
      'metric not asked for (http_request_duration_seconds_count)': 1,
    });
  });

  it('writes one file per day, summed per tenant and metric, that the run reads as telemetry', async () => {
    const out = join(tempDir(), 'usage');
    const { rows } = fromPrometheusText(DUMP, 'dump.prom', {
      metrics: { 'tenant:http_requests:increase1d': 'requests' },
    });
    const written = writeTelemetryLayout(rows, 'prometheus', out);
    expect(written.files).toEqual([
      join(out, 'usage_day=2026-10-14', 'prometheus', 'usage.json'),
      join(out, 'usage_day=2026-10-15', 'prometheus', 'usage.json'),
    ]);
    // acme on the 14th: 1200 + 300 = 1500 in one row.
    expect(readFileSync(written.files[0] as string, 'utf8')).toBe(
      '{"usage_date":"2026-10-14","tenant_id":"acme","metric":"requests","quantity":1500}\n' +
        '{"usage_date":"2026-10-14","tenant_id":"o\\"brien, ltd","metric":"requests","quantity":450.5}\n',
    );
    expect(written).toMatchObject({ days: 2, rows: 3, tenants: 2, metrics: ['requests'] });
    const engine = await DuckDbEngine.create({ threads: 1 });
    try {
      await defineTelemetry(engine, [out]);
      const sums = await engine.query(
        'SELECT CAST(usage_date AS VARCHAR) AS day, tenant_id, sum(quantity) AS q FROM telemetry GROUP BY ALL ORDER BY day, tenant_id',
      );
      expect(sums).toEqual([
        { day: '2026-10-14', tenant_id: 'acme', q: 1500 },
        { day: '2026-10-14', tenant_id: 'o"brien, ltd', q: 450.5 },
        { day: '2026-10-15', tenant_id: 'acme', q: 1000 },
      ]);
    } finally {
      engine.close();
    }
    // A second conversion of the same days does not add to them: it refuses to replace the files.
    expect(() => writeTelemetryLayout(rows, 'prometheus', out)).toThrow(
      /exists already: it is not overwritten/,
    );
  });

  it('reads OpenMetrics timestamps as seconds (told by # EOF), and --date for samples without one', () => {
    const openMetrics = 'requests_total{tenant_id="a"} 5 1792022340.5\n# EOF\n';
    expect(fromPrometheusText(openMetrics, 'om.txt').rows).toEqual([
      { usageDate: '2026-10-14', tenantId: 'a', metric: 'requests_total', quantity: 5 },
    ]);
    const undated = 'requests_total{tenant_id="a"} 5\n';
    expect(fromPrometheusText(undated, 'p.txt', { date: '2026-10-01' }).rows[0]?.usageDate).toBe(
      '2026-10-01',
    );
    expect(() => fromPrometheusText(undated, 'p.txt')).toThrow('p.txt, row 1: the sample has no timestamp');
  });

  it('refuses negative, NaN and infinite values and lines that are not samples, naming file and line', () => {
    const bad = (line: string) => () =>
      fromPrometheusText(`# ok\n${line}\n`, 'dump.prom', { date: '2026-10-01' });
    expect(bad('req{tenant_id="a"} -1')).toThrow('dump.prom, column "req", row 2: -1 is negative');
    expect(bad('req{tenant_id="a"} NaN')).toThrow(
      'dump.prom, column "req", row 2: NaN is not a finite quantity',
    );
    expect(bad('req{tenant_id="a"} +Inf')).toThrow(InputError);
    expect(bad('req{tenant_id="a" 5')).toThrow('dump.prom, row 2: not a sample line');
  });
});

describe('cpc telemetry: a CSV with its own column names', () => {
  it('maps the columns, takes the day of an ISO timestamp and leaves out rows without a tenant', () => {
    const csv =
      '\uFEFFday,customer,count,extra\n2026-10-14T10:00:00Z,acme,3,x\n2026-10-14,,7,y\n2026-10-15,beta,0,z\n';
    const { rows, skipped } = fromCsv(csv, 'export.csv', {
      date: 'day',
      tenant: 'customer',
      quantity: 'count',
      metric: 'api_calls',
    });
    expect(rows).toEqual([
      { usageDate: '2026-10-14', tenantId: 'acme', metric: 'api_calls', quantity: 3 },
      { usageDate: '2026-10-15', tenantId: 'beta', metric: 'api_calls', quantity: 0 },
    ]);
    expect(skipped).toEqual({ 'no customer': 1 });
    expect(() =>
      fromCsv(csv, 'export.csv', { date: 'when', tenant: 'customer', quantity: 'count', metric: 'm' }),
    ).toThrow('export.csv, column "when": no such column (the header has day, customer, count, extra)');
    expect(() => fromCsv('usage_date,tenant_id,metric,quantity\n2026-13-01,a,m,1\n', 'u.csv')).toThrow(
      'u.csv, column "usage_date", row 1: "2026-13-01" is not a date',
    );
  });
});

describe('the cpc telemetry command', () => {
  const cpc = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'bin/cpc.ts', 'telemetry', ...args], {
      encoding: 'utf8',
    });

  it('writes the layout, warns about what it left out and says how to run and upload it', () => {
    const dir = tempDir();
    const dump = join(dir, 'dump.prom');
    writeFileSync(dump, DUMP);
    const out = join(dir, 'usage');
    const args = ['--prometheus', dump, '--source', 'prometheus', '--out', out];
    const cli = cpc([...args, '--metric', 'tenant:http_requests:increase1d=requests']);
    expect(cli.status).toBe(0);
    expect(cli.stdout).toContain(
      `Wrote 3 usage rows (2 tenants; metrics requests) for 2 day(s), source prometheus`,
    );
    expect(cli.stdout).toContain(`aws s3 cp --recursive ${out} s3://<DataBucketName>/telemetry/`);
    expect(cli.stderr).toContain(`cpc: warning: ${dump}: 1 sample or row left out: no tenant_id label`);
    expect(existsSync(join(out, 'usage_day=2026-10-15', 'prometheus', 'usage.json'))).toBe(true);
    // Run again on the same folder: refused, exit 1, the files as they were.
    const again = cpc(args);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/usage\.json: exists already: it is not overwritten/);
  }, 60_000);
});
