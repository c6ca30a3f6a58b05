import { sqlString } from '../sql/sql-template.ts';

/**
 * SQL literal builders for the generator's DuckDB-only statements, as text; every value passes through
 * here. Strings are quoted by the project's one quoting function (lib/sql/sql-template.ts). List
 * literals are parenthesised so that indexing them (`(...)[i]`) does not parse as an array type.
 */

/** A single-quoted SQL string literal, as text. */
export function stringLiteral(text: string): string {
  return sqlString(text).sql;
}

/** A DOUBLE literal; the cast keeps DuckDB from typing `0.1` as DECIMAL. */
export function doubleLiteral(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
  return `CAST(${String(value)} AS DOUBLE)`;
}

/** A BIGINT literal. */
export function bigintLiteral(value: number | bigint): string {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new Error(`not an integer: ${value}`);
  return `CAST(${String(value)} AS BIGINT)`;
}

export function stringListLiteral(values: readonly string[]): string {
  return `([${values.map(stringLiteral).join(', ')}]::VARCHAR[])`;
}

export function doubleListLiteral(values: readonly number[]): string {
  for (const value of values) if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
  return `([${values.map(String).join(', ')}]::DOUBLE[])`;
}

export function intListLiteral(values: readonly number[]): string {
  for (const value of values) if (!Number.isSafeInteger(value)) throw new Error(`not an integer: ${value}`);
  return `([${values.map(String).join(', ')}]::BIGINT[])`;
}

export function boolListLiteral(values: readonly boolean[]): string {
  return `([${values.map(String).join(', ')}]::BOOLEAN[])`;
}
