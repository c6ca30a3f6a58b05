import { sqlString, trustedSql } from '../../sql/sql-template.ts';
import { CUR_COLUMNS } from './cur-columns.ts';
import { type BillingFormat, normalizedTagKey, optional } from './types.ts';

/** CUR 2.0 map key of the tenant tag: `tenant_id` -> `user_tenant_id`. */
export function cur2TagMapKey(tenantTagKey: string): string {
  return `user_${normalizedTagKey(tenantTagKey)}`;
}

/** CUR 2.0 from AWS Data Exports: tags in one `resource_tags` map column. The deployed format. */
export const cur2 = {
  name: 'cur2',
  lineItemsFile: 'attribution/line_items_cur.sql',
  detection: {
    // Before legacy: CUR 2.0 has every column legacy CUR is recognised by.
    precedence: 20,
    matches: (names) => names.has('line_item_line_item_type') && names.has('resource_tags'),
  },
  columns: () => [...CUR_COLUMNS, optional('resource_tags', 'tag_map')],
  placeholders: (key) => ({
    tenant_tag: trustedSql(`element_at(resource_tags, ${sqlString(cur2TagMapKey(key)).sql})`),
  }),
  glueTable: {
    name: 'cur2',
    constructId: 'Cur2Table',
    description: 'CUR 2.0 from AWS Data Exports (Parquet), one partition per billing period',
    periodFolder: 'BILLING_PERIOD',
  },
  manifestKind: 'data-exports',
} as const satisfies BillingFormat<'cur2'>;
