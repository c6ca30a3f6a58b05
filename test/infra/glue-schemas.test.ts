import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BILLING_FORMATS } from '../../lib/attribution/billing-formats.ts';
import { RESULT_TABLES } from '../../lib/attribution/stages.ts';
import { cur2Columns, RESULT_COLUMNS } from '../../lib/catalog/glue-schemas.ts';

/**
 * The output column names of a SELECT file: the aliases (or bare column names) of the last top-level
 * SELECT list, the one that starts at the beginning of a line. Good enough for the house style of
 * athena/attribution/*.sql; a statement it cannot read makes the test fail loudly, not pass.
 */
function selectedColumns(file: string): string[] {
  const sql = readFileSync(new URL(`../../athena/attribution/${file}`, import.meta.url), 'utf8').replace(
    /--[^\n]*/g,
    '',
  );
  const start = [...sql.matchAll(/^SELECT\b/gm)].at(-1)?.index;
  if (start === undefined) throw new Error(`${file}: no SELECT at the start of a line`);
  const rest = sql.slice(start + 'SELECT'.length);
  const end = rest.search(/^FROM\b/m);
  if (end < 0) throw new Error(`${file}: no FROM at the start of a line`);
  const items: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of rest.slice(0, end)) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (char === ',' && depth === 0) {
      items.push(current);
      current = '';
    } else current += char;
  }
  items.push(current);
  return items.map((item) => {
    const text = item.trim();
    const name =
      /\bAS\s+([a-z_][a-z0-9_]*)$/i.exec(text)?.[1] ?? /(?:^|\.)([a-z_][a-z0-9_]*)$/i.exec(text)?.[1];
    if (!name) throw new Error(`${file}: cannot name the output column of ${JSON.stringify(text)}`);
    return name;
  });
}

describe('Glue schemas agree with the SQL', () => {
  it.each(RESULT_TABLES)('%s has the columns its SQL selects, billing_period as the partition', (table) => {
    const selected = selectedColumns(`${table}.sql`);
    expect(selected).toContain('billing_period');
    expect(RESULT_COLUMNS[table].map((column) => column.name)).toEqual(
      selected.filter((name) => name !== 'billing_period'),
    );
  });

  it('result columns have Athena types that the SQL produces', () => {
    for (const table of RESULT_TABLES) {
      for (const column of RESULT_COLUMNS[table]) {
        const expected =
          column.name === 'usage_date'
            ? 'date'
            : /cost|mrr|pct|quantity/.test(column.name)
              ? 'double'
              : 'string';
        expect(column.type, `${table}.${column.name}`).toBe(expected);
      }
    }
  });

  it('cur2 declares exactly the CUR 2.0 columns the normalization reads, Hive-typed', () => {
    const columns = cur2Columns('tenant_id');
    expect(columns.map((column) => column.name)).toEqual(
      BILLING_FORMATS.cur2.columns('tenant_id').map((column) => column.name),
    );
    expect(new Set(columns.map((column) => column.type))).toEqual(
      new Set(['timestamp', 'string', 'double', 'map<string,string>']),
    );
  });
});
