import { describe, expect, it } from 'vitest';
import { loadSqlFile } from '../../lib/sql/sql-template.ts';

// line_items_cur.sql writes its costed line items out twice (see the file's header: a CTE read twice
// is materialised by DuckDB). The two copies must stay the same text.
describe('line_items_cur.sql', () => {
  it('has two identical copies of the costed line items', () => {
    const sql = loadSqlFile('attribution/line_items_cur.sql');
    const copy = (n: number) => {
      const start = sql.indexOf(`-- costed line items, copy ${n} of 2 (keep identical)\n`);
      const end = sql.indexOf(`-- end of copy ${n}\n`);
      expect(start, `copy ${n} start`).toBeGreaterThan(0);
      expect(end, `copy ${n} end`).toBeGreaterThan(start);
      return sql.slice(sql.indexOf('\n', start) + 1, end);
    };
    expect(copy(1).length).toBeGreaterThan(1000);
    expect(copy(2)).toBe(copy(1));
  });
});
