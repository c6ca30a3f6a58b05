import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDbEngine } from '../engine/duckdb-engine.ts';
import { sqlString } from '../sql/sql-template.ts';
import { CUR_COLUMNS } from './synthetic-month.ts';

/** Trial customers that use the product heavily: enough of them to lift the trial median (freemium_cliff). */
const HEAVY_TRIALS = ['Hyperion Trial Labs', 'Quokka Sandbox Co', 'Vireo Pilot GmbH', 'Zephyr Eval Inc'];
/** Direct cost per day of each heavy trial: about $186 a month, above a typical paid customer's share. */
const HEAVY_TRIAL_DAILY_COST = 6;
/** A tenant deleted from the customer list whose resources still run (unattributed_share). */
const ORPHAN_TENANT = 'deleted-tenant-showcase';
/** Its cost per day over the last 8 days of the month: about 8% of the demo's attributable cost. */
const ORPHAN_DAILY_COST = 40;

/**
 * A paid customer whose usage doubles over the last 8 days of the month (cost_trend_7d): $10 of direct
 * cost a day, then $20, so the last 7 days before D cost twice the 7 before them, whatever the month's
 * length. Its MRR keeps it well below the cost_to_mrr thresholds (about $370 / $5,000).
 */
const GROWING_CUSTOMER = { tenant: 'showcase-growing', name: 'Rampart Analytics', mrr: 5000 };
const GROWING_DAILY_COST = 10;

/**
 * A paid customer whose cost jumps on the evaluation day D (the month's last day but one): $100 a day,
 * $180 on D (cost_anomaly: median 100, MAD 0, impact 80 >= 20 and >= 50). The week's growth stays
 * 80 / 700 = 11% (no cost_trend_7d) and its MRR keeps cost_to_mrr quiet (about $3,080 / $20,000).
 */
const SPIKING_CUSTOMER = { tenant: 'showcase-spike', name: 'Spikeway Media', mrr: 20000 };
const SPIKING_DAILY_COST = 100;
const SPIKE = 80;

/**
 * Adds to a generated month what the demo needs to show every alert type, whatever the month: heavy
 * trial customers (freemium_cliff), a customer whose cost doubles in the last week (cost_trend_7d) and
 * an orphaned tenant that keeps costing money in the last week (unattributed_share). Over-MRR customers
 * (cost_to_mrr) arise from the generated population.
 * Writes one more CUR 2.0 Parquet file beside the others and appends the trials to customers.csv.
 */
