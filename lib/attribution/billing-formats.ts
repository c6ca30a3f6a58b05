import { type SqlFragment, sqlIdentifier, sqlString, trustedSql } from '../sql/sql-template.ts';

export const BILLING_FORMAT_NAMES = ['cur2', 'legacy', 'focus'] as const;
export type BillingFormatName = (typeof BILLING_FORMAT_NAMES)[number];

export type ColumnType = 'timestamp' | 'double' | 'varchar' | 'tag_map';

/** A billing column the normalization reads. Optional columns read as NULL when a file lacks them. */
export interface BillingColumn {
  readonly name: string;
  readonly type: ColumnType;
  readonly required: boolean;
}

/**
 * One billing format: the columns its normalization SQL reads and the values of that SQL's
 * format-specific placeholders. This, and the `line_items_*.sql` files, are the only format-specific
 * code; everything after the canonical line item is shared.
 */
export interface BillingFormat {
  readonly name: BillingFormatName;
  readonly lineItemsFile: string;
  columns(tenantTagKey: string): readonly BillingColumn[];
  placeholders(tenantTagKey: string): Record<string, SqlFragment>;
}

const required = (name: string, type: ColumnType): BillingColumn => ({ name, type, required: true });
const optional = (name: string, type: ColumnType): BillingColumn => ({ name, type, required: false });

/** Columns CUR 2.0 and legacy CUR (Athena integration) share, by the same names. */
const CUR_COLUMNS: readonly BillingColumn[] = [
  required('line_item_usage_start_date', 'timestamp'),
  required('bill_billing_period_start_date', 'timestamp'),
  required('line_item_line_item_type', 'varchar'),
  required('line_item_product_code', 'varchar'),
  required('line_item_unblended_cost', 'double'),
  optional('line_item_usage_account_id', 'varchar'),
  optional('line_item_usage_type', 'varchar'),
  optional('line_item_resource_id', 'varchar'),
  optional('line_item_net_unblended_cost', 'double'),
  optional('savings_plan_savings_plan_effective_cost', 'double'),
  optional('savings_plan_net_savings_plan_effective_cost', 'double'),
  optional('savings_plan_total_commitment_to_date', 'double'),
  optional('savings_plan_used_commitment', 'double'),
  optional('reservation_reservation_a_r_n', 'varchar'),
  optional('reservation_effective_cost', 'double'),
  optional('reservation_net_effective_cost', 'double'),
  optional('reservation_unused_amortized_upfront_fee_for_billing_period', 'double'),
  optional('reservation_net_unused_amortized_upfront_fee_for_billing_period', 'double'),
  optional('reservation_unused_recurring_fee', 'double'),
  optional('reservation_net_unused_recurring_fee', 'double'),
];

/** AWS writes a user tag key with characters other than letters, digits and "_" as "_". */
function normalizedTagKey(tenantTagKey: string): string {
  return tenantTagKey.replace(/[^A-Za-z0-9_]/g, '_');
}

/** CUR 2.0 map key of the tenant tag: `tenant_id` -> `user_tenant_id`. */
export function cur2TagMapKey(tenantTagKey: string): string {
  return `user_${normalizedTagKey(tenantTagKey)}`;
}

/** Legacy CUR column of the tenant tag: `tenant_id` -> `resource_tags_user_tenant_id` (Athena lower-cases). */
export function legacyTagColumn(tenantTagKey: string): string {
  return `resource_tags_user_${normalizedTagKey(tenantTagKey).toLowerCase()}`;
}

export const BILLING_FORMATS: Readonly<Record<BillingFormatName, BillingFormat>> = {
  cur2: {
    name: 'cur2',
    lineItemsFile: 'attribution/line_items_cur.sql',
    columns: () => [...CUR_COLUMNS, optional('resource_tags', 'tag_map')],
    placeholders: (key) => ({
      tenant_tag: trustedSql(`element_at(resource_tags, ${sqlString(cur2TagMapKey(key)).sql})`),
    }),
  },
  legacy: {
    name: 'legacy',
    lineItemsFile: 'attribution/line_items_cur.sql',
    columns: (key) => [...CUR_COLUMNS, optional(legacyTagColumn(key), 'varchar')],
    placeholders: (key) => ({ tenant_tag: sqlIdentifier(legacyTagColumn(key)) }),
  },
  focus: {
    name: 'focus',
    lineItemsFile: 'attribution/line_items_focus.sql',
    columns: () => [
      required('ChargePeriodStart', 'timestamp'),
      required('BillingPeriodStart', 'timestamp'),
      required('ChargeCategory', 'varchar'),
      required('ServiceName', 'varchar'),
      required('EffectiveCost', 'double'),
      required('BilledCost', 'double'),
      optional('SubAccountId', 'varchar'),
      optional('BillingAccountId', 'varchar'),
      optional('x_ServiceCode', 'varchar'),
      optional('x_UsageType', 'varchar'),
      optional('ResourceId', 'varchar'),
      optional('Tags', 'tag_map'),
    ],
    placeholders: (key) => ({
      tenant_tag_key: sqlString(key),
      prefixed_tenant_tag_key: sqlString(`user:${key}`),
    }),
  },
};

/**
 * The format of a billing file from its column names (case-insensitive), or undefined when it is none
 * of the three. FOCUS names its columns in PascalCase; CUR 2.0 has a `resource_tags` column where
 * legacy CUR has one `resource_tags_user_*` column per tag.
 */
export function detectBillingFormat(columnNames: readonly string[]): BillingFormatName | undefined {
  const names = new Set(columnNames.map((name) => name.toLowerCase()));
  if (names.has('chargecategory') && names.has('effectivecost')) return 'focus';
  if (names.has('line_item_line_item_type')) return names.has('resource_tags') ? 'cur2' : 'legacy';
  return undefined;
}
