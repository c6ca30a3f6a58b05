import {
  BILLING_FORMATS,
  type BillingColumn,
  type BillingFormatName,
  detectBillingFormat,
} from '../attribution/billing-formats.ts';
import { trimmedIdSql } from '../engine/athena-id-blanks.ts';
import type { DuckDbEngine } from '../engine/duckdb-engine.ts';
import { InputError } from '../inputs/input-error.ts';
import { sqlIdentifier } from '../sql/sql-template.ts';
import {
  type CheckedColumn,
  hasBadValues,
  problemSql,
  throwFirstBadValue,
  typedValueSql,
  type ValueRule,
} from './column-checks.ts';
import {
  checkCsvHeader,
  checkGzip,
  commonKind,
  describeColumns,
  expandInput,
  type FileKind,
  readerSql,
  refuseDuplicateFiles,
} from './input-files.ts';

/** Billing files as the local engine sees them. */
export interface LocalBillingSource {
  readonly files: readonly string[];
  readonly kind: FileKind;
  readonly format: BillingFormatName;
  /** The columns read, with their rules: used to locate a bad value after a failed validity check. */
  readonly columns: readonly CheckedColumn[];
}

const BILLING_RULES: Record<BillingColumn['type'], ValueRule> = {
  timestamp: 'timestamp',
  double: 'number',
  varchar: 'text',
  tag_map: 'json_object',
};

const SQL_TYPES: Record<BillingColumn['type'], string> = {
  timestamp: 'TIMESTAMP',
  double: 'DOUBLE',
  varchar: 'VARCHAR',
  tag_map: 'MAP(VARCHAR, VARCHAR)',
};

function byLowerName<T extends { name: string }>(items: readonly T[]): Map<string, T> {
  return new Map(items.map((item) => [item.name.toLowerCase(), item]));
}

/**
 * Defines the `billing_source` view over billing files: the columns the format's normalization SQL
 * reads, typed as the Athena tables type them, optional ones NULL where absent. The format is
 * detected per file from its columns unless given.
 */
export async function defineBillingSource(
  engine: DuckDbEngine,
  inputs: readonly string[],
  requestedFormat: BillingFormatName | undefined,
  tenantTagKey: string,
): Promise<LocalBillingSource> {
  const files = (await Promise.all(inputs.map((input) => expandInput(input, 'billing')))).flat();
  const kind = commonKind(files);
  await refuseDuplicateFiles(files);
  let format = requestedFormat;
  for (const file of files) {
    await checkGzip(file);
    if (kind === 'csv') checkCsvHeader(file);
    const names = (await describeColumns(engine, [file], kind)).map((c) => c.name);
    const detected = detectBillingFormat(names);
    if (requestedFormat === undefined) {
      if (detected === undefined) {
        throw new InputError(
          'is not a billing file this tool knows: expected CUR 2.0 (line_item_line_item_type, resource_tags),' +
            ' legacy CUR (line_item_line_item_type) or FOCUS (ChargeCategory, EffectiveCost) columns',
          { file },
        );
      }
      if (format !== undefined && detected !== format) {
        throw new InputError(`is ${detected} but earlier files are ${format}; give one format per run`, {
          file,
        });
      }
      format = detected;
    }
    const present = new Set(names.map((n) => n.toLowerCase()));
    for (const column of BILLING_FORMATS[format as BillingFormatName].columns(tenantTagKey)) {
      if (column.required && !present.has(column.name.toLowerCase())) {
        throw new InputError(`required ${format} column is missing`, { file, column: column.name });
      }
    }
  }
  const billingFormat = BILLING_FORMATS[format as BillingFormatName];
  const actual = byLowerName(await describeColumns(engine, files, kind));
  const columns: CheckedColumn[] = [];
  const selectList = billingFormat.columns(tenantTagKey).map((wanted) => {
    const found = actual.get(wanted.name.toLowerCase());
    const alias = sqlIdentifier(wanted.name).sql;
    if (!found) return `CAST(NULL AS ${SQL_TYPES[wanted.type]}) AS ${alias}`;
    const column: CheckedColumn = {
      name: found.name,
      sourceType: found.type,
      rule: BILLING_RULES[wanted.type],
      required: wanted.type === 'timestamp',
    };
    columns.push(column);
    return `${typedValueSql(column)} AS ${alias}`;
  });
  await engine.run(
    `CREATE OR REPLACE VIEW billing_source AS SELECT ${selectList.join(', ')} FROM ${readerSql(files, kind)}`,
  );

  // Text files (CSV) are checked up front, every typed column whatever the cost basis reads: a bad
  // value is bad input even where this run would not use it, and a malformed JSON tag would otherwise
  // read as "no tag" and move cost from a customer into a pool without a word. Parquet is typed by its
  // writer; its values are checked on the aggregated line items (invalid_line_items.sql) at no cost.
  const typedColumns = columns.filter((c) => c.rule !== 'text');
  if (kind !== 'parquet' && (await hasBadValues(engine, files, kind, typedColumns))) {
    await throwFirstBadValue(files, kind, typedColumns);
  }
  return { files, kind, format: billingFormat.name, columns };
}

