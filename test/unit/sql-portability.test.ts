import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TrinoSQL } from 'dt-sql-parser';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ALERT_CONFIG, parseAlertConfig } from '../../lib/alerts/alert-config.ts';
import { ALERT_TYPES } from '../../lib/alerts/alert-types.ts';
import {
  alertPlaceholderValues,
  renderAlertSql,
  WINDOW_CURRENCY_FILE,
} from '../../lib/alerts/evaluate-alerts.ts';
import { BILLING_FORMAT_NAMES, BILLING_FORMATS } from '../../lib/attribution/billing-formats.ts';
import { defaultRules, parseRules } from '../../lib/attribution/rules.ts';
import { ATTRIBUTION_STEPS, billingSources, placeholderValues } from '../../lib/attribution/stages.ts';
import type { QueryEngine } from '../../lib/engine/query-engine.ts';
import { loadSqlFile, renderSql, SQL_ROOT, sqlStringList } from '../../lib/sql/sql-template.ts';

/** Every SQL file shipped for both engines. */
function sqlFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory()
        ? walk(join(dir, entry.name))
        : entry.name.endsWith('.sql')
          ? [join(dir, entry.name)]
          : [],
    );
  return walk(SQL_ROOT);
}

/** SQL text without comments or string literals, so checks see only code. */
function codeOnly(sql: string): string {
  return sql.replace(/--.*$/gm, '').replace(/'(?:[^']|'')*'/g, "''");
}

/** An engine that only names tables the way Athena will (database-qualified). */
const athenaLikeEngine: QueryEngine = {
  tableRef: (name) => `"cost_per_customer"."run_test_${name}"`,
  createTable: async () => undefined,
  createView: async () => undefined,
  query: async () => [],
};

/** Every attribution statement: the stored stages and the checks (both read the same placeholders). */
const attributionFiles = ATTRIBUTION_STEPS.flatMap((step) => (step.kind === 'inline' ? [] : [step.file]));

// A rules file that exercises every kind of match, with values that need quoting.
const trickyRules = parseRules(
  {
    version: "v1 'quoted'",
    costBasis: 'net_amortized',
    tenantTagKey: 'tenant:id',
    rules: [
      { id: 'tax', match: { lineItemTypes: ['Tax'] }, action: 'exclude' },
      {
        id: 'network',
        match: {
          services: ["O'Service"],
          accounts: ['111122223333'],
          usageTypeLike: ['%DataTransfer%', 'USE1-%'],
        },
        driver: 'requests',
      },
      { id: 'rest', match: {}, driver: 'even' },
    ],
  },
  'test',
);

describe('the shared SQL is Trino (Athena engine v3) SQL', () => {
  const parser = new TrinoSQL();

  for (const format of BILLING_FORMAT_NAMES) {
    for (const rules of [defaultRules(), trickyRules]) {
      it(`parses every attribution statement for ${format} with rules ${rules.version}`, () => {
        for (const file of attributionFiles) {
          const values = placeholderValues(athenaLikeEngine.tableRef, {
            runId: 'r-1',
            rules,
            sources: billingSources(BILLING_FORMATS[format]),
          });
          const sql = renderSql(loadSqlFile(file), values, file);
          expect({ file, errors: parser.validate(sql) }).toEqual({ file, errors: [] });
        }
      });
    }
  }

  it('parses every alert statement', () => {
    // Unit-cost targets of both scopes and both kinds, with a quote in a value: unit_cost_target has a
    // query only with targets.
    const config = parseAlertConfig(
      {
        unitCostTargets: [
          { id: 'search', scope: { rule: "o'search" }, per: 'customer', target: 0.08, team: 'team-search' },
          {
            id: 'api',
            scope: { service: 'AmazonApiGateway' },
            per: { metric: 'requests', unit: 1000 },
            target: 1e-7,
          },
        ],
      },
      'test',
    );
    for (const type of ALERT_TYPES) {
      const sql = renderAlertSql(type, athenaLikeEngine, '2026-10-30', config);
      expect({ type: type.name, errors: parser.validate(sql) }).toEqual({ type: type.name, errors: [] });
    }
    const values = {
      ...alertPlaceholderValues(athenaLikeEngine, '2026-10-30', DEFAULT_ALERT_CONFIG),
      customer_ids: sqlStringList(["o'brien", 'acme']),
    };
    const sql = renderSql(loadSqlFile('alerts/top_services.sql'), values, 'top_services.sql');
    const owner = renderSql(loadSqlFile('alerts/cost_owner.sql'), values, 'cost_owner.sql');
    expect({ file: 'cost_owner.sql', errors: parser.validate(owner) }).toEqual({
      file: 'cost_owner.sql',
      errors: [],
    });
    expect({ file: 'top_services.sql', errors: parser.validate(sql) }).toEqual({
      file: 'top_services.sql',
      errors: [],
    });
    const currencySql = renderSql(loadSqlFile(WINDOW_CURRENCY_FILE), values, WINDOW_CURRENCY_FILE);
    expect({ file: WINDOW_CURRENCY_FILE, errors: parser.validate(currencySql) }).toEqual({
      file: WINDOW_CURRENCY_FILE,
      errors: [],
    });
  });

  it('catches DuckDB-only syntax (the check itself can fail)', () => {
    expect(parser.validate("SELECT MAP {'a': 1} AS m").length).toBeGreaterThan(0);
    expect(parser.validate('SELECT x FROM t WHERE').length).toBeGreaterThan(0);
  });
});

