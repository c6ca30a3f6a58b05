import type { Row } from '../engine/query-engine.ts';

type Cell = Row[string];

/**
 * Whether every number of a column is whole (counts, or costs that happen to be round), so the column
 * prints without decimals; any fractional value makes the whole column print with 2.
 */
function wholeNumbers(values: readonly Cell[]): boolean {
  return values.every((value) => typeof value !== 'number' || Number.isInteger(value));
}

function display(value: Cell, whole: boolean): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') {
    if (whole) return String(value);
    const text = value.toFixed(2);
    // -0.001 rounds to "-0.00"; a sign on zero only confuses.
    return /^-0\.0+$/.test(text) ? text.slice(1) : text;
  }
  return String(value);
}

/**
 * A query result as an aligned text table for the terminal: numbers right-aligned and rounded to 2
 * decimals for display only (files and rows stay unrounded), NULL as an empty cell, a row count at the
 * end. Column order is the order of the first row's keys.
 */
export function formatTable(rows: readonly Row[]): string {
  const first = rows[0];
  if (first === undefined) return '(no rows)';
  const columns = Object.keys(first);
  const cells = columns.map((column) => {
    const values = rows.map((row) => row[column] ?? null);
    const whole = wholeNumbers(values);
    const numeric = values.some((value) => typeof value === 'number');
    const texts = values.map((value) => display(value, whole));
    const width = Math.max(column.length, ...texts.map((text) => text.length));
    const pad = (text: string) => (numeric ? text.padStart(width) : text.padEnd(width));
    return { header: pad(column), rule: '-'.repeat(width), texts: texts.map(pad) };
  });
  const line = (parts: readonly string[]) => parts.join('  ').trimEnd();
  return [
    line(cells.map((c) => c.header)),
    line(cells.map((c) => c.rule)),
    ...rows.map((_row, index) => line(cells.map((c) => c.texts[index] ?? ''))),
    `(${rows.length} ${rows.length === 1 ? 'row' : 'rows'})`,
  ].join('\n');
}
