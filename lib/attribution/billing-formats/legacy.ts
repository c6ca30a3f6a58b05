import { sqlIdentifier } from '../../sql/sql-template.ts';
import { CUR_COLUMNS, CUR_FRAGMENTS } from './cur-columns.ts';
import {
  type BillingFormat,
  isAwsTag,
  normalizedTagKey,
  optional,
  type TagValues,
  tagPlaceholders,
  tagRequestOf,
} from './types.ts';

/**
 * Legacy CUR column of a tag (2.1; Athena lower-cases): `tenant_id` -> `resource_tags_user_tenant_id`,
 * `aws:eks:namespace` -> `resource_tags_aws_eks_namespace`.
 */
export function legacyTagColumn(tagKey: string): string {
  const name = normalizedTagKey(tagKey).toLowerCase();
  return isAwsTag(tagKey) ? `resource_tags_${name}` : `resource_tags_user_${name}`;
}

/** Legacy CUR column of a cost category: `Team` -> `cost_category_team`. */
export function legacyCostCategoryColumn(name: string): string {
  return `cost_category_${normalizedTagKey(name).toLowerCase()}`;
}

/** Tag and cost-category values in legacy CUR's one column per tag or cost category. */
const LEGACY_VALUES: TagValues = {
  tagValue: (key) => sqlIdentifier(legacyTagColumn(key)).sql,
  costCategoryValue: (name) => sqlIdentifier(legacyCostCategoryColumn(name)).sql,
};

/**
 * Legacy CUR (Athena integration): one `resource_tags_user_*` column per tag. Delivered by legacy CUR
 * manifests; no Glue table is deployed for it, so a deployed run of it fails in prepare-run.
 */
export const legacy = {
  name: 'legacy',
  lineItemsFile: 'attribution/line_items_cur.sql',
  fragments: CUR_FRAGMENTS,
  detection: {
    precedence: 30,
    matches: (names) => names.has('line_item_line_item_type'),
  },
  columns: (tags) => {
    const request = tagRequestOf(tags);
    const names = [
      ...request.tenantTagKeys.map(legacyTagColumn),
      ...request.tags.map((tag) => legacyTagColumn(tag.key)),
      ...request.costCategories.map((category) => legacyCostCategoryColumn(category.key)),
    ];
    return [...CUR_COLUMNS, ...[...new Set(names)].map((name) => optional(name, 'varchar'))];
  },
  placeholders: (tags) => tagPlaceholders(tags, LEGACY_VALUES),
  ...LEGACY_VALUES,
  manifestKind: 'legacy-cur',
} as const satisfies BillingFormat<'legacy'>;
