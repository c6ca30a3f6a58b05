import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runLocal } from '../../lib/local/run-local.ts';
import { tempDir, writeCur2, writeCustomersCsv, writeTelemetryCsv } from '../support/fixtures.ts';

/** One day, 300 of direct cost to a customer paying 1000 a month: ratio 0.3 -> P1 as of that day. */
async function inputs(dir: string) {
  return {
    billing: [
      await writeCur2(join(dir, 'cur.parquet'), [
        { date: '2026-10-30', service: 'AmazonRDS', cost: 300, tenant: 'acme' },
      ]),
    ],
    telemetry: [writeTelemetryCsv(join(dir, 'usage.csv'), [])],
    customers: writeCustomersCsv(join(dir, 'customers.csv'), [{ id: 'acme', mrr: 1000, team: 'team-acme' }]),
  };
}

describe('alerts in a local run', () => {
  it('writes alerts.json and, with a state file, does not repeat an alert on the next run', async () => {
    const dir = tempDir();
    const state = join(dir, 'state.json');
    const files = await inputs(dir);
    const first = await runLocal({
      ...files,
      asOf: '2026-10-30',
      stateFile: state,
      outDir: join(dir, 'out'),
    });
    // Only one day has billing data: cost_30d = 300 x 30 / 1 = 9000, ratio 9 -> P1.
    expect(first.alerts.map((a) => [a.type, a.severity, a.customerId, a.team, a.notify])).toEqual([
      ['cost_to_mrr', 'P1', 'acme', 'team-acme', true],
    ]);
    expect(first.alerts[0]?.value).toBeCloseTo(9, 12);
    const written = JSON.parse(readFileSync(join(dir, 'out', 'alerts.json'), 'utf8'));
    expect(written[0]).toMatchObject({
      type: 'cost_to_mrr',
      severity: 'P1',
      asOf: '2026-10-30',
      customerId: 'acme',
      threshold: 0.25,
    });
    expect(Object.keys(JSON.parse(readFileSync(state, 'utf8')))).toEqual(['cost_to_mrr|acme']);

    const second = await runLocal({
      ...files,
      asOf: '2026-10-30',
      stateFile: state,
      outDir: join(dir, 'out'),
    });
    expect(second.alerts.map((a) => a.notify)).toEqual([false]);
  });

  it('leaves the state file untouched when the run fails', async () => {
    const dir = tempDir();
    const state = join(dir, 'state.json');
    const files = await inputs(dir);
    writeFileSync(files.customers, 'customer_id,name,tier,plan_status,mrr\nacme,Acme,growth,gold,1000\n');
    await expect(runLocal({ ...files, stateFile: state, outDir: join(dir, 'out') })).rejects.toThrow(
      'plan_status',
    );
    expect(existsSync(state)).toBe(false);
  });
});
