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
  /** More tags, by the key a rules file names (`component`, `aws:eks:namespace`), beside the tenant tag. */
  readonly tags?: Readonly<Record<string, string>>;
  /** Cost categories by name (CUR 2.0 `cost_category`, legacy `cost_category_<name>`, FOCUS `x_CostCategories`). */
  readonly costCategories?: Readonly<Record<string, string>>;
  /** Region code; `us-east-1` when omitted. */
  readonly region?: string;
  /** Resource id; `arn:aws:test` when omitted. */
  readonly resourceId?: string;
  /** FOCUS ProviderName; `AWS` when omitted (CUR has no provider column). */
  readonly provider?: string;
  /** CUR line_item_currency_code / FOCUS BillingCurrency; the column is written only when an item sets it. */
  readonly currency?: string;
  /** CUR line_item_line_item_description; written only when an item sets it. */
  readonly description?: string;
  /** Time of day of line_item_usage_start_date (the split slot, 2.2); `05:00:00` when omitted. */
  readonly startTime?: string;
  /** Split cost allocation data (2.2); the split columns are written only when an item sets one. */
  readonly splitParent?: string;
  readonly splitCost?: number;
  readonly splitUnusedCost?: number;
  readonly splitNetCost?: number;
  readonly splitNetUnusedCost?: number;
}

const num = (value: number | undefined) =>
  value === undefined ? 'CAST(NULL AS DOUBLE)' : `CAST(${value} AS DOUBLE)`;
const text = (value: string | undefined) =>
  value === undefined ? 'CAST(NULL AS VARCHAR)' : sqlString(value).sql;
const periodOf = (item: TestLineItem) => item.billingPeriod ?? `${item.date.slice(0, 7)}-01`;

/** The optional column groups a file gets: only those some item sets (a file without them is tested too). */
interface OptionalGroups {
  readonly currency: boolean;
  readonly description: boolean;
  readonly split: boolean;
}

function optionalGroups(items: readonly TestLineItem[]): OptionalGroups {
  return {
    currency: items.some((item) => item.currency !== undefined),
    description: items.some((item) => item.description !== undefined),
    split: items.some(
      (item) =>
        item.splitParent !== undefined ||
        item.splitCost !== undefined ||
        item.splitUnusedCost !== undefined ||
        item.splitNetCost !== undefined ||
        item.splitNetUnusedCost !== undefined,
    ),
  };
}

const startOf = (item: TestLineItem) => `${item.date} ${item.startTime ?? '05:00:00'}`;

function curColumns(item: TestLineItem, groups: OptionalGroups): Record<string, string> {
  return {
    ...curBaseColumns(item),
    ...(groups.currency ? { line_item_currency_code: text(item.currency) } : {}),
    ...(groups.description ? { line_item_line_item_description: text(item.description) } : {}),
    ...(groups.split
      ? {
          split_line_item_parent_resource_id: text(item.splitParent),
          split_line_item_split_cost: num(item.splitCost),
          split_line_item_unused_cost: num(item.splitUnusedCost),
          split_line_item_net_split_cost: num(item.splitNetCost),
          split_line_item_net_unused_cost: num(item.splitNetUnusedCost),
        }
      : {}),
  };
}

