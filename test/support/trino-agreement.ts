import { join } from 'node:path';
import { expect } from 'vitest';
import {
  BILLING_FORMATS,
  type BillingFormatName,
  type ColumnType,
  type TagKeys,
} from '../../lib/attribution/billing-formats.ts';
import { CUSTOMER_COLUMNS } from '../../lib/catalog/glue-schemas.ts';
import type { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import type { Row } from '../../lib/engine/query-engine.ts';
import type { TrinoColumnType, TrinoEngine, TrinoInputValue } from '../../lib/engine/trino-engine.ts';
import { defineCustomers } from '../../lib/local/customers-table.ts';
import { defineBillingSource, defineTelemetry } from '../../lib/local/local-sources.ts';
import { sqlIdentifier } from '../../lib/sql/sql-template.ts';
import {
  type TestCustomer,
  type TestLineItem,
  type TestUsage,
  tempDir,
  writeCur2,
  writeCustomersCsv,
  writeFocus,
  writeLegacyCur,
  writeTelemetryCsv,
} from './fixtures.ts';
import { readCsv } from './run-scenario.ts';

/**
 * Every statement that differs between the two engines on purpose, with the reason: all else is the
 * same SQL text from athena/. No shared SQL file needs a variant; a new entry here needs a reason as
 * good as these.
 */
export const ENGINE_VARIANTS: Readonly<Record<string, string>> = {
  'billing_source, telemetry':
    'DuckDB reads the files through lib/local (views over Parquet and CSV); Trino gets the very rows ' +
    "DuckDB read, as tables typed like the Glue tables (lib/catalog/glue-schemas.ts). Athena's hidden " +
    '"$path" column is an ordinary column of that name in Trino (loadWithPath), the file path in DuckDB.',
  customers:
    'DuckDB loads a typed table (lib/local/customers-table.ts); Trino, like Athena, holds the CSV as ' +
    "text and reads it through AthenaRunLayout's typed customers subquery.",
  'element_at, is_finite, from_iso8601_timestamp':
    'DuckDB defines them as TRINO_COMPATIBILITY_MACROS (lib/engine/duckdb-engine.ts) so that the ' +
    'shared SQL can call the Trino functions.',
  'createTable, createView':
    'DuckDB replaces a table or view in place; Trino, as Athena, stores every result, projections ' +
    'included, as a CTAS, dropping an earlier table of the name first (the seam replaces it).',
};

/** One set of inputs, given to both engines. */
export interface AgreementInputs {
  readonly format: BillingFormatName;
  readonly items: readonly TestLineItem[];
  readonly usage: readonly TestUsage[];
  readonly customers: readonly TestCustomer[];
  readonly tenantTagKey: string;
}

/** Input files as a local run reads them, and the options it reads them with. */
export interface AgreementFiles {
  readonly format: BillingFormatName;
  readonly billing: readonly string[];
  readonly telemetry: readonly string[];
  readonly customers: string;
  /** The tenant tag key, or a rules file's whole tag request (legacy CUR reads a column per tag). */
  readonly tenantTagKey: TagKeys;
}

async function writeBilling(dir: string, inputs: AgreementInputs): Promise<string> {
  switch (inputs.format) {
    case 'cur2':
      return writeCur2(join(dir, 'cur.parquet'), inputs.items, { tenantTagKey: inputs.tenantTagKey });
    case 'legacy':
      return writeLegacyCur(join(dir, 'legacy.parquet'), inputs.items, inputs.tenantTagKey);
    case 'focus':
      return writeFocus(join(dir, 'focus.parquet'), inputs.items, { tenantTagKey: inputs.tenantTagKey });
  }
}

/** Writes hand-made inputs as the files of a local run (Parquet billing, CSV telemetry and customers). */
export async function writeInputs(inputs: AgreementInputs): Promise<AgreementFiles> {
  const dir = tempDir('cpc-agreement-');
  return {
    format: inputs.format,
    billing: [await writeBilling(dir, inputs)],
    telemetry: [writeTelemetryCsv(join(dir, 'telemetry.csv'), inputs.usage)],
    customers: writeCustomersCsv(join(dir, 'customers.csv'), inputs.customers),
    tenantTagKey: inputs.tenantTagKey,
  };
}

/** The billing column types as the Glue tables declare them (lib/catalog/glue-schemas.ts), in Trino's names. */
const BILLING_TYPES: Readonly<Record<ColumnType, TrinoColumnType>> = {
  // Hive `timestamp` reads as Trino's timestamp(3).
  timestamp: 'timestamp(3)',
  double: 'double',
  varchar: 'varchar',
  tag_map: 'map(varchar, varchar)',
};

/** The telemetry Glue table's columns, without its `usage_day` partition. */
const TELEMETRY_COLUMNS = [
  { name: 'usage_date', type: 'date' },
  { name: 'tenant_id', type: 'varchar' },
  { name: 'metric', type: 'varchar' },
  { name: 'quantity', type: 'double' },
  { name: 'event_id', type: 'varchar' },
] as const;

/**
 * Loads input files into DuckDB the way a local run does (lib/local), then copies the rows DuckDB
 * holds into Trino, so both engines start from identical inputs.
 */
export async function loadInputs(
  duck: DuckDbEngine,
  trino: TrinoEngine,
  files: AgreementFiles,
): Promise<void> {
  await defineCustomers(duck, files.customers);
  await defineTelemetry(duck, files.telemetry);
  await defineBillingSource(duck, files.billing, files.format, files.tenantTagKey);

  // The Glue customers table is the CSV as text (the Open CSV SerDe: an empty field is ''); the engine
  // reads it typed, as Athena does.
  const customerColumns = CUSTOMER_COLUMNS.map((c) => ({ name: c.name, type: 'varchar' as const }));
  await trino.loadTable(
    'customers',
    customerColumns,
    readCsv(files.customers).map((row) =>
      Object.fromEntries(customerColumns.map((c) => [c.name, row[c.name] ?? ''])),
    ),
  );
  await loadWithPath(
    trino,
    'telemetry',
    TELEMETRY_COLUMNS,
    await duck.query(
      'SELECT CAST(usage_date AS VARCHAR) AS usage_date, tenant_id, metric, quantity, event_id, source_file FROM telemetry',
    ),
  );
  const format = BILLING_FORMATS[files.format];
  const columns = format.columns(files.tenantTagKey);
  const select = columns.map((column) => {
    const name = sqlIdentifier(column.name).sql;
    if (column.type === 'tag_map') return `CAST(to_json(${name}) AS VARCHAR) AS ${name}`;
    if (column.type === 'timestamp') return `CAST(${name} AS VARCHAR) AS ${name}`;
    return name;
  });
  const rows = await duck.query(`SELECT ${select.join(', ')} FROM billing_source`);
  const typed = rows.map((row) => {
    const out: Record<string, TrinoInputValue> = { ...row };
    for (const column of columns) {
      const value = row[column.name];
      if (column.type === 'tag_map' && typeof value === 'string') {
        out[column.name] = JSON.parse(value) as Record<string, string>;
      }
    }
    return out;
  });
  // Trino folds identifiers to lower case: a FOCUS row may name its columns in either case.
  await trino.loadTable(
    'billing_source',
    columns.map((c) => ({ name: c.name.toLowerCase(), type: BILLING_TYPES[c.type] })),
    typed.map((row) =>
      Object.fromEntries(Object.entries(row).map(([key, value]) => [key.toLowerCase(), value])),
    ),
  );
}

/**
 * Loads `rows` into table `name` with `columns` and a column named `"$path"` holding each row's
 * `source_file`. Athena's Hive tables have `"$path"` as a hidden column (the row's object URI); Trino's
 * memory connector has no hidden columns but accepts an ordinary column of that name, so the same SQL
 * text (`"$path" IN (...)`, `"$path" AS source_file`) runs on both.
 */
export async function loadWithPath(
  trino: TrinoEngine,
  name: string,
  columns: readonly { readonly name: string; readonly type: TrinoColumnType }[],
  rows: readonly Readonly<Record<string, TrinoInputValue>>[],
): Promise<void> {
  const staging = `${name}_with_source`;
  await trino.loadTable(staging, [...columns, { name: 'source_file', type: 'varchar' }], rows);
  const schema = `${sqlIdentifier(trino.catalog).sql}.${sqlIdentifier(trino.schema).sql}`;
  const list = columns.map((c) => sqlIdentifier(c.name).sql).join(', ');
  await trino.run(`DROP TABLE IF EXISTS ${schema}.${sqlIdentifier(name).sql}`);
  await trino.run(
    `CREATE TABLE ${schema}.${sqlIdentifier(name).sql} AS SELECT ${list}, source_file AS "$path"` +
      ` FROM ${schema}.${sqlIdentifier(staging).sql}`,
  );
  await trino.run(`DROP TABLE ${schema}.${sqlIdentifier(staging).sql}`);
}

/** How close two numbers must be: relative, with a floor for values that are sums reaching zero. */
export interface Tolerance {
  readonly relative: number;
  /** Below this magnitude, the difference is compared absolutely. */
  readonly absolute: number;
}

export const MONEY_TOLERANCE: Tolerance = { relative: 1e-9, absolute: 1e-15 };

function isNumeric(value: unknown): boolean {
  return typeof value === 'number';
}

/** Whether two values agree: numbers within `tolerance` (either side numeric), everything else exactly. */
export function sameValue(a: unknown, b: unknown, tolerance: Tolerance = MONEY_TOLERANCE): boolean {
  if (a === null || b === null || a === undefined || b === undefined) return a === b;
  if (isNumeric(a) || isNumeric(b)) {
    const x = Number(a);
    const y = Number(b);
    if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) && Number.isNaN(y);
    if (x === y) return true;
    const scale = Math.max(Math.abs(x), Math.abs(y));
    return Math.abs(x - y) <= Math.max(tolerance.relative * scale, tolerance.absolute);
  }
  return a === b;
}

