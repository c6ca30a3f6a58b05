import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queryCommand } from '../../lib/local/query-command.ts';
import { runLocal } from '../../lib/local/run-local.ts';
import { tempDir, writeCur2, writeTelemetryCsv } from '../support/fixtures.ts';

/**
 * The monthly finance views over an effective-dated customers file (docs/attribution.md 1.3,
 * docs/finance.md): a month's MRR and customer fields are those of the version in force on the
 * customer's last day with cost in the month, from a real local run read back by `cpc query`.
 */
describe('finance views over customer versions', () => {
  it('takes the month-end version for a customer served all month, the last one for a customer who left', async () => {
    const dir = tempDir('cpc-finance-versions-');
    // acme: growth at 1,000 until 19 October, enterprise at 2,000 from the 20th.
    // bolt: 500 from the start, 800 from 10 October, and leaves on 15 October (end_date inclusive).
    const customers = join(dir, 'customers.csv');
    writeFileSync(
      customers,
      [
        'customer_id,tenant_id,name,tier,plan_status,mrr,start_date,end_date,owner_team,effective_from',
        'acme,,Acme,growth,paid,1000,,,,',
        'acme,,Acme,enterprise,paid,2000,,,,2026-10-20',
        'bolt,,Bolt,growth,paid,500,,2026-10-15,,',
        'bolt,,Bolt,growth,paid,800,,2026-10-15,,2026-10-10',
      ].join('\n'),
    );
    // Direct cost on three days: acme 100 on the 5th and 300 on the 25th; bolt 40 on the 12th.
    const cur = await writeCur2(join(dir, 'cur.parquet'), [
      { date: '2026-10-05', service: 'AmazonEC2', cost: 100, tenant: 'acme' },
      { date: '2026-10-25', service: 'AmazonEC2', cost: 300, tenant: 'acme' },
      { date: '2026-10-12', service: 'AmazonEC2', cost: 40, tenant: 'bolt' },
    ]);
    const telemetry = writeTelemetryCsv(join(dir, 'usage.csv'), [
      { date: '2026-10-05', tenant: 'acme', metric: 'requests', quantity: 1 },
    ]);
    const outDir = join(dir, 'out');
    await runLocal({
      billing: [cur],
      telemetry: [telemetry],
      customers,
      outDir,
      runId: 'versions',
      engine: { threads: 1 },
    });

    const monthly = await queryCommand({ view: 'customer_monthly_cost', outDir, customers });
    const rows = monthly.rows.map((row) => ({
      customer_id: row.customer_id,
      tier: row.tier,
      mrr: Number(row.mrr),
      total_cost: Number(row.total_cost),
      cost_to_mrr: Number(row.cost_to_mrr),
    }));
    expect(rows).toEqual([
      // Last day with cost is the 25th: the 2,000 enterprise version. 400 / 2,000 = 0.2.
      { customer_id: 'acme', tier: 'enterprise', mrr: 2000, total_cost: 400, cost_to_mrr: 0.2 },
      // Last day with cost is the 12th: the 800 version (from the 10th). 40 / 800 = 0.05.
      { customer_id: 'bolt', tier: 'growth', mrr: 800, total_cost: 40, cost_to_mrr: 0.05 },
    ]);

    // tier_margin counts acme in enterprise, the tier of its month-end version: 400 / 2,000 -> margin 0.8.
    const tiers = await queryCommand({ view: 'tier_margin', outDir, customers });
    const enterprise = tiers.rows.find((row) => row.tier === 'enterprise');
    expect(Number(enterprise?.customers)).toBe(1);
    expect(Number(enterprise?.total_mrr)).toBe(2000);
    expect(Number(enterprise?.margin)).toBeCloseTo(0.8, 12);
  });
});
