/**
 * SQL literal builders for the generator's DuckDB statements; every value passes through here.
 * List literals are parenthesised so that indexing them (`(...)[i]`) does not parse as an array type.
 */

/** A single-quoted SQL string literal. */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** A DOUBLE literal; the cast keeps DuckDB from typing `0.1` as DECIMAL. */
export function sqlDouble(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
  return `CAST(${String(value)} AS DOUBLE)`;
}

/** A BIGINT literal. */
export function sqlBigint(value: number | bigint): string {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new Error(`not an integer: ${value}`);
  return `CAST(${String(value)} AS BIGINT)`;
}

export function sqlStringList(values: readonly string[]): string {
  return `([${values.map(sqlString).join(', ')}]::VARCHAR[])`;
}

export function sqlDoubleList(values: readonly number[]): string {
  for (const value of values) if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
  return `([${values.map(String).join(', ')}]::DOUBLE[])`;
}

export function sqlIntList(values: readonly number[]): string {
  for (const value of values) if (!Number.isSafeInteger(value)) throw new Error(`not an integer: ${value}`);
  return `([${values.map(String).join(', ')}]::BIGINT[])`;
}

export function sqlBoolList(values: readonly boolean[]): string {
  return `([${values.map(String).join(', ')}]::BOOLEAN[])`;
}
