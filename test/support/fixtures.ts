import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import { sqlString } from '../../lib/sql/sql-template.ts';

/** A fresh temporary directory for one test. */
export function tempDir(prefix = 'cpc-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A line item as a test states it; everything not given takes a neutral default. */
export interface TestLineItem {
  readonly date: string;
  readonly service: string;
  readonly cost: number;
  readonly tenant?: string;
  readonly type?: string;
  readonly account?: string;
  readonly usageType?: string;
  /** Billing period start date; defaults to the first of the usage month. */
  readonly billingPeriod?: string;
  readonly netCost?: number;
  readonly savingsPlanEffectiveCost?: number;
  readonly savingsPlanNetEffectiveCost?: number;
  readonly savingsPlanTotalCommitment?: number;
  readonly savingsPlanUsedCommitment?: number;
  readonly reservationArn?: string;
  readonly reservationEffectiveCost?: number;
  readonly reservationNetEffectiveCost?: number;
  readonly reservationUnusedUpfrontFee?: number;
  readonly reservationNetUnusedUpfrontFee?: number;
  readonly reservationUnusedRecurringFee?: number;
}

const num = (value: number | undefined) =>
  value === undefined ? 'CAST(NULL AS DOUBLE)' : `CAST(${value} AS DOUBLE)`;
const text = (value: string | undefined) =>
  value === undefined ? 'CAST(NULL AS VARCHAR)' : sqlString(value).sql;
const periodOf = (item: TestLineItem) => item.billingPeriod ?? `${item.date.slice(0, 7)}-01`;

function curColumns(item: TestLineItem): Record<string, string> {
  return {
    bill_billing_period_start_date: `CAST(${sqlString(periodOf(item)).sql} AS TIMESTAMP)`,
    line_item_usage_account_id: text(item.account ?? '111122223333'),
    line_item_line_item_type: text(item.type ?? 'Usage'),
    line_item_usage_start_date: `CAST(${sqlString(`${item.date} 05:00:00`).sql} AS TIMESTAMP)`,
    line_item_product_code: text(item.service),
    line_item_usage_type: text(item.usageType ?? 'USE1-Usage'),
    line_item_resource_id: text('arn:aws:test'),
    line_item_unblended_cost: num(item.cost),
    line_item_net_unblended_cost: num(item.netCost),
    savings_plan_savings_plan_effective_cost: num(item.savingsPlanEffectiveCost),
    savings_plan_net_savings_plan_effective_cost: num(item.savingsPlanNetEffectiveCost),
    savings_plan_total_commitment_to_date: num(item.savingsPlanTotalCommitment),
    savings_plan_used_commitment: num(item.savingsPlanUsedCommitment),
    reservation_reservation_a_r_n: text(item.reservationArn),
    reservation_effective_cost: num(item.reservationEffectiveCost),
    reservation_net_effective_cost: num(item.reservationNetEffectiveCost),
    reservation_unused_amortized_upfront_fee_for_billing_period: num(item.reservationUnusedUpfrontFee),
    reservation_net_unused_amortized_upfront_fee_for_billing_period: num(item.reservationNetUnusedUpfrontFee),
    reservation_unused_recurring_fee: num(item.reservationUnusedRecurringFee),
  };
}

async function copySelect(select: string, path: string, options: string): Promise<string> {
  const engine = await DuckDbEngine.create({ threads: 1 });
  try {
    await engine.run(`COPY (${select}) TO ${sqlString(path).sql} (${options})`);
  } finally {
    engine.close();
  }
  return path;
}

function unionOf(rows: readonly Record<string, string>[], emptyTemplate: Record<string, string>): string {
  const toSelect = (row: Record<string, string>) =>
    `SELECT ${Object.entries(row)
      .map(([name, value]) => `${value} AS "${name}"`)
      .join(', ')}`;
  // An empty file still needs its columns: select a template row and keep none of it.
  return rows.length === 0 ? `${toSelect(emptyTemplate)} LIMIT 0` : rows.map(toSelect).join(' UNION ALL ');
}

const TEMPLATE_ITEM: TestLineItem = { date: '2026-10-01', service: 'AmazonEC2', cost: 0 };
const tagKey = (key: string) => key.replace(/[^A-Za-z0-9_]/g, '_');

/** CUR 2.0 Parquet (resource_tags as a map) or gzip CSV (resource_tags as JSON text). */
export async function writeCur2(
  path: string,
  items: readonly TestLineItem[],
  { tenantTagKey = 'tenant_id', csv = false }: { tenantTagKey?: string; csv?: boolean } = {},
): Promise<string> {
  const row = (item: TestLineItem) => {
    const tags =
      item.tenant === undefined
        ? 'MAP {}'
        : `MAP {${sqlString(`user_${tagKey(tenantTagKey)}`).sql}: ${sqlString(item.tenant).sql}, 'user_env': 'prod'}`;
    return { ...curColumns(item), resource_tags: csv ? `CAST(to_json(${tags}) AS VARCHAR)` : tags };
  };
  const select = unionOf(items.map(row), row(TEMPLATE_ITEM));
  return copySelect(
    csv
      ? `SELECT * REPLACE (strftime(line_item_usage_start_date, '%Y-%m-%dT%H:%M:%SZ') AS line_item_usage_start_date) FROM (${select})`
      : select,
    path,
    csv ? 'FORMAT csv, HEADER, COMPRESSION gzip' : 'FORMAT parquet',
  );
}

/** Legacy CUR Parquet (Athena integration): one resource_tags_user_<key> column per tag. */
export async function writeLegacyCur(
  path: string,
  items: readonly TestLineItem[],
  tenantTagKey = 'tenant_id',
): Promise<string> {
  const row = (item: TestLineItem) => ({
    ...curColumns(item),
    [`resource_tags_user_${tagKey(tenantTagKey).toLowerCase()}`]: text(item.tenant ?? ''),
  });
  return copySelect(unionOf(items.map(row), row(TEMPLATE_ITEM)), path, 'FORMAT parquet');
}

/** FOCUS 1.0 as CSV (Tags as JSON text, AWS "user:" prefix) or Parquet (Tags as a map). */
export async function writeFocus(
  path: string,
  items: readonly TestLineItem[],
  { tenantTagKey = 'tenant_id', csv = false }: { tenantTagKey?: string; csv?: boolean } = {},
): Promise<string> {
  const row = (item: TestLineItem) => {
    const tags =
      item.tenant === undefined
        ? 'MAP {}'
        : `MAP {${sqlString(`user:${tenantTagKey}`).sql}: ${sqlString(item.tenant).sql}}`;
    return {
      BillingPeriodStart: `CAST(${sqlString(periodOf(item)).sql} AS TIMESTAMP)`,
      ChargePeriodStart: `CAST(${sqlString(`${item.date} 05:00:00`).sql} AS TIMESTAMP)`,
      ChargeCategory: text(item.type ?? 'Usage'),
      SubAccountId: text(item.account ?? '111122223333'),
      ServiceName: text(`${item.service} (name)`),
      x_ServiceCode: text(item.service),
      x_UsageType: text(item.usageType ?? 'USE1-Usage'),
      ResourceId: text('arn:aws:test'),
      EffectiveCost: num(item.cost),
      BilledCost: num(item.netCost ?? item.cost),
      Tags: csv ? `CAST(to_json(${tags}) AS VARCHAR)` : tags,
    };
  };
  return copySelect(
    unionOf(items.map(row), row(TEMPLATE_ITEM)),
    path,
    csv ? 'FORMAT csv, HEADER' : 'FORMAT parquet',
  );
}

export interface TestUsage {
  readonly date: string;
  readonly tenant: string;
  readonly metric: string;
  readonly quantity: number;
}

/** Telemetry as CSV. */
export function writeTelemetryCsv(path: string, usage: readonly TestUsage[]): string {
  const lines = usage.map((u) =>
    [u.date, csvText(u.tenant), csvText(u.metric), String(u.quantity)].join(','),
  );
  writeFileSync(path, `${['usage_date,tenant_id,metric,quantity', ...lines].join('\n')}\n`);
  return path;
}

export interface TestCustomer {
  readonly id: string;
  readonly tenant?: string;
  readonly name?: string;
  readonly tier?: string;
  readonly plan?: 'paid' | 'trial' | 'free';
  readonly mrr?: number;
  readonly start?: string;
  readonly end?: string;
  readonly team?: string;
}

function csvText(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** The customer dimension CSV. */
export function writeCustomersCsv(path: string, customers: readonly TestCustomer[]): string {
  const lines = customers.map((c) =>
    [
      c.id,
      c.tenant ?? '',
      c.name ?? `Customer ${c.id}`,
      c.tier ?? 'growth',
      c.plan ?? 'paid',
      String(c.mrr ?? (c.plan === undefined || c.plan === 'paid' ? 1000 : 0)),
      c.start ?? '',
      c.end ?? '',
      c.team ?? '',
    ]
      .map(csvText)
      .join(','),
  );
  writeFileSync(
    path,
    ['customer_id,tenant_id,name,tier,plan_status,mrr,start_date,end_date,owner_team', ...lines].join('\n') +
      '\n',
  );
  return path;
}
