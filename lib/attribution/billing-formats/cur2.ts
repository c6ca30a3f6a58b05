import { sqlString } from '../../sql/sql-template.ts';
import { CUR_COLUMNS, CUR_FRAGMENTS } from './cur-columns.ts';
import {
  type BillingFormat,
  billingPeriodPartitions,
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

/**
 * Keys of a tag in CUR 2.0's newer `tags` map (AWS Data Exports data dictionary, "Tags column"): every
 * source of tags in one map, each key prefixed by its source (`resourceTags/`, `accountTag/`,
 * `costCategory/`, `userAttribute/`), the tag key itself as written. A user tag is looked up as
 * `resourceTags/user:<key>` (the prefix legacy CUR and FOCUS exports use), then `resourceTags/<key>`
 * (the form the data dictionary shows); an AWS-generated tag under `resourceTags/aws:...`.
 */
export function cur2TagsColumnKeys(tagKey: string): string[] {
  return isAwsTag(tagKey)
    ? [`resourceTags/${tagKey}`]
    : [`resourceTags/user:${tagKey}`, `resourceTags/${tagKey}`];
}

/** The first non-NULL of these keys' values in map column `map`. */
function firstOf(map: string, keys: readonly string[]): string {
  const lookups = keys.map((key) => `element_at(${map}, ${sqlString(key).sql})`);
  return lookups.length === 1 ? (lookups[0] as string) : `coalesce(${lookups.join(', ')})`;
}

/**
 * Tag and cost-category values in CUR 2.0's maps. A file has `resource_tags`, the newer `tags`, or both
 * (1.1); when a row has `resource_tags` it wins for resource tags, else `tags` is read (a file without
 * a column reads it as NULL). Cost categories: the `cost_category` map, else `tags`' `costCategory/<name>`.
 */
const CUR2_VALUES: TagValues = {
  tagValue: (key) =>
    `CASE WHEN resource_tags IS NULL THEN ${firstOf('tags', cur2TagsColumnKeys(key))}` +
    ` ELSE element_at(resource_tags, ${sqlString(cur2TagMapKey(key)).sql}) END`,
  // Cost category names are the map's keys as written (they are not tag keys: no prefix).
  costCategoryValue: (name) =>
    `CASE WHEN cost_category IS NULL THEN element_at(tags, ${sqlString(`costCategory/${name}`).sql})` +
    ` ELSE element_at(cost_category, ${sqlString(name).sql}) END`,
};

/**
 * CUR 2.0 from AWS Data Exports: tags in the `resource_tags` map column, or in the newer `tags` map
 * (either makes a file CUR 2.0). The deployed format.
 */
export const cur2 = {
  name: 'cur2',
  lineItemsFile: 'attribution/line_items_cur.sql',
  fragments: CUR_FRAGMENTS,
  detection: {
    // Before legacy: CUR 2.0 has every column legacy CUR is recognised by.
    precedence: 20,
    matches: (names) =>
      names.has('line_item_line_item_type') && (names.has('resource_tags') || names.has('tags')),
  },
  columns: () => [
    ...CUR_COLUMNS,
    optional('resource_tags', 'tag_map'),
    optional('cost_category', 'tag_map'),
    optional('tags', 'tag_map'),
  ],
  placeholders: (tags) => tagPlaceholders(tags, CUR2_VALUES),
  ...CUR2_VALUES,
  glueTable: {
    name: 'cur2',
    constructId: 'Cur2Table',
    description: 'CUR 2.0 from AWS Data Exports (Parquet), one partition per billing period',
    dataFolder: () => 'data',
    ...billingPeriodPartitions('BILLING_PERIOD'),
  },
  manifestKind: 'data-exports',
} as const satisfies BillingFormat<'cur2'>;
