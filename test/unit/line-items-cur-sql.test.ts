import { describe, expect, it } from 'vitest';
import { loadSqlFile } from '../../lib/sql/sql-template.ts';

// line_items_cur.sql writes its cost CASE twice (see the file's header: a CTE read twice
// is materialised by DuckDB). The two copies (parent_cost, line items) must stay the same text.
describe('line_items_cur.sql', () => {
  it('has two identical copies of the costed line items', () => {
    const sql = loadSqlFile('attribution/line_items_cur.sql');
    const copy = (n: number) => {
      const start = sql.indexOf(`-- cost, copy ${n} of 2\n`);
      const end = sql.indexOf(`-- end of copy ${n}\n`);
      expect(start, `copy ${n} start`).toBeGreaterThan(0);
      expect(end, `copy ${n} end`).toBeGreaterThan(start);
      return sql.slice(sql.indexOf('\n', start) + 1, end);
    };
    expect(copy(1).length).toBeGreaterThan(900);
    expect(copy(2)).toBe(copy(1));
  });
});