/** Telemetry columns (docs/attribution.md section 1.2) and what their values must be. */
const TELEMETRY_COLUMNS: readonly { name: string; rule: ValueRule }[] = [
  { name: 'usage_date', rule: 'date' },
  { name: 'tenant_id', rule: 'non_empty_text' },
  { name: 'metric', rule: 'non_empty_text' },
  { name: 'quantity', rule: 'non_negative_number' },
];

/**
 * Defines the `telemetry` table from usage files (CSV, NDJSON or Parquet), after checking every value:
 * telemetry is small next to billing data, so it is validated before anything runs.
 */
export async function defineTelemetry(engine: DuckDbEngine, inputs: readonly string[]): Promise<void> {
  const files = (await Promise.all(inputs.map((input) => expandInput(input, 'telemetry')))).flat();
  const kind = commonKind(files);
  await refuseDuplicateFiles(files);
  const columns: CheckedColumn[] = [];
  for (const file of files) {
    await checkGzip(file);
    if (kind === 'csv') checkCsvHeader(file);
    const present = byLowerName(await describeColumns(engine, [file], kind));
    for (const wanted of TELEMETRY_COLUMNS) {
      if (!present.has(wanted.name))
        throw new InputError('required column is missing', { file, column: wanted.name });
    }
  }
  const actual = byLowerName(await describeColumns(engine, files, kind));
  for (const wanted of TELEMETRY_COLUMNS) {
    const found = actual.get(wanted.name) as { name: string; type: string };
    columns.push({
      name: found.name,
      sourceType: found.type,
      rule: wanted.rule,
      required: true,
      fromJson: kind === 'ndjson',
    });
  }
  const [usageDate, tenantId, metric, quantity] = columns as [
    CheckedColumn,
    CheckedColumn,
    CheckedColumn,
    CheckedColumn,
  ];
  // One pass reads, types and checks the rows; only a failed check reads the files again, to locate.
  // tenant_id and metric are trimmed as usage_rows.sql trims them on every engine (trimmedIdSql), and
  // each row keeps its file (DuckDB's `filename` column of the reader), as Athena's rows keep "$path".
  const problems = columns.map((c) => `${problemSql(c)} IS NOT NULL`).join(' OR ');
  await engine.run(
    `CREATE OR REPLACE TABLE telemetry_rows AS SELECT ${typedValueSql(usageDate)} AS usage_date,` +
      ` ${trimmedIdSql(typedValueSql(tenantId))} AS tenant_id, ${trimmedIdSql(typedValueSql(metric))} AS metric,` +
      ` ${typedValueSql(quantity)} AS quantity, filename AS source_file, ${problems} AS has_problem` +
      ` FROM ${readerSql(files, kind)}`,
  );
  const [bad] = await engine.query('SELECT count(*) AS n FROM telemetry_rows WHERE has_problem');
  if (Number(bad?.n ?? 0) > 0) await throwFirstBadValue(files, kind, columns);
  await engine.run(
    'CREATE OR REPLACE VIEW telemetry AS SELECT usage_date, tenant_id, metric, quantity, source_file FROM telemetry_rows',
  );
}

/** Locates the bad value behind a failed line item validity check and throws it as an InputError. */
export async function locateBadBillingValue(source: LocalBillingSource): Promise<never> {
  const checked = source.columns.filter((c) => c.rule === 'timestamp' || c.rule === 'number');
  return throwFirstBadValue(source.files, source.kind, checked);
}
