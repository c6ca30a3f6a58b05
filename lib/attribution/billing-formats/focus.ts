import { sqlString } from '../../sql/sql-template.ts';
import { type BillingFormat, optional, required } from './types.ts';

/** FOCUS 1.x: PascalCase columns, tags in one `Tags` map. Read locally only. */
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
    optional('Tags', 'tag_map'),
  ],
  placeholders: (key) => ({
    tenant_tag_key: sqlString(key),
    prefixed_tenant_tag_key: sqlString(`user:${key}`),
  }),
} as const satisfies BillingFormat<'focus'>;