/**
 * The non-numeric values of a row, then its numbers: an order both engines' rows sort the same by.
 * `numeric` names the columns either engine returned a number in (DuckDB sends BIGINT and DECIMAL as
 * strings, Trino as numbers).
 */
function sortKey(row: Row, numeric: ReadonlySet<string>): string {
  const names = Object.keys(row).sort();
  const identifiers = names.filter((n) => !numeric.has(n)).map((n) => `${n}=${String(row[n])}`);
  const numbers = names
    .filter((n) => numeric.has(n))
    .map((n) => (row[n] === null ? 'null' : Number(row[n]).toPrecision(6)));
  return JSON.stringify([identifiers, numbers]);
}

/**
 * Requires the same rows from both engines, in any order: the same columns, identifiers exactly,
 * numbers within the tolerance. The failure message names the first row and column that differ.
 */
export function expectSameRows(
  trino: readonly Row[],
  duck: readonly Row[],
  label: string,
  tolerance: Tolerance = MONEY_TOLERANCE,
): void {
  expect(trino.length, `${label}: row count (Trino vs DuckDB)`).toBe(duck.length);
  const numeric = new Set(
    [...trino, ...duck].flatMap((row) => Object.keys(row).filter((n) => typeof row[n] === 'number')),
  );
  const byKey = (x: Row, y: Row) => sortKey(x, numeric).localeCompare(sortKey(y, numeric));
  const a = [...trino].sort(byKey);
  const b = [...duck].sort(byKey);
  a.forEach((row, index) => {
    const other = b[index] as Row;
    expect(Object.keys(row).sort(), `${label}: columns`).toEqual(Object.keys(other).sort());
    // A difference of large sums (conservation_difference) is rounding noise of those sums: it is
    // compared relative to the largest number of its row, not to itself.
    const rowScale = Math.max(
      0,
      ...[...numeric].flatMap((n) => [row[n], other[n]]).map((v) => Math.abs(Number(v ?? 0))),
    );
    for (const [column, value] of Object.entries(row)) {
      const columnTolerance = /difference/.test(column)
        ? { ...tolerance, absolute: Math.max(tolerance.absolute, tolerance.relative * rowScale) }
        : tolerance;
      if (!sameValue(value, other[column], columnTolerance)) {
        expect.fail(
          `${label}: row ${index} column ${column}: Trino ${JSON.stringify(value)} vs DuckDB ` +
            `${JSON.stringify(other[column])}\nTrino row: ${JSON.stringify(row)}\nDuckDB row: ${JSON.stringify(other)}`,
        );
      }
    }
  });
}

