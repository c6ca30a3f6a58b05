import type { QueryReader, Row } from '../engine/query-engine.ts';
import { loadSqlFile, renderSql, type SqlFragment, sqlIdentifier, trustedSql } from '../sql/sql-template.ts';

/*
 * The finance views of docs/finance.md: their registry and their SQL, for every engine. Free of DuckDB and
 * of the file system beyond the SQL files, so a Lambda can bundle it (the stack creates the views in
 * Athena, lambdas/create-finance-views.ts); lib/local/query-command.ts adds the local commands.
 */

/** Tables the finance views read: the run's results tables and the customer dimension. */
export const FINANCE_SOURCE_TABLES = [
  'customer_daily_cost',
  'customer_daily_service_cost',
  'unattributed_cost',
  'daily_summary',
  'customer_daily_usage',
  'customers',
] as const;
export type FinanceSourceTable = (typeof FINANCE_SOURCE_TABLES)[number];

/** The views of docs/finance.md, in dependency order (a view only depends on views listed before it). */
export const FINANCE_VIEW_NAMES = [
  'customer_monthly_cost',
  'tier_margin',
  'cost_outliers',
  'free_tier_economics',
  'customer_service_breakdown',
  'customer_cost_trend',
  'cost_growth_vs_customer_growth',
  'unattributed_cost',
  'unit_cost',
  'customer_unit_cost',
  'cost_reconciliation',
] as const;
export type FinanceViewName = (typeof FINANCE_VIEW_NAMES)[number];

/** One finance view: one SELECT in `athena/finance/`, whose header comment holds its definitions. */
export interface FinanceView {
  /** Path below `athena/`. */
  readonly file: string;
  /** What the view answers, in one line. */
  readonly description: string;
  /** The columns that identify a row (the grain of docs/finance.md); also the order rows are listed in. */
  readonly grain: readonly string[];
  /** Source tables, each referenced as the placeholder `${name}`. */
  readonly tables: readonly FinanceSourceTable[];
  /** Finance views the SQL reads as `${name}`; they are inlined as subqueries when rendered. */
  readonly views: readonly FinanceViewName[];
  /**
   * A question finance asks of the view, as a query over `${view}`: saved as a named query in the
   * Athena workgroup and shown in the README.
   */
  readonly example: { readonly title: string; readonly sql: string };
}

/**
 * The registry. `unattributed_cost` has the name docs/finance.md gives it, which is also the name of the
 * results table it reads, so finance views live in their own namespace: the schema
 * {@link FINANCE_SCHEMA} locally, their own database (or a prefix) in Athena.
 */
