import { type SqlFragment, trustedSql } from '../sql/sql-template.ts';

/*
 * How ids (tenant ids from tags, telemetry and the customer dimension, customer ids) and metric names are
 * trimmed, the same way by every engine and by the TypeScript readers (docs/attribution.md 1.2). It lives
 * with the Athena layout, which trims the deployed customers table with it; the shared SQL gets it as
 * `${id_blanks}` and the local readers import it.
 */

/**
 * The characters trimmed from ids and metric names: those JavaScript's `String.prototype.trim` removes
 * (ASCII space, tab, line feed, vertical tab, form feed, carriage return, the no-break spaces, the
 * Unicode space separators, the line and paragraph separators and the byte-order mark), so that tag
 * values and telemetry (trimmed in SQL) and the local customers file (trimmed in TypeScript) agree.
 */
export const ID_BLANK_CODE_POINTS: readonly number[] = [
  9, 10, 11, 12, 13, 32, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008,
  0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff,
];

/**
 * {@link ID_BLANK_CODE_POINTS} as SQL (`${id_blanks}` in the SQL files, and the local telemetry reader).
 * Named explicitly because the engines disagree on a bare `trim(x)`: Trino removes tabs and line breaks
 * but keeps a no-break space, DuckDB removes spaces only (no-break ones included).
 * `trim(BOTH chars FROM x)` means the same on both.
 */
export const ID_BLANKS: SqlFragment = trustedSql(
  ID_BLANK_CODE_POINTS.map((code) => `chr(${code})`).join(' || '),
);

/**
 * An id or metric name trimmed the same way on every engine ({@link ID_BLANKS}). A value whose first and
 * last characters are printable ASCII has nothing to trim and is taken as it is: trimming with the blank
 * set costs DuckDB several times a plain read (6M telemetry rows: 4.6 s against 1.0 s), on every row.
 * Any other value, '' and multi-byte edges included, is trimmed (single characters compare by their
 * UTF-8 bytes on both engines, and no byte of a multi-byte character lies between '!' and '~').
 */
export function trimmedIdSql(expression: string): string {
  const printable = (position: string) => `substr(${expression}, ${position}, 1) BETWEEN '!' AND '~'`;
  return (
    `CASE WHEN ${printable('1')} AND ${printable(`length(${expression})`)} THEN ${expression}` +
    ` ELSE trim(BOTH ${ID_BLANKS.sql} FROM ${expression}) END`
  );
}