function largestNumber(value: unknown): number {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.abs(value) : 0;
  if (value !== null && typeof value === 'object') {
    return Math.max(0, ...Object.values(value).map(largestNumber));
  }
  return 0;
}

/**
 * Deep agreement of two values built from query results (alerts, report data): numbers within
 * tolerance, a `...difference` number relative to the largest number of the whole value (as in
 * {@link expectSameRows}), everything else exactly.
 */
export function expectSameValue(trino: unknown, duck: unknown, path: string): void {
  const scale = Math.max(largestNumber(trino), largestNumber(duck));
  const differenceTolerance = {
    ...MONEY_TOLERANCE,
    absolute: Math.max(MONEY_TOLERANCE.absolute, MONEY_TOLERANCE.relative * scale),
  };
  const compare = (a: unknown, b: unknown, at: string, tolerance: Tolerance): void => {
    if (Array.isArray(a) && Array.isArray(b)) {
      expect(a.length, `${at}: length`).toBe(b.length);
      a.forEach((item, index) => {
        compare(item, b[index], `${at}[${index}]`, tolerance);
      });
      return;
    }
    if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
      expect(Object.keys(a).sort(), `${at}: keys`).toEqual(Object.keys(b).sort());
      for (const [key, value] of Object.entries(a)) {
        const next = /difference/i.test(key) ? differenceTolerance : tolerance;
        compare(value, (b as Record<string, unknown>)[key], `${at}.${key}`, next);
      }
      return;
    }
    if (!sameValue(a, b, tolerance)) {
      expect.fail(`${at}: Trino ${JSON.stringify(a)} vs DuckDB ${JSON.stringify(b)}`);
    }
  };
  compare(trino, duck, path, MONEY_TOLERANCE);
}
