import { createHash } from 'node:crypto';
import { BILLING_PERIOD, BUCKET_NAME, GLUE_NAME, lastDayOfPeriod, RUN_ID } from '../common/names.ts';
import { sqlIdentifier, sqlString, sqlStringList } from '../sql/sql-template.ts';
import { type InputTable, isInputTable } from '../sql/tables.ts';
import { ID_BLANKS } from './athena-id-blanks.ts';

/*
 * Where a run's tables live in Athena: names, locations and the CTAS and DROP text. Pure naming with no
 * client, so a plan can be built anywhere (prepare-run, tests) and every engine over the catalog (Athena,
 * the Trino test engine) reads the inputs the same way.
 */

/** A table the engine reads rather than creates. */
export type AthenaInputTable = InputTable;

/** The Glue tables of the catalog (lib/constructs/catalog.ts) that hold each input. */
export const DEFAULT_INPUT_TABLES: Readonly<Record<AthenaInputTable, string>> = {
  billing_source: 'cur2',
  telemetry: 'telemetry',
  customers: 'customers',
};

/** Where a run's tables live: pure naming, shared by the engine and the run plan. */
export interface AthenaRunLayoutOptions {
  /** Glue database of the inputs and of the run tables (lower case letters, digits and `_`). */
  readonly database: string;
  /** The run id; it names the run's tables and its S3 prefix (letters, digits, `.`, `_`, `-`). */
  readonly runId: string;
  /** Name of the bucket the run writes its Parquet results into. */
  readonly resultsBucket: string;
  /** Prefix of all runs in that bucket, without slashes at either end. @default 'runs' */
  readonly runPrefix?: string;
  /** Glue table names of the inputs. @default {@link DEFAULT_INPUT_TABLES} */
  readonly inputTables?: Partial<Record<AthenaInputTable, string>>;
  /**
   * The billing period (YYYY-MM) a run attributes. When set, the billing table is read only in its
   * `billing_period` partition and telemetry only in that month's `usage_day` partitions, so a run
   * scans one month and its results hold one billing period (what publishing a partition needs).
   * @default undefined: every partition is read
   */
  readonly billingPeriod?: string;
  /**
   * The data files of the billing period the run reads, as the `s3://bucket/key` URIs its manifest
   * lists (the value of Athena's hidden `"$path"` column for their rows). When set, the billing table is
   * read only in these files, so a stray or half-rewritten object in the partition never counts; an
   * empty list reads nothing (an empty delivery). Each URI must be an `s3://` URI without quotes or
   * control characters ({@link checkBillingFile}); prepare-run also checks that each is under the
   * export's data folder (lib/pipeline/manifest.ts).
   * @default undefined: every file of the partition is read
   */
  readonly billingFiles?: readonly string[];
  /**
   * The billing table's partition of the run's billing period, as key -> value (the format's
   * `partitionOf`: `{ year: '2026', month: '10' }` for legacy CUR's Athena integration).
   * @default `{ billing_period: <billingPeriod> }` when the run has a billing period
   */
  readonly billingPartition?: Readonly<Record<string, string>>;
  /**
   * A CSV delivery: the billing source is then the run's own table over the delivery's folder (created
   * by {@link AthenaRunLayout.createBillingCsvTable}, dropped with the run's tables), read in the
   * manifest's files only and typed by `selectList`, instead of the format's Glue table. Needs
   * `billingFiles`, non-empty.
   * @default undefined: the billing source is the format's Glue table
   */
  readonly billingCsv?: BillingCsvTable;
}

/** The run's table over a CSV delivery (lib/pipeline/csv-delivery.ts builds it from the manifest). */
export interface BillingCsvTable {
  /** The files' columns in file order, as Athena names (lower case letters, digits, `_`), unique. */
  readonly columns: readonly string[];
  /** The `s3://` folder every listed file is directly in, ending in `/`. */
  readonly location: string;
  /**
   * The SELECT list that reads the string columns as the format's typed columns (`CAST(... AS double)
   * AS "line_item_unblended_cost", ...`), built from validated names only.
   */
  readonly selectList: string;
}

/** The logical name of the run's table over a CSV delivery: `run_<run id>_billing_csv`. */
export const BILLING_CSV_TABLE = 'billing_csv';