function curBaseColumns(item: TestLineItem): Record<string, string> {
  return {
    bill_billing_period_start_date: `CAST(${sqlString(periodOf(item)).sql} AS TIMESTAMP)`,
    line_item_usage_account_id: text(item.account ?? '111122223333'),
    line_item_line_item_type: text(item.type ?? 'Usage'),
    line_item_usage_start_date: `CAST(${sqlString(startOf(item)).sql} AS TIMESTAMP)`,
    line_item_product_code: text(item.service),
    line_item_usage_type: text(item.usageType ?? 'USE1-Usage'),
    line_item_resource_id: text(item.resourceId ?? 'arn:aws:test'),
    product_region_code: text(item.region ?? 'us-east-1'),
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
/** docs/attribution.md 2.1, written out here by hand: how each format names a tag key. */
const cur2Key = (key: string) => (key.startsWith('aws:') ? tagKey(key) : `user_${tagKey(key)}`);
const legacyColumn = (key: string) =>
  key.startsWith('aws:')
    ? `resource_tags_${tagKey(key).toLowerCase()}`
    : `resource_tags_user_${tagKey(key).toLowerCase()}`;
const focusKey = (key: string) => (key.startsWith('aws:') ? key : `user:${key}`);

/** A DuckDB MAP literal of these entries (`MAP {}` when none). */
function mapLiteral(entries: readonly (readonly [string, string])[]): string {
  return `MAP {${entries.map(([k, v]) => `${sqlString(k).sql}: ${sqlString(v).sql}`).join(', ')}}`;
}

/** The keys of one record field over all items, each once (a column per key in legacy CUR). */
function keysOf(items: readonly TestLineItem[], field: 'tags' | 'costCategories'): string[] {
  return [...new Set(items.flatMap((item) => Object.keys(item[field] ?? {})))];
}

/**
 * The CUR 2.0 `tags` map key of a tag (AWS data dictionary, "Tags column"): `resourceTags/user:<key>`
 * for a user tag, `resourceTags/<key>` for an AWS-generated one.
 */
const cur2TagsKey = (key: string) =>
  key.startsWith('aws:') ? `resourceTags/${key}` : `resourceTags/user:${key}`;

/** Where a CUR 2.0 file carries its tags: `resource_tags` (and `cost_category`), the newer `tags`, or both. */
export type Cur2TagColumns = 'resource_tags' | 'tags' | 'both';

/** CUR 2.0 Parquet (resource_tags as a map) or gzip CSV (resource_tags as JSON text). */
export async function writeCur2(
  path: string,
  items: readonly TestLineItem[],
  {
    tenantTagKey = 'tenant_id',
    csv = false,
    tagColumns = 'resource_tags',
  }: { tenantTagKey?: string; csv?: boolean; tagColumns?: Cur2TagColumns } = {},
): Promise<string> {
  const withCategories = keysOf(items, 'costCategories').length > 0;
  const groups = optionalGroups(items);
  const row = (item: TestLineItem) => {
    const entries: [string, string][] = Object.entries(item.tags ?? {}).map(([k, v]) => [cur2Key(k), v]);
    if (item.tenant !== undefined)
      entries.unshift([cur2Key(tenantTagKey), item.tenant], ['user_env', 'prod']);
    const tags = mapLiteral(entries);
    const categories = mapLiteral(Object.entries(item.costCategories ?? {}));
    const tagsEntries: [string, string][] = [
      ...(item.tenant === undefined ? [] : [[cur2TagsKey(tenantTagKey), item.tenant] as [string, string]]),
      ...Object.entries(item.tags ?? {}).map(([k, v]): [string, string] => [cur2TagsKey(k), v]),
      ...Object.entries(item.costCategories ?? {}).map(([k, v]): [string, string] => [
        `costCategory/${k}`,
        v,
      ]),
      ['accountTag/env', 'prod'],
    ];
    const asText = (map: string) => (csv ? `CAST(to_json(${map}) AS VARCHAR)` : map);
    return {
      ...curColumns(item, groups),
      ...(tagColumns === 'tags'
        ? {}
        : {
            resource_tags: asText(tags),
            ...(withCategories ? { cost_category: asText(categories) } : {}),
          }),
      ...(tagColumns === 'resource_tags' ? {} : { tags: asText(mapLiteral(tagsEntries)) }),
    };
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
  const tagKeys = keysOf(items, 'tags');
  const categories = keysOf(items, 'costCategories');
  const groups = optionalGroups(items);
  const row = (item: TestLineItem) => ({
    ...curColumns(item, groups),
    [legacyColumn(tenantTagKey)]: text(item.tenant ?? ''),
    ...Object.fromEntries(tagKeys.map((key) => [legacyColumn(key), text(item.tags?.[key] ?? '')])),
    ...Object.fromEntries(
      categories.map((name) => [
        `cost_category_${tagKey(name).toLowerCase()}`,
        text(item.costCategories?.[name] ?? ''),
      ]),
    ),
  });
  return copySelect(unionOf(items.map(row), row(TEMPLATE_ITEM)), path, 'FORMAT parquet');
}

/**
 * FOCUS 1.0 as CSV (Tags as JSON text, AWS "user:" prefix) or Parquet (Tags as a map). `omit` leaves
 * columns out of the file (ProviderName, x_ServiceCode: the provider rule of 1.1).
 */
export async function writeFocus(
  path: string,
  items: readonly TestLineItem[],
  {
    tenantTagKey = 'tenant_id',
    csv = false,
    omit = [],
  }: { tenantTagKey?: string; csv?: boolean; omit?: readonly ('ProviderName' | 'x_ServiceCode')[] } = {},
): Promise<string> {
  const withCategories = keysOf(items, 'costCategories').length > 0;
  const withCurrency = optionalGroups(items).currency;
  const row = (item: TestLineItem) => {
    const entries: [string, string][] = Object.entries(item.tags ?? {}).map(([k, v]) => [focusKey(k), v]);
    if (item.tenant !== undefined) entries.unshift([focusKey(tenantTagKey), item.tenant]);
    const tags = mapLiteral(entries);
    const categories = mapLiteral(Object.entries(item.costCategories ?? {}));
    return {
      BillingPeriodStart: `CAST(${sqlString(periodOf(item)).sql} AS TIMESTAMP)`,
      ChargePeriodStart: `CAST(${sqlString(`${item.date} 05:00:00`).sql} AS TIMESTAMP)`,
      ChargeCategory: text(item.type ?? 'Usage'),
      SubAccountId: text(item.account ?? '111122223333'),
      ServiceName: text(`${item.service} (name)`),
      x_ServiceCode: text(item.service),
      x_UsageType: text(item.usageType ?? 'USE1-Usage'),
      ResourceId: text(item.resourceId ?? 'arn:aws:test'),
      RegionId: text(item.region ?? 'us-east-1'),
      ProviderName: text(item.provider ?? 'AWS'),
      EffectiveCost: num(item.cost),
      BilledCost: num(item.netCost ?? item.cost),
      Tags: csv ? `CAST(to_json(${tags}) AS VARCHAR)` : tags,
      ...(withCurrency ? { BillingCurrency: text(item.currency) } : {}),
      ...(withCategories
        ? { x_CostCategories: csv ? `CAST(to_json(${categories}) AS VARCHAR)` : categories }
        : {}),
    };
  };
  const kept = (item: TestLineItem) =>
    Object.fromEntries(
      Object.entries(row(item)).filter(([name]) => !(omit as readonly string[]).includes(name)),
    );
  return copySelect(
    unionOf(items.map(kept), kept(TEMPLATE_ITEM)),
    path,
    csv ? 'FORMAT csv, HEADER' : 'FORMAT parquet',
  );
}

export interface TestUsage {
  readonly date: string;
  readonly tenant: string;
  readonly metric: string;
  readonly quantity: number;
  /** A streamed record's id (docs/attribution.md 1.2): the column is written when any row has one. */
  readonly eventId?: string;
}

/** Telemetry as CSV. */
export function writeTelemetryCsv(path: string, usage: readonly TestUsage[]): string {
  const withIds = usage.some((u) => u.eventId !== undefined);
  const lines = usage.map((u) =>
    [
      u.date,
      csvText(u.tenant),
      csvText(u.metric),
      String(u.quantity),
      ...(withIds ? [u.eventId === undefined ? '' : csvText(u.eventId)] : []),
    ].join(','),
  );
  const header = `usage_date,tenant_id,metric,quantity${withIds ? ',event_id' : ''}`;
  writeFileSync(path, `${[header, ...lines].join('\n')}\n`);
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
