/**
 * CUR 2.0 line items: the column list, the SQL that turns usage events into CUR rows (line item types,
 * resource ids, tags, Savings Plan and reservation columns) and the writer of the Parquet parts.
 */
import path from 'node:path';
import type { DuckDBInstance } from '@duckdb/node-api';
import { type ResourceStyle, USAGE_KINDS } from './catalog.ts';
import type { Plan } from './plan.ts';
import { boolListLiteral, intListLiteral, stringListLiteral, stringLiteral } from './sql-literals.ts';
import { eventsSql } from './usage-events.ts';

/** CUR 2.0 columns the generator writes, in file order, with their DuckDB types. */
export const CUR_COLUMNS: readonly (readonly [name: string, type: string])[] = [
  ['bill_billing_period_start_date', 'TIMESTAMP'],
  ['bill_billing_period_end_date', 'TIMESTAMP'],
  ['bill_payer_account_id', 'VARCHAR'],
  ['line_item_usage_account_id', 'VARCHAR'],
  ['line_item_line_item_type', 'VARCHAR'],
  ['line_item_usage_start_date', 'TIMESTAMP'],
  ['line_item_usage_end_date', 'TIMESTAMP'],
  ['line_item_product_code', 'VARCHAR'],
  ['line_item_usage_type', 'VARCHAR'],
  ['line_item_operation', 'VARCHAR'],
  ['line_item_resource_id', 'VARCHAR'],
  ['line_item_usage_amount', 'DOUBLE'],
  ['line_item_currency_code', 'VARCHAR'],
  ['line_item_unblended_cost', 'DOUBLE'],
  ['line_item_net_unblended_cost', 'DOUBLE'],
  ['resource_tags', 'MAP(VARCHAR, VARCHAR)'],
  ['savings_plan_savings_plan_a_r_n', 'VARCHAR'],
  ['savings_plan_savings_plan_effective_cost', 'DOUBLE'],
  ['savings_plan_net_savings_plan_effective_cost', 'DOUBLE'],
  ['savings_plan_total_commitment_to_date', 'DOUBLE'],
  ['savings_plan_used_commitment', 'DOUBLE'],
  ['reservation_reservation_a_r_n', 'VARCHAR'],
  ['reservation_effective_cost', 'DOUBLE'],
  ['reservation_net_effective_cost', 'DOUBLE'],
  ['reservation_unused_amortized_upfront_fee_for_billing_period', 'DOUBLE'],
  ['reservation_net_unused_amortized_upfront_fee_for_billing_period', 'DOUBLE'],
  ['reservation_unused_recurring_fee', 'DOUBLE'],
  ['reservation_net_unused_recurring_fee', 'DOUBLE'],
];

/** Net (after the EDP discount) over non-net cost. */
export const NET = 0.98;
/** Savings Plan effective cost over on-demand cost; SP_NET_RATE is the same after the EDP discount. */
export const SP_RATE = 0.7;
const SP_NET_RATE = 0.68;
/** Reservation effective cost over on-demand cost. */
export const RI_RATE = 0.62;

/** Table of the month's fee, tax and credit rows (created by fixed-rows.ts); the last CUR part appends it. */
export const FIXED_ROWS_TABLE = 'fixed_rows';

/** Usage events per CUR file, so no file exceeds ~2M rows with the negation rows added. */
const EVENTS_PER_FILE = 1_750_000;
const HOUR_US = 3_600_000_000;
const DAY_US = 24 * HOUR_US;

/** The codes curRowsSql's CASE builds a resource id by, one per {@link ResourceStyle}. */
const STYLE_CODES: Readonly<Record<ResourceStyle, number>> = {
  hex: 0,
  'arn-name': 1,
  'arn-hex': 2,
  name: 3,
  none: 4,
};

/**
 * Writes the CUR Parquet parts `cost-per-customer-NNNNN.parquet` into `curDir` and returns their paths
 * in order. Each part holds a fixed range of event numbers; the last one also holds the fixed rows.
 * At most `threads` parts are written at once, each on its own connection of `instance`.
 */
export async function writeCurParts(
  instance: DuckDBInstance,
  p: Plan,
  curDir: string,
  threads: number,
): Promise<string[]> {
  const parts = Math.max(1, Math.ceil(p.events / EVENTS_PER_FILE));
  const curFiles = Array.from({ length: parts }, (_, part) =>
    path.join(curDir, `cost-per-customer-${String(part + 1).padStart(5, '0')}.parquet`),
  );
  // Expanding one part's tenant-days is mostly one pipeline, so parts run side by side on their own
  // connections; each part is a separate COPY, so its bytes do not depend on which runs when.
  let next = 0;
  const writeParts = async (): Promise<void> => {
    const worker = await instance.connect();
    try {
      for (let part = next++; part < parts; part = next++) {
        const from = part * EVENTS_PER_FILE;
        const to = Math.min(p.events, from + EVENTS_PER_FILE);
        const fixed = part === parts - 1 ? `UNION ALL SELECT * FROM ${FIXED_ROWS_TABLE}` : '';
        await worker.run(
          `COPY (${curRowsSql(p, from, to)} ${fixed}) TO ${stringLiteral(curFiles[part] ?? '')} (FORMAT parquet, COMPRESSION zstd)`,
        );
      }
    } finally {
      worker.closeSync();
    }
  };
  // allSettled: the instance must not close under a worker that is still writing.
  const settled = await Promise.allSettled(Array.from({ length: Math.min(threads, parts) }, writeParts));
  for (const outcome of settled) if (outcome.status === 'rejected') throw outcome.reason;
  return curFiles;
}

