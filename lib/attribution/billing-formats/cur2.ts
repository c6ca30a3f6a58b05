import { sqlString } from '../../sql/sql-template.ts';
import { CUR_COLUMNS } from './cur-columns.ts';
import {
  type BillingFormat,
  isAwsTag,
  normalizedTagKey,
  optional,
  type TagValues,
  tagPlaceholders,
} from './types.ts';

/**
 * CUR 2.0 map key of a tag (2.1): `tenant_id` -> `user_tenant_id`; an AWS-generated tag has no
 * `user` prefix: `aws:eks:namespace` -> `aws_eks_namespace`.
 */
export function cur2TagMapKey(tagKey: string): string {
  return isAwsTag(tagKey) ? normalizedTagKey(tagKey) : `user_${normalizedTagKey(tagKey)}`;
}

/** Tag and cost-category values in CUR 2.0's `resource_tags` and `cost_category` maps. */
const CUR2_VALUES: TagValues = {
  tagValue: (key) => `element_at(resource_tags, ${sqlString(cur2TagMapKey(key)).sql})`,
  // Cost category names are the map's keys as written (they are not tag keys: no prefix).
  costCategoryValue: (name) => `element_at(cost_category, ${sqlString(name).sql})`,
};

/** CUR 2.0 from AWS Data Exports: tags in one `resource_tags` map column. The deployed format. */
export const cur2 = {
  name: 'cur2',
  lineItemsFile: 'attribution/line_items_cur.sql',
  detection: {
    // Before legacy: CUR 2.0 has every column legacy CUR is recognised by.
    precedence: 20,
    matches: (names) => names.has('line_item_line_item_type') && names.has('resource_tags'),
  },
  columns: () => [...CUR_COLUMNS, optional('resource_tags', 'tag_map'), optional('cost_category', 'tag_map')],
  placeholders: (tags) => tagPlaceholders(tags, CUR2_VALUES),
  ...CUR2_VALUES,
  glueTable: {
    name: 'cur2',
    constructId: 'Cur2Table',
    description: 'CUR 2.0 from AWS Data Exports (Parquet), one partition per billing period',
    periodFolder: 'BILLING_PERIOD',
  },
  manifestKind: 'data-exports',
} as const satisfies BillingFormat<'cur2'>;
