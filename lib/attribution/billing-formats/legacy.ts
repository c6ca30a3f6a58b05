import { sqlIdentifier } from '../../sql/sql-template.ts';
import { CUR_COLUMNS } from './cur-columns.ts';
import { type BillingFormat, normalizedTagKey, optional } from './types.ts';

/** Legacy CUR column of the tenant tag: `tenant_id` -> `resource_tags_user_tenant_id` (Athena lower-cases). */
export function legacyTagColumn(tenantTagKey: string): string {
  return `resource_tags_user_${normalizedTagKey(tenantTagKey).toLowerCase()}`;
}

/**
 * Legacy CUR (Athena integration): one `resource_tags_user_*` column per tag. Delivered by legacy CUR
 * manifests; no Glue table is deployed for it, so a deployed run of it fails in prepare-run.
 */
export const legacy = {
  name: 'legacy',
  lineItemsFile: 'attribution/line_items_cur.sql',
  detection: {
    precedence: 30,
    matches: (names) => names.has('line_item_line_item_type'),
  },
  columns: (key) => [...CUR_COLUMNS, optional(legacyTagColumn(key), 'varchar')],
  placeholders: (key) => ({ tenant_tag: sqlIdentifier(legacyTagColumn(key)) }),
  manifestKind: 'legacy-cur',
} as const satisfies BillingFormat<'legacy'>;
