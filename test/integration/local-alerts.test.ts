import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../lib/alerts/alert.ts';
import { plainTextMessage } from '../../lib/alerts/alert-message.ts';
import { type LocalMessage, runLocal } from '../../lib/local/run-local.ts';
import { tempDir, writeCur2, writeCustomersCsv, writeTelemetryCsv } from '../support/fixtures.ts';

/**
 * One day, 300 of direct cost to a customer paying 1000 a month: ratio 0.3 -> P1 as of that day. The
 * billing file names its currency only when `currency` is given (none: USD).
 */
async function inputs(dir: string, currency?: string) {
  return {
    billing: [
      await writeCur2(join(dir, 'cur.parquet'), [
        {
          date: '2026-10-30',
          service: 'AmazonRDS',
          cost: 300,
          tenant: 'acme',
          ...(currency === undefined ? {} : { currency }),
        },
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
    // The billing file names no currency: USD, as before alerts carried it.
    expect(first.alerts[0]?.currency).toBe('USD');
    expect(first.alerts[0]?.explanation).toBe(
      'Customer acme costs $9,000.00 a month to serve, 900.0% of its $1,000.00 MRR (threshold 25.0%).',
    );
    const written = JSON.parse(readFileSync(join(dir, 'out', 'alerts.json'), 'utf8'));
    expect(written[0]).toMatchObject({
      type: 'cost_to_mrr',
      severity: 'P1',
      asOf: '2026-10-30',
      customerId: 'acme',
      threshold: 0.25,
    });
    // The one message the run would send: the P1 alone, with its email text.
    const messages = JSON.parse(readFileSync(join(dir, 'out', 'messages.json'), 'utf8'));
    expect(messages).toEqual([
      {
        kind: 'single',
        severity: 'P1',
        team: 'team-acme',
        title: 'P1: Customer acme costs 900.0% of its MRR',
        alerts: ['cost_to_mrr|acme'],
        email: plainTextMessage(first.alerts[0] as Alert),
      },
    ]);
    expect(first.messages).toEqual(messages);
    expect(Object.keys(JSON.parse(readFileSync(state, 'utf8')))).toEqual(['cost_to_mrr|acme']);

    const second = await runLocal({
      ...files,
      asOf: '2026-10-30',
      stateFile: state,
      outDir: join(dir, 'out'),
    });
    expect(second.alerts.map((a) => [a.notify, a.heldBack])).toEqual([
      [false, 'sent within the last 7 days'],
    ]);
    expect(JSON.parse(readFileSync(join(dir, 'out', 'alerts.json'), 'utf8'))[0]).toMatchObject({
      notify: false,
      heldBack: 'sent within the last 7 days',
    });
    expect(JSON.parse(readFileSync(join(dir, 'out', 'messages.json'), 'utf8'))).toEqual([]);
  });

  it('sends P2 alerts in one digest per team and, without a state file, the weekly digest', async () => {
    // acme: 210 of cost on one day, cost_30d 6300 against 30000 MRR: ratio 0.21 -> P2 (team-acme). 40
    // reach no customer: 40 / 250 = 16% unattributed over the week -> unattributed_share WARNING for
    // the default team (finops), sent in its weekly digest (no state: never sent before).
    const dir = tempDir();
    const result = await runLocal({
      billing: [
        await writeCur2(join(dir, 'cur.parquet'), [
          { date: '2026-10-30', service: 'AmazonRDS', cost: 210, tenant: 'acme' },
          { date: '2026-10-30', service: 'AmazonS3', cost: 40 },
        ]),
      ],
      telemetry: [writeTelemetryCsv(join(dir, 'usage.csv'), [])],
      customers: writeCustomersCsv(join(dir, 'customers.csv'), [
        { id: 'acme', mrr: 30_000, team: 'team-acme' },
      ]),
      asOf: '2026-10-30',
      outDir: join(dir, 'out'),
    });
    expect(result.alerts.map((a) => [a.type, a.severity, a.team, a.notify])).toEqual([
      ['cost_to_mrr', 'P2', 'team-acme', true],
      ['unattributed_share', 'WARNING', 'finops', true],
    ]);
    const messages = JSON.parse(readFileSync(join(dir, 'out', 'messages.json'), 'utf8')) as LocalMessage[];
    expect(messages.map((m) => [m.kind, m.severity, m.team, m.alerts])).toEqual([
      ['digest', 'P2', 'team-acme', ['cost_to_mrr|acme']],
      ['digest', 'WARNING', 'finops', ['unattributed_share|account']],
    ]);
    // cost_30d - 0.2 x MRR = 6300 - 6000 = 300 at stake.
    expect(messages[0]?.title).toBe('P2 digest for team-acme: 1 alert, $300.00 at stake');
    expect(messages[0]?.email).toContain(`Every alert, with its figures: ${join(dir, 'out', 'report.html')}`);
  });

  it("writes the alerts of a EUR billing file in euros, in alerts.json, the summary's text and the state", async () => {
    const dir = tempDir();
    const state = join(dir, 'state.json');
    const result = await runLocal({
      ...(await inputs(dir, 'EUR')),
      asOf: '2026-10-30',
      stateFile: state,
      outDir: join(dir, 'out'),
    });
    // cost_30d = 300 x 30 / 1 = 9000 (one day of data); ratio 9000 / 1000 = 9 -> P1; AmazonRDS 300.
    expect(result.currency).toBe('EUR');
    const [alert] = result.alerts;
    expect(alert).toMatchObject({ type: 'cost_to_mrr', severity: 'P1', currency: 'EUR', cost30d: 9000 });
    expect(alert?.explanation).toBe(
      'Customer acme costs €9,000.00 a month to serve, 900.0% of its €1,000.00 MRR (threshold 25.0%).',
    );
    const written = JSON.parse(readFileSync(join(dir, 'out', 'alerts.json'), 'utf8'));
    expect(written[0]).toMatchObject({ currency: 'EUR', explanation: alert?.explanation });
    expect(JSON.parse(readFileSync(state, 'utf8'))['cost_to_mrr|acme']).toMatchObject({
      severity: 'P1',
      currency: 'EUR',
    });
    const text = plainTextMessage(alert as Alert);
    expect(text).toContain('Top services: AmazonRDS €300.00');
    expect(text).not.toContain('$');
  });

  it('compares cost_to_mrr with the MRR of the version in force, from a customers file with history', async () => {
    // acme pays 1000 until 19 October, 2000 from 20 October (effective_from); late starts on 25 October.
    // acme's tenant costs 10 a day on 1-30 October, late's tenant 50 on 15 October (before late exists:
    // no customer's cost). As of 19 Oct: 19 billing days, 190 -> cost_30d 190 x 30 / 19 = 300, ratio
    // 300 / 1000 = 0.30 > 0.25: P1. As of 20 Oct: 200 x 30 / 20 = 300, ratio 300 / 2000 = 0.15: nothing.
    const dir = tempDir();
    const items = [];
    for (let day = 1; day <= 30; day++) {
      const date = `2026-10-${String(day).padStart(2, '0')}`;
      items.push({ date, service: 'AmazonRDS', cost: 10, tenant: 'acme' });
    }
    items.push({ date: '2026-10-15', service: 'AmazonRDS', cost: 50, tenant: 'late' });
    const files = {
      billing: [await writeCur2(join(dir, 'cur.parquet'), items)],
      telemetry: [writeTelemetryCsv(join(dir, 'usage.csv'), [])],
      customers: join(dir, 'customers.csv'),
    };
    writeFileSync(
      files.customers,
      [
        'customer_id,tenant_id,name,tier,plan_status,mrr,start_date,end_date,owner_team,effective_from',
        'acme,acme,Acme,growth,paid,1000,,,,',
        'acme,acme,Acme,growth,paid,2000,,,,2026-10-20',
        'late,late,Late,growth,paid,100,,,,2026-10-25',
      ].join('\n'),
    );
    const before = await runLocal({ ...files, asOf: '2026-10-19', outDir: join(dir, 'before') });
    // late's 50 reached no customer (unattributed_share fires on it): only acme is a cost_to_mrr alert.
    const costToMrr = before.alerts.filter((a) => a.type === 'cost_to_mrr');
    expect(costToMrr.map((a) => [a.type, a.severity, a.customerId, a.mrr])).toEqual([
      ['cost_to_mrr', 'P1', 'acme', 1000],
    ]);
    expect(costToMrr[0]?.cost30d).toBeCloseTo(300, 9);
    expect(costToMrr[0]?.value).toBeCloseTo(0.3, 12);
    const after = await runLocal({ ...files, asOf: '2026-10-20', outDir: join(dir, 'after') });
    expect(after.alerts.filter((a) => a.type === 'cost_to_mrr')).toEqual([]);
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
