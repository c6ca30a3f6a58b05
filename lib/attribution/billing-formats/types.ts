import type { SqlFragment } from '../../sql/sql-template.ts';

/** The type of a billing column, as the normalization SQL reads it (each engine maps it to its own). */
export type ColumnType = 'timestamp' | 'double' | 'varchar' | 'tag_map';

/** A billing column the normalization reads. Optional columns read as NULL when a file lacks them. */
export interface BillingColumn {
  readonly name: string;
  readonly type: ColumnType;
  readonly required: boolean;
}

/**
 * The kinds of delivery manifest lib/pipeline/manifest.ts parses: an AWS Data Exports (CUR 2.0)
 * manifest, or a legacy CUR manifest. A format names the kind that delivers it; the deployed side
 * looks the format of a delivery up from its manifest kind.
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

/**
 * The Glue table a deployed format is read from: a Parquet table over the CUR export's data folder
 * (`<curPrefix>/<export>/data/`), partition-projected on `billing_period` (lib/constructs/catalog.ts).
 */
export interface BillingGlueTable {
  /** Glue table name (lower case, digits, `_`). */
  readonly name: string;
  /** Id of the table's construct in the Catalog: part of its CloudFormation logical id, keep it stable. */
  readonly constructId: string;
  readonly description: string;
  /**
   * The name of the billing-period folder under `data/`, `<name>=YYYY-MM` (Data Exports writes
   * `BILLING_PERIOD`, upper case).
   */
  readonly periodFolder: string;
}

/**
 * One billing format: how it is recognised, the columns its normalization SQL reads, the values of
 * that SQL's format-specific placeholders, and, when it is deployed, its Glue table and the manifest
 * kind that delivers it. This descriptor, its `line_items_*.sql` file and one line in the registry
 * (billing-formats/index.ts) are all a new format needs; everything after the canonical line item is
 * shared.
 */
export interface BillingFormat<Name extends string = string> {
  readonly name: Name;
  /** The canonical line items SQL, under athena/. */
  readonly lineItemsFile: string;
  readonly detection: BillingFormatDetection;
  columns(tenantTagKey: string): readonly BillingColumn[];
  placeholders(tenantTagKey: string): Record<string, SqlFragment>;
  /** @default undefined: the format is read locally only, no table is deployed for it */
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