export async function addAlertShowcase(
  outDir: string,
  month: string,
  customersFile: string,
): Promise<string> {
  const monthStart = `${month}-01`;
  const rows = [
    ...HEAVY_TRIALS.map((_, i) => ({
      tenant: `showcase-trial-${i + 1}`,
      firstDay: 0,
      cost: HEAVY_TRIAL_DAILY_COST,
    })),
    { tenant: GROWING_CUSTOMER.tenant, firstDay: 0, cost: GROWING_DAILY_COST },
    { tenant: GROWING_CUSTOMER.tenant, firstDay: -8, cost: GROWING_DAILY_COST },
    { tenant: ORPHAN_TENANT, firstDay: -8, cost: ORPHAN_DAILY_COST },
    { tenant: SPIKING_CUSTOMER.tenant, firstDay: 0, cost: SPIKING_DAILY_COST },
    { tenant: SPIKING_CUSTOMER.tenant, firstDay: -2, lastDay: -2, cost: SPIKE },
  ];
  const spans = rows
    .map((r) => `(${sqlString(r.tenant).sql}, ${r.firstDay}, ${'lastDay' in r ? r.lastDay : 0}, ${r.cost})`)
    .join(', ');
  const values: Record<string, string> = {
    bill_billing_period_start_date: `CAST(DATE ${sqlString(monthStart).sql} AS TIMESTAMP)`,
    bill_billing_period_end_date: `CAST(DATE ${sqlString(monthStart).sql} + INTERVAL 1 MONTH AS TIMESTAMP)`,
    bill_payer_account_id: `'111111111111'`,
    line_item_usage_account_id: `'222222222222'`,
    line_item_line_item_type: `'Usage'`,
    line_item_usage_start_date: 'CAST(day AS TIMESTAMP)',
    line_item_usage_end_date: 'CAST(day AS TIMESTAMP) + INTERVAL 1 DAY',
    line_item_product_code: `'AmazonEC2'`,
    line_item_usage_type: `'USE1-BoxUsage:m7g.xlarge'`,
    line_item_operation: `'RunInstances'`,
    line_item_resource_id: `'i-showcase-' || tenant`,
    line_item_usage_amount: '24',
    line_item_currency_code: `'USD'`,
    line_item_unblended_cost: 'cost',
    line_item_net_unblended_cost: 'cost',
    resource_tags: `MAP {'user_tenant_id': tenant, 'user_environment': 'prod'}`,
  };
  // Days of the month: from the first (firstDay 0) or from `firstDay` days before its end, to its end
  // (lastDay 0) or to `lastDay` days before it (a span of one day: firstDay = lastDay).
  const select = `
    WITH spans(tenant, first_day, last_day, cost) AS (VALUES ${spans}),
    days AS (
      SELECT CAST(d AS DATE) AS day
      FROM range(DATE ${sqlString(monthStart).sql}, DATE ${sqlString(monthStart).sql} + INTERVAL 1 MONTH, INTERVAL 1 DAY) AS t(d)
    ),
    items AS (
      SELECT s.tenant, s.cost, d.day FROM spans AS s JOIN days AS d
        ON (s.first_day = 0 OR d.day >= DATE ${sqlString(monthStart).sql} + INTERVAL 1 MONTH + to_days(s.first_day))
        AND (s.last_day = 0 OR d.day < DATE ${sqlString(monthStart).sql} + INTERVAL 1 MONTH + to_days(s.last_day + 1))
    )
    SELECT ${CUR_COLUMNS.map(([name, type]) => `CAST(${values[name] ?? 'NULL'} AS ${type}) AS ${name}`).join(', ')}
    FROM items ORDER BY day, tenant`;
  const file = join(outDir, 'cur', 'data', `BILLING_PERIOD=${month}`, 'alert-showcase.parquet');
  const engine = await DuckDbEngine.create({ threads: 1 });
  try {
    await engine.run(`COPY (${select}) TO ${sqlString(file).sql} (FORMAT parquet)`);
  } finally {
    engine.close();
  }
  appendFileSync(
    customersFile,
    [
      ...HEAVY_TRIALS.map(
        (name, i) => `showcase-trial-${i + 1},,${name},self-serve,trial,0,${monthStart},,team-growth\n`,
      ),
      `${GROWING_CUSTOMER.tenant},,${GROWING_CUSTOMER.name},growth,paid,${GROWING_CUSTOMER.mrr},${monthStart},,team-data\n`,
      `${SPIKING_CUSTOMER.tenant},,${SPIKING_CUSTOMER.name},enterprise,paid,${SPIKING_CUSTOMER.mrr},${monthStart},,team-data\n`,
    ].join(''),
  );
  return file;
}

/**
 * The demo's alert configuration (`alerts-config.json` beside the inputs): a materiality floor for a
 * company of its size, where a customer costing less than $100 a month is not worth a page, and two
 * unit-cost targets of its rules: compute per 1,000 requests (about $0.12 in a generated month, above
 * its $0.10 target: unit_cost_target fires) and the search pool per customer (within its target).
 */
export const DEMO_ALERTS_CONFIG = {
  minMonthlyCost: 100,
  unitCostTargets: [
    {
      id: 'compute-per-1k-requests',
      scope: { rule: 'compute-network' },
      per: { metric: 'requests', unit: 1000 },
      target: 0.1,
      team: 'team-platform',
    },
    {
      id: 'search-per-customer',
      scope: { rule: 'search-pool' },
      per: 'customer',
      target: 25,
      team: 'team-search',
    },
  ],
} as const;

/** Writes {@link DEMO_ALERTS_CONFIG} into `outDir` and returns its path. */
export function writeDemoAlertsConfig(outDir: string): string {
  const file = join(outDir, 'alerts-config.json');
  writeFileSync(file, `${JSON.stringify(DEMO_ALERTS_CONFIG, null, 2)}\n`);
  return file;
}
