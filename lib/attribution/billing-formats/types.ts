import { trimmedIdSql } from '../../engine/athena-id-blanks.ts';
import { type SqlFragment, trustedSql } from '../../sql/sql-template.ts';

/** The type of a billing column, as the normalization SQL reads it (each engine maps it to its own). */
export type ColumnType = 'timestamp' | 'double' | 'varchar' | 'tag_map';

/** A billing column the normalization reads. Optional columns read as NULL when a file lacks them. */
export interface BillingColumn {
  readonly name: string;
  readonly type: ColumnType;
  readonly required: boolean;
}

/**
 * The kinds of delivery manifest lib/pipeline/manifest.ts parses: an AWS Data Exports manifest (CUR 2.0
 * or FOCUS 1.0), or a legacy CUR manifest. A format names the kind that delivers it; the deployed side
 * tells the formats of one kind apart by the manifest's column list (lib/pipeline/manifest.ts).
 */
export const MANIFEST_KINDS = ['data-exports', 'legacy-cur'] as const;
export type ManifestKind = (typeof MANIFEST_KINDS)[number];

/**
 * How a format is told from the column names of a billing file. Formats are tried in ascending
 * `precedence`; the first whose `matches` is true wins, so a format whose columns are a subset of
 * another's comes after it.
 */
export interface BillingFormatDetection {
  readonly precedence: number;
  /** @param columnNames the file's column names, lower-cased */
  matches(columnNames: ReadonlySet<string>): boolean;
}

/** A partition key of a billing table: a string column named by the folder it comes from. */
export interface BillingPartitionKey {
  readonly name: string;
  readonly comment: string;
}

/**
 * How a billing table is partitioned: its keys, the folders of one partition under the table's data
 * folder, the projection that enumerates them, and the values of a billing period's partition. Two
 * shapes ship: {@link billingPeriodPartitions} (Data Exports, `BILLING_PERIOD=YYYY-MM/`) and
 * {@link yearMonthPartitions} (legacy CUR with Athena integration, `year=YYYY/month=M/`).
 */
export interface BillingPartitioning {
  /** Partition keys, in folder order (all strings). */
  readonly partitionKeys: readonly BillingPartitionKey[];
  /** The folders of one partition under the data folder, `${key}` for each key's value, ending in `/`. */
  readonly locationTemplate: string;
  /** The `projection.<key>.*` table parameters (without `projection.enabled` and the location template). */
  projection(firstBillingPeriod: string): Record<string, string>;
  /** The partition of a billing period (`YYYY-MM`): each key's value, in key order. */
  partitionOf(billingPeriod: string): Record<string, string>;
}

/** Data Exports' one partition per billing period: `<folder>=YYYY-MM/`, key `billing_period`. */
export function billingPeriodPartitions(folder: string): BillingPartitioning {
  return {
    partitionKeys: [{ name: 'billing_period', comment: 'YYYY-MM' }],
    locationTemplate: `${folder}=\${billing_period}/`,
    projection: (first) => ({
      'projection.billing_period.type': 'date',
      'projection.billing_period.format': 'yyyy-MM',
      'projection.billing_period.range': `${first},NOW`,
      'projection.billing_period.interval': '1',
      'projection.billing_period.interval.unit': 'MONTHS',
    }),
    partitionOf: (period) => ({ billing_period: period }),
  };
}

/**
 * Legacy CUR's Athena integration: `year=YYYY/month=M/` (month without a leading zero), keys `year`
 * and `month`. The year is projected as an integer range up to 2099 (an integer projection has no
 * `NOW`); a query names both keys, so only its own partition is computed.
 */
export function yearMonthPartitions(): BillingPartitioning {
  return {
    partitionKeys: [
      { name: 'year', comment: 'YYYY of the billing period' },
      { name: 'month', comment: 'month of the billing period, 1-12 without a leading zero' },
    ],
    locationTemplate: 'year=${year}/month=${month}/',
    projection: (first) => ({
      'projection.year.type': 'integer',
      'projection.year.range': `${first.slice(0, 4)},2099`,
      'projection.month.type': 'integer',
      'projection.month.range': '1,12',
    }),
    partitionOf: (period) => ({ year: period.slice(0, 4), month: String(Number(period.slice(5, 7))) }),
  };
}

/**
 * The Glue table a deployed format is read from: a Parquet table over one export's data folder
 * (`<curPrefix>/<export>/<dataFolder>/`), partition-projected as its {@link BillingPartitioning} says
 * (lib/constructs/catalog.ts).
 */
export interface BillingGlueTable extends BillingPartitioning {
  /** Glue table name (lower case, digits, `_`). */
  readonly name: string;
  /** Id of the table's construct in the Catalog: part of its CloudFormation logical id, keep it stable. */
  readonly constructId: string;
  readonly description: string;
  /**
   * The folder under the export's folder (`<curPrefix>/<export>/`) the partitions are in: `data` for
   * Data Exports, the report name again for legacy CUR's Athena integration.
   */
  dataFolder(exportName: string): string;
}

/** How a format reads a tag's and a cost category's raw value (SQL over its billing columns). */
export interface TagValues {
  /** A tag's value, NULL when the line item lacks it; the key as a rules file names it (2.1). */
  tagValue(key: string): string;
  /** A cost category's value, NULL when absent. */
  costCategoryValue(name: string): string;
}