const LOGICAL_NAME = /^[a-z_][a-z0-9_]*$/;
/** An S3 URI as `"$path"` holds it: a bucket, a key, and nothing SQL or a log line could misread. */
const S3_URI = /^s3:\/\/[A-Za-z0-9][A-Za-z0-9._-]{1,254}\/[^'"\\\p{Cc}]+$/u;

/**
 * Checks one data file URI before it becomes a SQL literal: `s3://<bucket>/<key>`, a valid bucket name,
 * a key without quotes, backslashes or control characters. sqlString would quote a quote safely; it is
 * refused anyway, because no AWS export writes one and such a name means the manifest is not what it
 * claims to be.
 */
export function checkBillingFile(uri: string): void {
  check(isBillingFileUri(uri), 'billing data file (an s3:// URI without quotes or control characters)', uri);
}

/** Whether {@link checkBillingFile} accepts a URI. */
export function isBillingFileUri(uri: string): boolean {
  return (
    S3_URI.test(uri) &&
    !uri
      .split('/')
      .slice(3)
      .some((segment) => segment === '.' || segment === '..')
  );
}

const PREFIX_SEGMENT = /^[A-Za-z0-9_.=-]+$/;

/** Throws an Athena naming error for an invalid value. */
export function check(valid: boolean, what: string, value: unknown): void {
  if (!valid) throw new Error(`Athena: invalid ${what}: ${JSON.stringify(value)}`);
}

/**
 * The table-name form of a run id: lower case, `[a-z0-9_]` only (Glue lower-cases table names).
 * When that loses information (`A-1` and `a_1` would meet), a hash of the raw id is appended, so two
 * run ids never share a table.
 */
export function runTableId(runId: string): string {
  check(RUN_ID.test(runId), 'run id', runId);
  const plain = runId.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (plain === runId) return plain;
  return `${plain}_${createHash('sha256').update(runId).digest('hex').slice(0, 8)}`;
}

/**
 * Names and statements of one run in Athena: the SQL reference of every logical table, the run's
 * S3 locations and the CTAS and DROP statements. Holds no client, so a plan can be built anywhere.
 */
export class AthenaRunLayout {
  readonly database: string;
  readonly runId: string;
  readonly resultsBucket: string;
  readonly runPrefix: string;
  readonly billingPeriod: string | undefined;
  readonly billingFiles: readonly string[] | undefined;
  readonly billingPartition: Readonly<Record<string, string>> | undefined;
  readonly billingCsv: BillingCsvTable | undefined;
  private readonly inputs: Readonly<Record<AthenaInputTable, string>>;
  private readonly tableId: string;

  constructor(options: AthenaRunLayoutOptions) {
    check(GLUE_NAME.test(options.database), 'Glue database name', options.database);
    check(BUCKET_NAME.test(options.resultsBucket), 'results bucket name', options.resultsBucket);
    const prefix = (options.runPrefix ?? 'runs').replace(/^\/+|\/+$/g, '');
    check(
      prefix.split('/').every((s) => PREFIX_SEGMENT.test(s) && s !== '.' && s !== '..'),
      'run prefix',
      options.runPrefix,
    );
    if (options.billingPeriod !== undefined) {
      check(BILLING_PERIOD.test(options.billingPeriod), 'billing period (YYYY-MM)', options.billingPeriod);
    }
    for (const file of options.billingFiles ?? []) checkBillingFile(file);
    for (const key of Object.keys(options.billingPartition ?? {})) {
      check(LOGICAL_NAME.test(key), 'billing partition key', key);
    }
    if (options.billingCsv !== undefined) {
      const { columns, location } = options.billingCsv;
      check((options.billingFiles?.length ?? 0) > 0, 'CSV delivery without data files', options.billingFiles);
      check(columns.length > 0, 'CSV delivery without columns', columns);
      for (const column of columns) check(LOGICAL_NAME.test(column), 'CSV column name', column);
      check(new Set(columns).size === columns.length, 'CSV column list (a name twice)', columns);
      check(isBillingFileUri(location) && location.endsWith('/'), 'CSV delivery folder', location);
    }
    const inputs = { ...DEFAULT_INPUT_TABLES, ...options.inputTables };
    for (const [input, table] of Object.entries(inputs)) {
      check(GLUE_NAME.test(table), `Glue table name for ${input}`, table);
    }
    this.database = options.database;
    this.runId = options.runId;
    this.tableId = runTableId(options.runId);
    this.resultsBucket = options.resultsBucket;
    this.runPrefix = prefix;
    this.billingPeriod = options.billingPeriod;
    this.billingFiles = options.billingFiles === undefined ? undefined : [...options.billingFiles];
    this.billingPartition =
      options.billingPartition ??
      (options.billingPeriod === undefined ? undefined : { billing_period: options.billingPeriod });
    this.billingCsv = options.billingCsv;
    this.inputs = inputs;
  }

  /** The Glue table name of a run table: `run_<run id>_<name>`. */
  runTableName(name: string): string {
    const logical = logicalName(name);
    if (isInputTable(logical)) throw new Error(`Athena: ${logical} is an input, not a run table`);
    return `run_${this.tableId}_${logical}`;
  }

  /** The S3 folder of a run table: `s3://<bucket>/<prefix>/run=<run id>/<name>/`. */
  location(name: string): string {
    const logical = logicalName(name);
    if (isInputTable(logical)) throw new Error(`Athena: ${logical} is an input, not a run table`);
    return `s3://${this.resultsBucket}/${this.runPrefix}/run=${this.runId}/${logical}/`;
  }

  /** The SQL reference of a logical table (see {@link QueryEngine.tableRef}); callable unbound. */
  readonly tableRef = (name: string): string => {
    const logical = logicalName(name);
    if (!isInputTable(logical)) return this.qualified(this.runTableName(logical));
    const table = this.qualified(this.inputs[logical]);
    const period = this.billingPeriod;
    switch (logical) {
      case 'billing_source':
        if (this.billingCsv !== undefined) {
          // The run's own table holds this delivery only: no partition to name.
          const csv = this.qualified(this.runTableName(BILLING_CSV_TABLE));
          return `(SELECT ${this.billingCsv.selectList} FROM ${csv} WHERE ${pathFilter(this.billingFiles ?? [])})`;
        }
        return billingSource(table, this.billingPartition, this.billingFiles);
      case 'telemetry':
        return telemetrySource(table, period);
      case 'customers':
        return typedCustomers(table);
    }
  };

  /** CTAS of a run table into its own, new S3 folder (Athena fails rather than overwrite). */
  ctas(name: string, select: string): string {
    return (
      `CREATE TABLE ${this.tableRef(name)}\n` +
      `WITH (format = 'PARQUET', write_compression = 'ZSTD', external_location = ${sqlString(this.location(name)).sql})\n` +
      `AS\n${select}`
    );
  }

  /**
   * The Athena DDL (Hive) of the run's table over a CSV delivery: every column a string in the files'
   * order, the Open CSV SerDe (quoted fields with commas), the header line skipped, over the folder of
   * the delivery's files. Its rows are read in the manifest's files only (`"$path"`), so the manifest
   * copy AWS writes beside them is never read as data. External: dropping it leaves the files.
   */
  createBillingCsvTable(): string {
    const csv = this.billingCsv;
    if (csv === undefined) throw new Error('Athena: the run has no CSV delivery');
    const columns = csv.columns.map((column) => `  \`${column}\` string`).join(',\n');
    return (
      `CREATE EXTERNAL TABLE IF NOT EXISTS \`${this.database}\`.\`${this.runTableName(BILLING_CSV_TABLE)}\` (\n${columns}\n)\n` +
      "ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'\n" +
      "WITH SERDEPROPERTIES ('separatorChar' = ',', 'quoteChar' = '\"', 'escapeChar' = '\\\\')\n" +
      'STORED AS TEXTFILE\n' +
      `LOCATION ${sqlString(csv.location).sql}\n` +
      "TBLPROPERTIES ('skip.header.line.count' = '1')"
    );
  }

  /**
   * Drops a run table from the Glue catalog. Its Parquet files stay (CTAS tables are external): the
   * published partitions point at them. Athena runs DROP TABLE as Hive DDL, which quotes with backticks.
   */
  dropTable(name: string): string {
    return `DROP TABLE IF EXISTS \`${this.database}\`.\`${this.runTableName(name)}\``;
  }

  private qualified(table: string): string {
    return `${sqlIdentifier(this.database).sql}.${sqlIdentifier(table).sql}`;
  }
}

function logicalName(name: string): string {
  const lower = name.toLowerCase();
  check(LOGICAL_NAME.test(lower), 'table name', name);
  return lower;
}

/**
 * The billing table, read in the run's billing period only and, when the manifest's files are known,
 * only in those files: Athena's hidden `"$path"` column holds each row's object URI, and an equality
 * list on it also lets Athena skip the other objects of the partition rather than read and drop them.
 */
function billingSource(
  table: string,
  partition: Readonly<Record<string, string>> | undefined,
  files: readonly string[] | undefined,
) {
  const filters: string[] = Object.entries(partition ?? {}).map(
    ([key, value]) => `${key} = ${sqlString(value).sql}`,
  );
  if (files !== undefined) filters.push(pathFilter(files));
  return filters.length === 0 ? table : `(SELECT * FROM ${table} WHERE ${filters.join(' AND ')})`;
}

/** Rows of these objects only (`FALSE` for none). */
function pathFilter(files: readonly string[]): string {
  return files.length === 0 ? 'FALSE' : `"$path" IN (${sqlStringList(files).sql})`;
}

/**
 * Telemetry with the object each row came from (`"$path"` as `source_file`), so that a bad row fails the
 * run naming its object (athena/attribution/invalid_telemetry.sql), in the billing period's days only
 * when the run has one. The values are as the files hold them: athena/attribution/usage_rows.sql trims
 * them and counts a streamed record (`event_id`) once, the same SQL on both engines.
 */
/**
 * Days of telemetry read before the billing period's first day: a metric driver's window reaches back
 * at most 31 days including the usage day (docs/attribution.md section 4), so the 1st needs the 30 days
 * before it.
 */
export const TELEMETRY_LOOKBACK_DAYS = 30;

function telemetrySource(table: string, period: string | undefined) {
  const days =
    period === undefined
      ? ''
      : ` WHERE usage_day BETWEEN ${sqlString(daysBefore(`${period}-01`, TELEMETRY_LOOKBACK_DAYS)).sql} AND ${sqlString(lastDayOfPeriod(period)).sql}`;
  return `(SELECT usage_date, tenant_id, metric, quantity, event_id, "$path" AS source_file FROM ${table}${days})`;
}

/**
 * The customers table typed as the local engine loads it (lib/inputs/customers.ts): the Glue table
 * is all strings (the Open CSV SerDe cannot read an empty number or a YYYY-MM-DD date), so text is
 * trimmed as the local reader trims it (JavaScript's `trim`: {@link ID_BLANKS}), an empty tenant_id
 * means the customer id, an empty mrr is 0, and a value that is not a number or a date fails the query
 * rather than dropping a customer.
 */
function typedCustomers(table: string): string {
  // The characters to trim are spelled once, in a one-row join, rather than in each of six trims:
  // the statements travel in a Step Functions payload.
  const t = (column: string) => `trim(BOTH b.blanks FROM ${column})`;
  return (
    `(SELECT ${t('customer_id')} AS customer_id,` +
    ` coalesce(nullif(${t('tenant_id')}, ''), ${t('customer_id')}) AS tenant_id,` +
    ` ${t('name')} AS name, ${t('tier')} AS tier, lower(${t('plan_status')}) AS plan_status,` +
    // Numbers and dates: any other padding fails the cast (prepare-run has validated them already).
    " coalesce(CAST(nullif(trim(mrr), '') AS double), 0) AS mrr," +
    " CAST(nullif(trim(start_date), '') AS date) AS start_date," +
    " CAST(nullif(trim(end_date), '') AS date) AS end_date," +
    ` nullif(${t('owner_team')}, '') AS owner_team,` +
    // The first day of the customer's version (lib/inputs/customers.ts); empty: from the beginning.
    " CAST(nullif(trim(effective_from), '') AS date) AS effective_from" +
    ` FROM ${table} CROSS JOIN (SELECT ${ID_BLANKS.sql} AS blanks) AS b)`
  );
}

/** The ISO date `days` days before an ISO date (UTC calendar days). */
function daysBefore(isoDate: string, days: number): string {
  return new Date(Date.parse(`${isoDate}T00:00:00Z`) - days * 86_400_000).toISOString().slice(0, 10);
}
