import { sqlString } from '../../sql/sql-template.ts';
import {
  type BillingFormat,
  billingPeriodPartitions,
  isAwsTag,
  optional,
  required,
  type TagValues,
  tagPlaceholders,
} from './types.ts';

/**
 * A tag's value in FOCUS `Tags` (2.1): a user tag under its bare key or with AWS's `user:` prefix, an
 * AWS-generated tag (`aws:eks:namespace`) under its own key.
 */
export function focusTagExpression(tagKey: string): string {
  const bare = `element_at(Tags, ${sqlString(tagKey).sql})`;
  return isAwsTag(tagKey) ? bare : `coalesce(${bare}, element_at(Tags, ${sqlString(`user:${tagKey}`).sql}))`;
}

/** Tag and cost-category values in FOCUS's `Tags` and `x_CostCategories` maps. */
const FOCUS_VALUES: TagValues = {
  tagValue: focusTagExpression,
  costCategoryValue: (name) => `element_at(x_CostCategories, ${sqlString(name).sql})`,
};

/**
 * FOCUS 1.x: PascalCase columns, tags in one `Tags` map. Deployed as a FOCUS 1.0 export of AWS Data
 * Exports, which writes the same layout and manifest as CUR 2.0 (`<export>/data/BILLING_PERIOD=YYYY-MM/`,
 * Parquet); its manifest's column list tells it from CUR 2.0 (this detection). The Glue table declares
 * the columns lower-cased, as Glue stores names; Athena matches Parquet columns by name without regard
 * to case, and line_items_focus.sql names them unquoted, so `ChargePeriodStart` reads `chargeperiodstart`.
 */
export const focus = {
  name: 'focus',
  lineItemsFile: 'attribution/line_items_focus.sql',
  detection: {
    precedence: 10,
    matches: (names) => names.has('chargecategory') && names.has('effectivecost'),
  },
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
    optional('RegionId', 'varchar'),
    optional('ProviderName', 'varchar'),
    optional('Tags', 'tag_map'),
    optional('x_CostCategories', 'tag_map'),
    // NULL or '' means USD (1.1).
    optional('BillingCurrency', 'varchar'),
  ],
  placeholders: (tags) => tagPlaceholders(tags, FOCUS_VALUES),
  ...FOCUS_VALUES,
  glueTable: {
    name: 'focus',
    constructId: 'FocusTable',
    description: 'FOCUS 1.0 from AWS Data Exports (Parquet), one partition per billing period',
    dataFolder: () => 'data',
    ...billingPeriodPartitions('BILLING_PERIOD'),
  },
  manifestKind: 'data-exports',
} as const satisfies BillingFormat<'focus'>;
