import { readFileSync } from 'node:fs';
import { TrinoSQL } from 'dt-sql-parser';
import { describe, expect, it } from 'vitest';
import {
  FINANCE_SOURCE_TABLES,
  FINANCE_VIEW_NAMES,
  FINANCE_VIEWS,
  isFinanceViewName,
  renderFinanceExample,
  renderFinanceView,
  SHARED_FRAGMENTS,
  sourceTablesOf,
} from '../../lib/finance/finance-registry.ts';
import { formatTable } from '../../lib/finance/format-table.ts';
import { loadSqlFile, placeholdersOf } from '../../lib/sql/sql-template.ts';

/** Table references as Athena has them: database-qualified and quoted. */
const athenaRef = (table: string) => `"cost_per_customer"."${table}"`;

describe('the finance views are Trino (Athena engine v3) SQL', () => {
  const parser = new TrinoSQL();

  it.each(FINANCE_VIEW_NAMES)('%s renders with qualified table names and parses as Trino SQL', (name) => {
    const sql = renderFinanceView(name, athenaRef);
    expect(sql).not.toContain('${');
    for (const table of sourceTablesOf(name)) expect(sql).toContain(athenaRef(table));
    expect(parser.validate(sql)).toEqual([]);
    // Also as the body of the view Athena will create.
    expect(parser.validate(`CREATE OR REPLACE VIEW "finance"."${name}" AS\n${sql}`)).toEqual([]);
  });

  it('accepts a source given as a subquery (the Athena engine types the customers table that way)', () => {
    const typed = (table: string) =>
      table === 'customers'
        ? `(SELECT customer_id, CAST(nullif(trim(start_date), '') AS date) AS start_date,` +
          ` CAST(nullif(trim(end_date), '') AS date) AS end_date FROM "cost_per_customer"."customers")`
        : athenaRef(table);
    expect(parser.validate(renderFinanceView('cost_growth_vs_customer_growth', typed))).toEqual([]);
  });

  it('the parser check itself can fail', () => {
    expect(parser.validate('SELECT x FROM t WHERE').length).toBeGreaterThan(0);
    expect(
      parser.validate(`SELECT * FROM (\n${renderFinanceView('tier_margin', athenaRef)}`).length,
    ).toBeGreaterThan(0);
  });
});

describe('the finance view registry', () => {
  it.each(FINANCE_VIEW_NAMES)('%s lists exactly the placeholders of its file', (name) => {
    const view = FINANCE_VIEWS[name];
    // A shared fragment stands for the tables it reads: a view that splices one in reads them too.
    const placeholders = placeholdersOf(loadSqlFile(view.file)).flatMap(
      (p): readonly string[] => SHARED_FRAGMENTS.find((fragment) => fragment.name === p)?.tables ?? [p],
    );
    expect([...new Set(placeholders)].sort()).toEqual([...view.tables, ...view.views].sort());
    expect(view.file).toBe(`finance/${name}.sql`);
    expect(view.description.length).toBeGreaterThan(0);
    expect(view.description).not.toContain('\n');
  });

  it.each(FINANCE_VIEW_NAMES)('%s starts with a header comment that names it', (name) => {
    expect(loadSqlFile(FINANCE_VIEWS[name].file)).toMatch(new RegExp(`^-- ${name} \\(docs/finance\\.md\\)`));
  });

  it('lists dependencies before the views that use them, and only known tables', () => {
    FINANCE_VIEW_NAMES.forEach((name, index) => {
      for (const dependency of FINANCE_VIEWS[name].views) {
        expect(FINANCE_VIEW_NAMES.indexOf(dependency)).toBeLessThan(index);
      }
      for (const table of FINANCE_VIEWS[name].tables) expect(FINANCE_SOURCE_TABLES).toContain(table);
    });
  });

  it('inlines a view it depends on as a subquery', () => {
    const sql = renderFinanceView('tier_margin', athenaRef);
    expect(sql).toContain(`FROM (\n${renderFinanceView('customer_monthly_cost', athenaRef)}\n)`);
    expect(sourceTablesOf('tier_margin').sort()).toEqual(['customer_daily_cost', 'daily_summary']);
  });

  it('knows which views need the customer dimension', () => {
    expect(FINANCE_VIEW_NAMES.filter((name) => sourceTablesOf(name).includes('customers'))).toEqual([
      'cost_growth_vs_customer_growth',
    ]);
  });

  it.each(FINANCE_VIEW_NAMES)(
    "%s's saved query is the one the README shows, and the docs describe the view",
    (name) => {
      const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
      const docs = readFileSync(new URL('../../docs/finance.md', import.meta.url), 'utf8');
      expect(readme).toContain(`${renderFinanceExample(name, `"cost_per_customer_finance"."${name}"`)};`);
      expect(readme).toContain(`| \`${name}\` |`);
      expect(docs).toContain(`### ${name}\n`);
    },
  );

  it('recognizes view names', () => {
    expect(isFinanceViewName('unattributed_cost')).toBe(true);
    expect(isFinanceViewName('customers')).toBe(false);
  });
});

describe('formatTable', () => {
  it('aligns columns, rounds numbers to 2 decimals for display and right-aligns them', () => {
    const text = formatTable([
      { tier: 'enterprise', customers: 2, cost: 1234.5678, margin: null, is_complete: true },
      { tier: 'self-serve', customers: 12, cost: -0.001, margin: 0.755, is_complete: false },
    ]);
    expect(text.split('\n')).toEqual([
      'tier        customers     cost  margin  is_complete',
      '----------  ---------  -------  ------  -----------',
      'enterprise          2  1234.57          true',
      'self-serve         12     0.00    0.76  false',
      '(2 rows)',
    ]);
  });

  it('says when there are no rows', () => {
    expect(formatTable([])).toBe('(no rows)');
    expect(
      formatTable([{ a: 1 }])
        .split('\n')
        .at(-1),
    ).toBe('(1 row)');
  });
});
