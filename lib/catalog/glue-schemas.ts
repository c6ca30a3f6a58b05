import { BILLING_FORMATS, type BillingFormat, type ColumnType } from '../attribution/billing-formats.ts';
import type { ResultTable } from '../attribution/stages.ts';

/** A column of a Glue table, typed in Hive DDL (what Athena reads from the catalog). */
export interface GlueColumn {
  readonly name: string;
  readonly type: string;
  readonly comment?: string;
}

/** How each billing column type is declared in a Glue table. */
export const HIVE_TYPES: Readonly<Record<ColumnType, string>> = {
  timestamp: 'timestamp',
  double: 'double',
  varchar: 'string',
  tag_map: 'map<string,string>',
};

/**
 * The columns of a billing format's Glue table: the columns its normalization SQL reads
 * (lib/attribution/billing-formats/), in that order, Hive-typed, lower-cased as Glue stores names
 * (FOCUS `ChargePeriodStart` is `chargeperiodstart`). Parquet is read by column name, without regard to
 * case, so an export with more columns, or PascalCase ones, works with the same table.
 */
export function billingTableColumns(format: BillingFormat, tenantTagKey: string): GlueColumn[] {
  return format.columns(tenantTagKey).map((column) => ({
    name: column.name.toLowerCase(),
    type: HIVE_TYPES[column.type],
  }));
}

/**
 * The CUR 2.0 columns the attribution SQL reads, in that order. The export created by the stack
 * selects exactly these, and the `cur2` table declares exactly these.
 */
export function cur2Columns(tenantTagKey: string): GlueColumn[] {
  return billingTableColumns(BILLING_FORMATS.cur2, tenantTagKey);
}

/**
 * Usage telemetry (docs/attribution.md 1.2), one JSON object per line. `usage_day` (the partition) repeats
 * the date of the file's folder; `usage_date` in the rows is what the SQL reads.
 */
export const TELEMETRY_COLUMNS: readonly GlueColumn[] = [
  { name: 'usage_date', type: 'date', comment: 'UTC day of the observation, YYYY-MM-DD' },
  { name: 'tenant_id', type: 'string' },
  { name: 'metric', type: 'string', comment: 'free-text metric name, such as requests' },
  { name: 'quantity', type: 'double', comment: '>= 0; rows of the same day, tenant and metric are summed' },
  {
    name: 'event_id',
    type: 'string',
    comment: 'optional: the id of a streamed record; rows with the same id count once',
  },
];

/**
 * The customer dimension (docs/attribution.md 1.3), CSV with a header row, columns in this order. Every
 * column is a string: the Open CSV SerDe (needed for quoted names with commas) reads DATE only as
 * days since 1970 and fails on an empty number, so the engine casts `mrr`, `start_date`, `end_date`
 * and `effective_from` when it reads the table. `effective_from` (the first day of a customer's
 * version, empty for from the beginning) is last and optional: a file without it has v1 rows.
 */
export const CUSTOMER_COLUMNS: readonly GlueColumn[] = [
  'customer_id',
  'tenant_id',
  'name',
  'tier',
  'plan_status',
  'mrr',
  'start_date',
  'end_date',
  'owner_team',
  'effective_from',
].map((name) => ({ name, type: 'string' }));

/** The currency of the costs of a row (ISO 4217; one per run, `USD` when the billing data has none). */
const CURRENCY: GlueColumn = { name: 'currency', type: 'string' };

/** Columns every result table ends with: which rules and which run produced the row. */
const PROVENANCE: readonly GlueColumn[] = [
  { name: 'rules_version', type: 'string' },
  { name: 'run_id', type: 'string' },
];

/**
 * The columns of each result table, in the order of the SELECT in `athena/attribution/<table>.sql`,
 * without `billing_period`, which is the partition key (UNLOAD writes partition columns into the
 * folder names, not the files). test/infra checks these against the SQL files.
 */
export const RESULT_COLUMNS: Readonly<Record<ResultTable, readonly GlueColumn[]>> = {
  customer_daily_cost: [
    { name: 'usage_date', type: 'date' },
    { name: 'customer_id', type: 'string' },
    { name: 'customer_name', type: 'string' },
    { name: 'tier', type: 'string' },
    { name: 'plan_status', type: 'string' },
    { name: 'mrr', type: 'double' },
    { name: 'direct_cost', type: 'double' },
    { name: 'shared_cost', type: 'double' },
    { name: 'total_cost', type: 'double' },
    CURRENCY,
    ...PROVENANCE,
  ],
  customer_daily_service_cost: [
    { name: 'usage_date', type: 'date' },
    { name: 'customer_id', type: 'string' },
    { name: 'provider', type: 'string', comment: 'AWS for CUR; the FOCUS ProviderName' },
    { name: 'service', type: 'string' },
    { name: 'rule_id', type: 'string' },
    { name: 'driver', type: 'string' },
    { name: 'cost', type: 'double' },
    CURRENCY,
    ...PROVENANCE,
  ],
  unattributed_cost: [
    { name: 'usage_date', type: 'date' },
    { name: 'reason', type: 'string' },
    { name: 'provider', type: 'string', comment: 'AWS for CUR; the FOCUS ProviderName' },
    { name: 'service', type: 'string' },
    { name: 'cost', type: 'double' },
    CURRENCY,
    ...PROVENANCE,
  ],
  daily_summary: [
    { name: 'usage_date', type: 'date' },
    { name: 'total_cost', type: 'double' },
    { name: 'direct_cost', type: 'double' },
    { name: 'shared_cost', type: 'double' },
    { name: 'unattributed_cost', type: 'double' },
    { name: 'excluded_cost', type: 'double' },
    { name: 'unattributed_pct', type: 'double' },
    CURRENCY,
    ...PROVENANCE,
  ],
  customer_daily_usage: [
    { name: 'usage_date', type: 'date' },
    { name: 'customer_id', type: 'string' },
    { name: 'metric', type: 'string' },
    {
      name: 'quantity',
      type: 'double',
      comment: 'telemetry the run used, summed per day, customer and metric',
    },
    ...PROVENANCE,
  ],
};