export const FINANCE_VIEWS: Readonly<Record<FinanceViewName, FinanceView>> = {
  customer_monthly_cost: {
    file: 'finance/customer_monthly_cost.sql',
    description: 'Cost, direct, shared, MRR, cost / MRR and margin per customer and billing month',
    grain: ['billing_period', 'customer_id'],
    tables: ['customer_daily_cost', 'daily_summary'],
    views: [],
    example: {
      title: 'Customers costing the most against what they pay, last complete month',
      sql: 'SELECT customer_id, customer_name, tier, total_cost, mrr, cost_to_mrr, margin\nFROM ${view}\nWHERE billing_period = (SELECT max(billing_period) FROM ${view} WHERE is_complete)\nORDER BY cost_to_mrr DESC\nLIMIT 20',
    },
  },
  tier_margin: {
    file: 'finance/tier_margin.sql',
    description:
      'Customers, cost, MRR, mean and median cost per customer, attributed and fully loaded margin by tier and plan status',
    grain: ['billing_period', 'tier', 'plan_status'],
    tables: ['daily_summary'],
    views: ['customer_monthly_cost'],
    example: {
      title: 'Infrastructure margin by tier and plan status, attributed and fully loaded, month by month',
      sql: 'SELECT billing_period, tier, plan_status, customers, total_cost, total_mrr, median_cost_per_customer, margin, fully_loaded_cost, fully_loaded_margin, is_complete\nFROM ${view}\nORDER BY billing_period DESC, fully_loaded_margin',
    },
  },
  cost_outliers: {
    file: 'finance/cost_outliers.sql',
    description: "Paid customers whose cost / MRR is above their tier's Q3 + 1.5 x IQR",
    grain: ['billing_period', 'customer_id'],
    tables: [],
    views: ['customer_monthly_cost'],
    example: {
      title: "Customers whose cost / MRR is far above their tier's",
      sql: 'SELECT billing_period, customer_name, tier, cost_to_mrr, upper_fence, is_complete\nFROM ${view}\nORDER BY billing_period DESC, cost_to_mrr DESC',
    },
  },
  free_tier_economics: {
    file: 'finance/free_tier_economics.sql',
    description: 'Cost of free and trial accounts, its share, and the share of their top 10% and 20%',
    grain: ['billing_period'],
    tables: [],
    views: ['customer_monthly_cost'],
    example: {
      title: 'What free and trial accounts cost, and how concentrated it is',
      sql: 'SELECT billing_period, free_trial_accounts, free_trial_cost, share_of_customer_cost, top_10pct_share, top_20pct_share, is_complete\nFROM ${view}\nORDER BY billing_period DESC',
    },
  },
  customer_service_breakdown: {
    file: 'finance/customer_service_breakdown.sql',
    description: "Cost and share of the customer's month by service",
    grain: ['billing_period', 'customer_id', 'service'],
    tables: ['customer_daily_service_cost', 'daily_summary'],
    views: [],
    example: {
      title: 'Customers whose cost is mostly one service, latest month',
      sql: 'SELECT customer_id, service, cost, share_of_customer_cost\nFROM ${view}\nWHERE billing_period = (SELECT max(billing_period) FROM ${view}) AND share_of_customer_cost >= 0.5\nORDER BY cost DESC',
    },
  },
  customer_cost_trend: {
    file: 'finance/customer_cost_trend.sql',
    description: 'Month-over-month cost growth against MRR growth per customer',
    grain: ['billing_period', 'customer_id'],
    tables: [],
    views: ['customer_monthly_cost'],
    example: {
      title: 'Customers whose cost grows faster than their revenue',
      sql: 'SELECT billing_period, customer_name, total_cost, cost_growth, mrr_growth, is_complete\nFROM ${view}\nWHERE cost_outgrows_mrr\nORDER BY billing_period DESC, cost_growth DESC',
    },
  },
  cost_growth_vs_customer_growth: {
    file: 'finance/cost_growth_vs_customer_growth.sql',
    description: 'Rolling 90-day cost growth against active-customer growth, per day',
    grain: ['usage_date'],
    tables: ['daily_summary', 'customers'],
    views: [],
    example: {
      title: 'Is infrastructure getting more efficient as we grow? (below 1: yes)',
      sql: 'SELECT usage_date, cost_growth, customer_growth, efficiency\nFROM ${view}\nWHERE window_complete\nORDER BY usage_date DESC\nLIMIT 30',
    },
  },
  unattributed_cost: {
    file: 'finance/unattributed_cost.sql',
    description:
      "Unattributed cost by day, reason and service, with its share of the day's attributable cost",
    grain: ['usage_date', 'reason', 'service'],
    tables: ['unattributed_cost', 'daily_summary'],
    views: [],
    example: {
      title: 'Where cost that reaches no customer came from, last 30 days',
      sql: "SELECT reason, service, sum(cost) AS cost\nFROM ${view}\nWHERE usage_date >= current_date - INTERVAL '30' DAY\nGROUP BY reason, service\nORDER BY cost DESC",
    },
  },
  unit_cost: {
    file: 'finance/unit_cost.sql',
    description:
      'Cost per unit of its metric (per 1,000 for counts, per GB-month for bytes) and per active customer, per metric-driven rule and service',
    grain: ['billing_period', 'rule_id', 'service', 'metric'],
    tables: ['customer_daily_service_cost', 'customer_daily_usage', 'customer_daily_cost', 'daily_summary'],
    views: [],
    example: {
      title: 'What 1,000 requests and a GB-month cost, rule by rule, month by month',
      sql: 'SELECT billing_period, rule_id, metric, unit, sum(cost) AS cost, max(units) AS units, sum(cost) / max(units) AS cost_per_unit, sum(cost_per_active_customer) AS cost_per_active_customer, is_complete\nFROM ${view}\nGROUP BY billing_period, rule_id, metric, unit, is_complete\nORDER BY billing_period DESC, rule_id',
    },
  },
  customer_unit_cost: {
    file: 'finance/customer_unit_cost.sql',
    description: "A customer's cost per unit of its own usage of each metric, against all customers' average",
    grain: ['billing_period', 'customer_id', 'metric'],
    tables: ['customer_daily_service_cost', 'customer_daily_usage', 'customer_daily_cost', 'daily_summary'],
    views: [],
    example: {
      title: 'Customers whose usage costs the most per unit, latest month',
      sql: 'SELECT customer_id, customer_name, metric, unit, units, metric_cost, cost_per_unit, average_cost_per_unit, customer_cost_per_unit\nFROM ${view}\nWHERE billing_period = (SELECT max(billing_period) FROM ${view}) AND units > 0\nORDER BY customer_cost_per_unit DESC\nLIMIT 20',
    },
  },
  cost_reconciliation: {
    file: 'finance/cost_reconciliation.sql',
    description:
      'The waterfall from the bill to paid customers: excluded, unattributed by reason, free/trial, paid, each with its share',
    grain: ['billing_period'],
    tables: ['daily_summary', 'unattributed_cost', 'customer_daily_cost'],
    views: [],
    example: {
      title: 'From the invoice to paid customer cost, month by month',
      sql: 'SELECT billing_period, bill_total, excluded_cost, unattributed_cost, unattributed_share, free_trial_cost, free_trial_share, paid_cost, paid_share, unreconciled_cost, is_complete\nFROM ${view}\nORDER BY billing_period DESC',
    },
  },
};