const MAP_SUBSCRIPT = /\w\s*\[\s*['$]/;
const UNGUARDED_DIVISION = /\/\s*(?!NULLIF\(|CAST\()[A-Za-z_(0-9]/;
const DIFFERING_FUNCTIONS = /\bdate_diff\s*\(|\bdate_add\s*\(|\bdate_trunc\s*\(|\bstrftime\s*\(|::/i;

describe('the shared SQL avoids constructs that differ between Trino and DuckDB', () => {
  const files = sqlFiles();

  it('the checks below catch each trap', () => {
    expect(codeOnly("SELECT resource_tags['user_tenant_id'] FROM t")).toMatch(MAP_SUBSCRIPT);
    expect(codeOnly("SELECT element_at(resource_tags, 'user_tenant_id') FROM t")).not.toMatch(MAP_SUBSCRIPT);
    expect(codeOnly('SELECT a / b, c / 2 FROM t')).toMatch(UNGUARDED_DIVISION);
    expect(codeOnly('SELECT a / NULLIF(b, 0), c / CAST(n AS double) FROM t')).not.toMatch(UNGUARDED_DIVISION);
    expect(codeOnly("SELECT date_diff('day', a, b) FROM t")).toMatch(DIFFERING_FUNCTIONS);
    expect(codeOnly("SELECT x::date, '--/ x' AS y FROM t -- a / b")).toMatch(DIFFERING_FUNCTIONS);
  });

  it('finds the SQL files', () => {
    expect(files.map((f) => f.slice(SQL_ROOT.length + 1))).toEqual(
      expect.arrayContaining(['attribution/allocated_cost.sql', 'attribution/line_items_cur.sql']),
    );
  });

  it.each(files.map((f) => [f.slice(SQL_ROOT.length + 1), f]))(
    '%s never subscripts a map with [...]',
    (_name, file) => {
      // Trino fails the whole query on the first row that lacks the key; element_at returns NULL.
      expect(codeOnly(readFileSync(file, 'utf8'))).not.toMatch(MAP_SUBSCRIPT);
    },
  );

  it.each(files.map((f) => [f.slice(SQL_ROOT.length + 1), f]))('%s guards every division', (_name, file) => {
    // x / 0 differs by engine, and integer / integer truncates only in Trino.
    expect(codeOnly(readFileSync(file, 'utf8'))).not.toMatch(UNGUARDED_DIVISION);
  });

  it.each(files.map((f) => [f.slice(SQL_ROOT.length + 1), f]))(
    '%s uses no function whose meaning differs (date_diff, date_add, date_trunc on dates)',
    (_name, file) => {
      expect(codeOnly(readFileSync(file, 'utf8'))).not.toMatch(DIFFERING_FUNCTIONS);
    },
  );

  it.each(files.map((f) => [f.slice(SQL_ROOT.length + 1), f]))('%s is one statement', (_name, file) => {
    const code = codeOnly(readFileSync(file, 'utf8')).trim().replace(/;$/, '');
    expect(code).not.toContain(';');
  });
});