/** CUR rows for the events [from, to): the event rows plus a negation row after each covered one. */
function curRowsSql(p: Plan, from: number, to: number): string {
  const kinds = USAGE_KINDS;
  const kindList = (f: (k: (typeof kinds)[number]) => string) => `${stringListLiteral(kinds.map(f))}[kind]`;
  const accounts = stringListLiteral(p.accounts);
  const envTag = p.tagKey === 'user_environment' ? '' : `, 'user_environment': 'prod'`;
  const name = `coalesce(tenant, 'shared') || '-' || ${kindList((k) => k.word)} || '-' || slot`;
  const hex = `hex16(hs3(coalesce(tenant, 'shared'), kind * 1000 + slot, 211))`;
  const head = kindList((k) => k.head);
  const tail = kindList((k) => k.tail);
  const exprs: Record<string, string> = {
    bill_billing_period_start_date: `TIMESTAMP ${stringLiteral(`${p.month.start} 00:00:00`)}`,
    bill_billing_period_end_date: `TIMESTAMP ${stringLiteral(`${p.month.next} 00:00:00`)}`,
    bill_payer_account_id: stringLiteral(p.payer),
    line_item_usage_account_id: `${accounts}[acct]`,
    line_item_line_item_type: `CASE WHEN cls = 0 THEN 'Usage' WHEN cls = 2 THEN 'DiscountedUsage'
      WHEN r = 0 THEN 'SavingsPlanCoveredUsage' ELSE 'SavingsPlanNegation' END`,
    line_item_usage_start_date: 'make_timestamp(start_us)',
    line_item_usage_end_date: `make_timestamp(start_us + CASE WHEN hr_kind THEN ${HOUR_US} ELSE ${DAY_US} END)`,
    line_item_product_code: kindList((k) => k.product),
    line_item_usage_type: kindList((k) => k.usageType),
    line_item_operation: kindList((k) => k.operation),
    line_item_resource_id: `CASE ${intListLiteral(kinds.map((k) => STYLE_CODES[k.style]))}[kind]
      WHEN 0 THEN ${head} || ${hex}
      WHEN 1 THEN ${head} || ${accounts}[acct] || ${tail} || ${name}
      WHEN 2 THEN ${head} || ${accounts}[acct] || ${tail} || ${hex}
      WHEN 3 THEN ${head} || ${name}
      ELSE '' END`,
    line_item_usage_amount: 'amount',
    line_item_currency_code: `'USD'`,
    line_item_unblended_cost: 'unblended',
    line_item_net_unblended_cost: `unblended * ${NET}`,
    resource_tags: `CASE WHEN NOT tagged THEN MAP {}::MAP(VARCHAR, VARCHAR)
      WHEN env THEN MAP {${stringLiteral(p.tagKey)}: tenant${envTag}}
      ELSE MAP {${stringLiteral(p.tagKey)}: tenant} END`,
    savings_plan_savings_plan_a_r_n: `CASE WHEN cls = 1 THEN ${stringLiteral(p.spArn)} END`,
    savings_plan_savings_plan_effective_cost: `CASE WHEN cls = 1 AND r = 0 THEN od * ${SP_RATE} END`,
    savings_plan_net_savings_plan_effective_cost: `CASE WHEN cls = 1 AND r = 0 THEN od * ${SP_NET_RATE} END`,
    savings_plan_total_commitment_to_date: 'CAST(NULL AS DOUBLE)',
    savings_plan_used_commitment: 'CAST(NULL AS DOUBLE)',
    reservation_reservation_a_r_n: `CASE WHEN cls = 2 THEN ${stringListLiteral(p.riArns)}[${intListLiteral(
      kinds.map((k) => Math.max(k.reservation, 1)),
    )}[kind]] END`,
    reservation_effective_cost: `CASE WHEN cls = 2 THEN od * ${RI_RATE} END`,
    reservation_net_effective_cost: `CASE WHEN cls = 2 THEN od * ${RI_RATE} * ${NET} END`,
    reservation_unused_amortized_upfront_fee_for_billing_period: 'CAST(NULL AS DOUBLE)',
    reservation_net_unused_amortized_upfront_fee_for_billing_period: 'CAST(NULL AS DOUBLE)',
    reservation_unused_recurring_fee: 'CAST(NULL AS DOUBLE)',
    reservation_net_unused_recurring_fee: 'CAST(NULL AS DOUBLE)',
  };
  return `${eventsSql(p, from, to)}
  , rows AS (
    SELECT *, unnest(CASE WHEN cls = 1 THEN [0, 1] ELSE [0] END) AS r FROM o
  ), f AS (
    SELECT *,
      ${boolListLiteral(kinds.map((x) => x.hourly))}[kind] AS hr_kind,
      ${p.month.startUs} + d * ${DAY_US} + hr * ${HOUR_US} AS start_us,
      CASE WHEN cls = 0 THEN od WHEN cls = 2 THEN 0.0 WHEN r = 0 THEN od ELSE -od END AS unblended,
      u01(hs(e, 210)) < 0.85 AS env
    FROM rows
  )
  SELECT ${CUR_COLUMNS.map(([column, type]) => `CAST(${exprs[column] ?? missing(column)} AS ${type}) AS ${column}`).join(',\n    ')}
  FROM f`;
}

function missing(column: string): never {
  throw new Error(`no expression for CUR column ${column}`);
}