/** The DuckDB schema that holds the finance views locally. */
export const FINANCE_SCHEMA = 'finance';

export function isFinanceViewName(name: string): name is FinanceViewName {
  return (FINANCE_VIEW_NAMES as readonly string[]).includes(name);
}

/** Source tables a view reads, its own and those of the views it inlines. */
export function sourceTablesOf(name: FinanceViewName): FinanceSourceTable[] {
  const view = FINANCE_VIEWS[name];
  return [...new Set([...view.tables, ...view.views.flatMap((dependency) => sourceTablesOf(dependency))])];
}

/**
 * SELECTs several views share, one text each, spliced in by placeholder name (`${day_labels}`): a view
 * whose tables include a fragment's gets it. In order: a fragment may splice in one listed before it.
 */
export const SHARED_FRAGMENTS: readonly {
  readonly name: string;
  readonly file: string;
  readonly tables: readonly FinanceSourceTable[];
}[] = [
  // The billing months: complete or open, calendar days.
  { name: 'billing_months', file: 'finance/billing_months.sql', tables: ['daily_summary'] },
  // The billing month each usage day counts in.
  { name: 'day_labels', file: 'finance/day_labels.sql', tables: ['daily_summary'] },
  // Customer cost shared by metric drivers, with its month and metric.
  {
    name: 'metric_driver_costs',
    file: 'finance/metric_driver_costs.sql',
    tables: ['daily_summary', 'customer_daily_service_cost'],
  },
];

/**
 * The SELECT of a finance view, with each source table given by `tableRef` (for example
 * `"cost_per_customer"."customer_daily_cost"` in Athena) and each finance view it depends on inlined as a
 * parenthesized subquery. Strict: a placeholder the registry does not fill is an error.
 */
export function renderFinanceView(name: FinanceViewName, tableRef: (table: string) => string): string {
  const view = FINANCE_VIEWS[name];
  const values: Record<string, SqlFragment> = {};
  for (const table of view.tables) values[table] = trustedSql(tableRef(table));
  // Newlines around the inlined view: its last line may end in a comment.
  for (const dependency of view.views) {
    values[dependency] = trustedSql(`(\n${renderFinanceView(dependency, tableRef)}\n)`);
  }
  for (const fragment of SHARED_FRAGMENTS) {
    if (!fragment.tables.every((table) => view.tables.includes(table))) continue;
    // Newlines around it: the file starts with comment lines.
    values[fragment.name] = trustedSql(`\n${renderSql(loadSqlFile(fragment.file), values, fragment.file)}\n`);
  }
  return renderSql(loadSqlFile(view.file), values, view.file);
}

/** The reference to a finance view in a schema (DuckDB) or database (Athena). */
export function financeViewRef(name: FinanceViewName, schema: string = FINANCE_SCHEMA): string {
  return `${sqlIdentifier(schema).sql}.${sqlIdentifier(name).sql}`;
}

/** One `CREATE OR REPLACE VIEW` statement, named after its view. */
export interface FinanceViewStatement {
  readonly view: FinanceViewName;
  readonly sql: string;
}

/**
 * `CREATE OR REPLACE VIEW "<schema>"."<view>" AS <select>` for each view, in registry order, each SELECT
 * rendered with `tableRef`: the same statements create the views in DuckDB (`cpc query`) and in Athena
 * (the stack's custom resource).
 */
export function createFinanceViewStatements(
  schema: string,
  tableRef: (table: string) => string,
  names: readonly FinanceViewName[] = FINANCE_VIEW_NAMES,
): FinanceViewStatement[] {
  return names.map((view) => ({
    view,
    sql: `CREATE OR REPLACE VIEW ${financeViewRef(view, schema)} AS\n${renderFinanceView(view, tableRef)}`,
  }));
}

/** The example query of a view (see {@link FinanceView.example}), over the view at `viewRef`. */
export function renderFinanceExample(name: FinanceViewName, viewRef: string): string {
  return renderSql(FINANCE_VIEWS[name].example.sql, { view: trustedSql(viewRef) }, `${name} example`);
}

/** `SELECT * FROM <from>` in the order of the view's grain. */
export function orderedSelect(name: FinanceViewName, from: string): string {
  const order = FINANCE_VIEWS[name].grain.map((column) => sqlIdentifier(column).sql).join(', ');
  return `SELECT * FROM ${from} ORDER BY ${order}`;
}

/** Runs a finance view on an engine whose source tables exist; rows in the order of the view's grain. */
export async function runFinanceView(engine: QueryReader, name: FinanceViewName): Promise<Row[]> {
  const select = renderFinanceView(name, (table) => engine.tableRef(table));
  return engine.query(orderedSelect(name, `(\n${select}\n) AS finance_view`));
}
