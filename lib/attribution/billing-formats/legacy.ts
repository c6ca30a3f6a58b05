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
  yearMonthPartitions,
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

/** `UsageStartDate` -> `usage_start_date`, `ReservationARN` -> `reservation_a_r_n`. */
function snakeCase(name: string): string {
  return name
    .replace(/[A-Z]/g, (letter, index: number) => (index === 0 ? letter : `_${letter}`))
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_');
}

/**
 * The Athena name of a legacy CUR CSV column, by AWS's rule for its Athena integration:
 * `category/ColumnName` -> `category_column_name` with camelCase split (`lineItem/UsageStartDate` ->
 * `line_item_usage_start_date`, `reservation/ReservationARN` -> `reservation_reservation_a_r_n`); a tag
 * or cost category keeps its key, lower-cased, other characters as `_` (`resourceTags/user:tenant_id`
 * -> `resource_tags_user_tenant_id`, as {@link legacyTagColumn} names tag columns).
 * A name without `/` is already an Athena name. Shared by the local run (CSV headers) and the deployed
 * one (a legacy manifest's `columns`).
 */
export function legacyAthenaColumnName(header: string): string {
  const slash = header.indexOf('/');
  if (slash < 0) return header;
  const category = header.slice(0, slash);
  const column = header.slice(slash + 1);
  const rest =
    category === 'resourceTags' || category === 'costCategory'
      ? column.replace(/[^A-Za-z0-9_]/g, '_').toLowerCase()
      : snakeCase(column);
  return `${snakeCase(category)}_${rest}`;
}

/**
 * Legacy CUR: one `resource_tags_user_*` column per tag. Delivered by legacy CUR manifests, deployed two
 * ways: the Athena integration's Parquet, read through the `legacy` Glue table
 * (`<report>/<report>/year=YYYY/month=M/`), and the CSV delivery, which prepare-run reads through a
 * table of its own over the delivery's files (lib/pipeline/legacy-csv.ts).
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
  glueTable: {
    name: 'legacy',
    constructId: 'LegacyTable',
    description: 'Legacy CUR with Athena integration (Parquet), one partition per year and month',
    // <prefix>/<report>/<report>/year=YYYY/month=M/
    dataFolder: (reportName) => reportName,
    ...yearMonthPartitions(),
  },
  manifestKind: 'legacy-cur',
} as const satisfies BillingFormat<'legacy'>;