/**
 * One billing format: how it is recognised, the columns its normalization SQL reads, the values of
 * that SQL's format-specific placeholders, and, when it is deployed, its Glue table and the manifest
 * kind that delivers it. This descriptor, its `line_items_*.sql` file and one line in the registry
 * (billing-formats/index.ts) are all a new format needs; everything after the canonical line item is
 * shared.
 */
export interface BillingFormat<Name extends string = string> extends TagValues {
  readonly name: Name;
  /** The canonical line items SQL, under athena/. */
  readonly lineItemsFile: string;
  /**
   * SQL expressions under athena/ that the line items SQL splices in by placeholder name, rendered with
   * the run's values first: one text for what the SQL needs in more than one place.
   * @default none
   */
  readonly fragments?: Readonly<Record<string, string>>;
  readonly detection: BillingFormatDetection;
  /** The columns read for these tags (a format with one column per tag reads the named ones). */
  columns(tags: TagKeys): readonly BillingColumn[];
  /**
   * The format's placeholders: `tenant` (the tenant expression), `rule_tag_columns`
   * (`, <expr> AS rule_tag_1 ...`, empty when the rules name no tag) and `rule_tag_names`
   * (`, rule_tag_1 ...`, to carry them through an outer SELECT).
   */
  placeholders(tags: TagKeys): Record<string, SqlFragment>;
  /**
   * The format's Glue table, created for the export a deployment names for it (lib/config/billing-exports.ts).
   * @default undefined: the format is read locally only, no table is deployed for it
   */
  readonly glueTable?: BillingGlueTable;
  /** @default undefined: no deployed delivery starts a run of this format */
  readonly manifestKind?: ManifestKind;
}

/** A required column. */
export const required = (name: string, type: ColumnType): BillingColumn => ({ name, type, required: true });
/** An optional column (NULL when a file lacks it). */
export const optional = (name: string, type: ColumnType): BillingColumn => ({
  name,
  type,
  required: false,
});

/** AWS writes a user tag key with characters other than letters, digits and "_" as "_". */
export function normalizedTagKey(tenantTagKey: string): string {
  return tenantTagKey.replace(/[^A-Za-z0-9_]/g, '_');
}

/** A tag or cost category a rule names, and the canonical line item column that carries its value. */
export interface RuleTagColumn {
  readonly key: string;
  readonly column: string;
}

/**
 * The tags a run reads from the billing data: the tenant tag keys in order of precedence (the first
 * with a non-empty value gives the tenant), whether tenant ids are lower-cased (1.5), and the tags and
 * cost categories the rules mention (lib/attribution/rules.ts `tagRequest`).
 */
export interface TagRequest {
  readonly tenantTagKeys: readonly string[];
  readonly lowercaseTenants: boolean;
  readonly tags: readonly RuleTagColumn[];
  readonly costCategories: readonly RuleTagColumn[];
}

/** A tag request, or only the tenant tag key(s) (no rule tags, ids not lower-cased). */
export type TagKeys = string | readonly string[] | TagRequest;

/** The full request for any {@link TagKeys}. */
export function tagRequestOf(keys: TagKeys): TagRequest {
  if (typeof keys === 'string' || Array.isArray(keys)) {
    return {
      tenantTagKeys: typeof keys === 'string' ? [keys] : (keys as readonly string[]),
      lowercaseTenants: false,
      tags: [],
      costCategories: [],
    };
  }
  return keys as TagRequest;
}

/** An AWS-generated tag (`aws:eks:namespace`): AWS names it without the `user` prefix (2.1). */
export function isAwsTag(key: string): boolean {
  return key.startsWith('aws:');
}

/**
 * The trimmed value of a tag expression, NULL when absent or empty: trimmed as ids are
 * ({@link trimmedIdSql}, which skips the trim for values with printable ASCII edges).
 */
export function trimmedTag(expression: string): string {
  return `nullif(${trimmedIdSql(expression)}, '')`;
}

/**
 * The placeholders every format shares, from its way of naming a tag's and a cost category's value
 * expression: the tenant (first non-empty key, lower-cased when asked, '' when none) and the rule tag
 * columns (trimmed, '' when absent).
 */
export function tagPlaceholders(
  keys: TagKeys,
  {
    tagValue: tagExpression,
    costCategoryValue: costCategoryExpression,
  }: Pick<BillingFormat, 'tagValue' | 'costCategoryValue'>,
): Record<string, SqlFragment> {
  const request = tagRequestOf(keys);
  const tenants = request.tenantTagKeys.map((key) => {
    const value = trimmedTag(tagExpression(key));
    return request.lowercaseTenants ? `lower(${value})` : value;
  });
  const ruleColumns = [
    ...request.tags.map((tag) => ({ ...tag, expression: tagExpression(tag.key) })),
    ...request.costCategories.map((category) => ({
      ...category,
      expression: costCategoryExpression(category.key),
    })),
  ];
  return {
    tenant: trustedSql(`coalesce(${[...tenants, "''"].join(', ')})`),
    rule_tag_columns: trustedSql(
      ruleColumns.map((c) => `, coalesce(${trimmedTag(c.expression)}, '') AS ${c.column}`).join(''),
    ),
    rule_tag_names: trustedSql(ruleColumns.map((c) => `, ${c.column}`).join('')),
  };
}
