import { describe, expect, it } from 'vitest';
import { CUR_FRAGMENTS } from '../../lib/attribution/billing-formats/cur-columns.ts';
import { BILLING_FORMATS } from '../../lib/attribution/billing-formats.ts';
import { defaultRules } from '../../lib/attribution/rules.ts';
import { billingSources, placeholderValues } from '../../lib/attribution/stages.ts';
import { loadSqlFile, renderSql, sqlString } from '../../lib/sql/sql-template.ts';

// line_items_cur.sql needs the cost of section 2 and the split weight in two places each (the small
// aggregates and the line items: a CTE read twice is materialised by DuckDB). Each is one fragment file,
// so both places compute the same cost by construction; the rendered SQL must hold each exactly twice.
describe('line_items_cur.sql', () => {
  for (const format of [BILLING_FORMATS.cur2, BILLING_FORMATS.legacy]) {
    for (const costBasis of ['amortized', 'net_amortized', 'unblended'] as const) {
      it(`splices the cost and the split weight twice each, identically (${format.name}, ${costBasis})`, () => {
        const rules = { ...defaultRules(), costBasis };
        const run = { runId: 'r', sources: billingSources(format), rules };
        const lineItems = String(placeholderValues((name) => name, run).line_items?.sql);
        for (const file of Object.values(CUR_FRAGMENTS)) {
          const expression = renderSql(loadSqlFile(file), { cost_basis: sqlString(costBasis) }, file);
          expect(expression.length).toBeGreaterThan(200);
          expect(lineItems.split(expression)).toHaveLength(3);
        }
        expect(lineItems).not.toMatch(/\$\{/);
      });
    }
  }
});
