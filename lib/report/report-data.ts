import { type Alert, type AlertType, SEVERITY_RANK, type Severity } from '../alerts/alert.ts';
import { targetRows, type UnitCostTarget } from '../alerts/types/unit_cost_target.ts';
import type { CostBasis } from '../attribution/rules.ts';
import { currencyOfResults } from '../common/money.ts';
import type { QueryReader, Row } from '../engine/query-engine.ts';
import { renderFinanceView } from '../finance/finance-registry.ts';
import {
  loadSqlFile,
  renderSql,
  type SqlFragment,
  sqlNumber,
  sqlString,
  trustedSql,
} from '../sql/sql-template.ts';

/** The report's queries, one SELECT each in `athena/report/`, run per billing month by {@link buildReportData}. */
export const REPORT_QUERY_FILES = {
  days: 'report/report_days.sql',
  customers: 'report/report_customers.sql',
  tierMargin: 'report/report_tier_margin.sql',
  freeTier: 'report/report_free_tier.sql',
  reconciliation: 'report/report_reconciliation.sql',
  customerDays: 'report/report_customer_days.sql',
  customerServices: 'report/report_customer_services.sql',
  customerUnitCosts: 'report/report_customer_unit_costs.sql',
  unitCosts: 'report/report_unit_costs.sql',
  unitTargets: 'report/report_unit_targets.sql',
  movers: 'report/report_movers.sql',
} as const;
export type ReportQueryName = keyof typeof REPORT_QUERY_FILES;

/** The customers a month's report lists, spliced into its queries as `${listed_customers}`. */
const LISTED_CUSTOMERS_FILE = 'report/listed_customers.sql';

/** The query that lists a run's billing periods (see {@link billingPeriodsOf}). */
export const BILLING_PERIODS_FILE = 'report/billing_periods.sql';

/** How many customers the report lists by default; the rest of each tier is shown as one block. */
export const DEFAULT_MAX_CUSTOMERS = 1000;

/**
 * How many customers the worst-margins table ranks by cost / MRR. They are listed beside the costliest,
 * so that a small customer that costs more than it pays is named even when it is far from the costliest.
 */
export const WORST_MARGINS = 10;

/**
 * How many of the costliest customers of a month get a drill-down (and the worst margins): at 5,000
 * customers over three months this keeps the report under 3 MB (bench/report.bench.ts). The others are
 * still in the treemap and the tables, without their daily line and breakdowns.
 */
export const DRILL_DOWN_CUSTOMERS = 250;

/** How many customers the top-movers table lists: the largest changes of cost from the previous month. */
export const TOP_MOVERS = 10;

const BILLING_PERIOD = /^\d{4}-(0[1-9]|1[0-2])$/;

/** An alert as the report shows it next to a customer: its type and severity. */
export interface ReportAlertBadge {
  readonly type: AlertType;
  readonly severity: Severity;
}

/** One customer's month (a row of the finance view customer_monthly_cost). */
export interface ReportCustomer {
  readonly customerId: string;
  readonly name: string;
  readonly tier: string;
  readonly planStatus: string;
  /** Monthly recurring revenue as on the customer's latest usage day; 0 for free and trial accounts. */
  readonly mrr: number;
  readonly totalCost: number;
  readonly directCost: number;
  readonly sharedCost: number;
  /** totalCost / mrr over the billing month; null when mrr is 0. */
  readonly costToMrr: number | null;
  readonly daysWithCost: number;
  /** The run's alerts about this customer, most severe first. */
  readonly alerts: readonly ReportAlertBadge[];
}

/** Margin of one tier and plan status (a row of the finance view tier_margin). */
export interface ReportTier {
  readonly tier: string;
  readonly planStatus: string;
  readonly customers: number;
  readonly totalCost: number;
  readonly totalMrr: number;
  readonly meanCostPerCustomer: number;
  readonly medianCostPerCustomer: number;
  readonly costToMrr: number | null;
  /** Infrastructure gross margin 1 - totalCost / totalMrr; null without revenue. */
  readonly margin: number | null;
  /**
   * totalCost plus the row's MRR-weighted share of the month's unattributed cost and free/trial subsidy
   * (finance view tier_margin); null for free and trial rows, whose cost is in that subsidy.
   */
  readonly fullyLoadedCost: number | null;
  /** 1 - fullyLoadedCost / totalMrr; null without revenue. */
  readonly fullyLoadedMargin: number | null;
}

/** One usage day of daily_summary. */
export interface ReportDay {
  readonly date: string;
  readonly totalCost: number;
  readonly directCost: number;
  readonly sharedCost: number;
  /** directCost + sharedCost. */
  readonly attributedCost: number;
  readonly unattributedCost: number;
  readonly excludedCost: number;
  /** unattributed / (total - excluded), 0 when that is 0. */
  readonly unattributedPct: number;
  /** Whether attributed + unattributed + excluded = total within 1e-6 x max(1, |total|). */
  readonly conserved: boolean;
  readonly conservationDifference: number;
}

/** Free and trial accounts in the month (the finance view free_tier_economics). */
export interface ReportFreeTier {
  readonly accounts: number;
  readonly freeCost: number;
  readonly trialCost: number;
  readonly freeTrialCost: number;
  /** Cost of all customers (paid, trial and free). */
  readonly customerCost: number;
  readonly shareOfCustomerCost: number | null;
  /** ceil(10% of accounts), highest cost first. */
  readonly top10PctAccounts: number;
  /** Share of the free and trial cost taken by those accounts; null when that cost is 0. */
  readonly top10PctShare: number | null;
  readonly top20PctAccounts: number;
  readonly top20PctShare: number | null;
}

/**
 * The waterfall from the bill to paying customers' cost in the month (the finance view
 * cost_reconciliation): bill = excluded + unattributed + free/trial + paid, unreconciled 0.
 */
export interface ReportReconciliation {
  readonly billTotal: number;
  readonly excludedCost: number;
  readonly unattributedCost: number;
  /** The unattributed cost by reason (docs/attribution.md section 4); the reasons sum to unattributedCost. */
  readonly unattributedByReason: {
    readonly unknownTenant: number;
    readonly noRule: number;
    readonly noUsageSignal: number;
    readonly noActiveCustomers: number;
    readonly noRevenue: number;
    readonly other: number;
  };
  readonly freeTrialCost: number;
  readonly freeTrialCustomers: number;
  readonly paidCost: number;
  readonly paidCustomers: number;
  /** What the steps leave unexplained: 0 within the conservation tolerance. */
  readonly unreconciledCost: number;
}

/** An alert of the run, as listed in the report. */
export interface ReportAlert {
  readonly type: AlertType;
  readonly severity: Severity;
  readonly asOf: string;
  readonly subject: string;
  readonly customerId: string | null;
  readonly customerName: string | null;
  readonly value: number;
  readonly threshold: number;
  readonly explanation: string;
}

/** Totals of the billing period over daily_summary. */
export interface ReportTotals {
  readonly totalCost: number;
  readonly directCost: number;
  readonly sharedCost: number;
  readonly attributedCost: number;
  readonly unattributedCost: number;
  readonly excludedCost: number;
  /** unattributed / (total - excluded) over the period; null when that is 0. */
  readonly unattributedShare: number | null;
}

export interface ReportConservation {
  /** True when every day of the period conserves cost (also when there are no days). */
  readonly holds: boolean;
  readonly daysChecked: number;
  /** Days on which it does not hold. */
  readonly breachDays: readonly string[];
  readonly maxAbsDifference: number;
}

/** A customer whose cost changed from the previous month (report_movers.sql). */
export interface ReportMover {
  readonly customerId: string;
  readonly name: string;
  readonly tier: string;
  readonly planStatus: string;
  /** The month's cost; 0 for a customer with cost only in the previous month. */
  readonly totalCost: number;
  /** The previous month's cost; 0 for a customer new this month. */
  readonly previousCost: number;
  /** totalCost - previousCost. */
  readonly costChange: number;
  /** costChange / previousCost; null when previousCost is 0. */
  readonly costGrowth: number | null;
}

/** A rule's cost per unit of its metric in the month (the finance view unit_cost). */
export interface ReportUnitCost {
  readonly ruleId: string;
  readonly service: string;
  readonly driver: string;
  readonly metric: string;
  /** `1,000 requests` for a count, `GB-month` for bytes. */
  readonly unit: string;
  readonly cost: number;
  readonly units: number;
  /** cost / units; null when units is 0. */
  readonly costPerUnit: number | null;
  readonly activeCustomers: number;
  readonly costPerActiveCustomer: number | null;
}

/** A configured unit-cost target measured over the month (report_unit_targets.sql). */
export interface ReportUnitTarget {
  readonly targetId: string;
  readonly scopeKind: 'rule' | 'service';
  readonly scope: string;
  /** The metric it is per unit of; null for a target per active customer. */
  readonly metric: string | null;
  /** How many units of the metric the target is for (1,000 requests); 1 per customer. */
  readonly perUnit: number;
  readonly team: string | null;
  /** The month's unit cost; null when the month has no quantity of the metric. */
  readonly measured: number | null;
  readonly target: number;
}

/**
 * A customer's cost per unit of its own usage of a metric (the finance view customer_unit_cost): the
 * metric as an index into {@link ReportDrillDownNames.metrics}, the units used, the cost of the rules
 * driven by the metric, that cost per unit, and the customer's whole cost per unit.
 */
export type ReportCustomerUnitCost = readonly [
  metric: number,
  units: number,
  metricCost: number,
  costPerUnit: number | null,
  customerCostPerUnit: number | null,
];

/** An amount of a customer's month by one name of {@link ReportDrillDownNames} (its index). */
export type ReportNamedCost = readonly [name: number, cost: number];

/**
 * The names the month's drill-downs refer to by index: each is written once per month rather than once
 * per customer, which keeps the file small (a customer's month has some 20 services and 40 service and
 * rule pairs).
 */
export interface ReportDrillDownNames {
  /** (provider, service) pairs. */
  readonly services: readonly (readonly [provider: string, service: string])[];
  readonly rules: readonly string[];
  /** Each metric with its unit (`1,000 requests`, `GB-month`) and the average cost per unit over all customers. */
  readonly metrics: readonly {
    readonly metric: string;
    readonly unit: string;
    readonly averageCostPerUnit: number | null;
  }[];
}

/** What a customer's drill-down shows beside its row of {@link ReportMonth.customers}. */
export interface ReportDrillDown {
  /** Cost on each day of {@link ReportMonth.days} (same order); null on a day without cost. */
  readonly dailyCost: readonly (number | null)[];
  /**
   * The MRR in force on each of those days (null without cost) when it changed during the month; null
   * when it is the customer's `mrr` on every day with cost (most customers), to keep the file small.
   */
  readonly dailyMrr: readonly (number | null)[] | null;
  /** Cost by (provider, service), highest first; they sum to the customer's totalCost. */
  readonly services: readonly ReportNamedCost[];
  /** Cost by rule (`direct` for tagged cost), highest first; they sum to the customer's totalCost. */
  readonly rules: readonly ReportNamedCost[];
  readonly unitCosts: readonly ReportCustomerUnitCost[];
}

/**
 * Everything the report shows for one billing month, unrounded (the page rounds; the file embeds the
 * drill-downs' amounts to a millionth, lib/report/render-report.ts).
 */
export interface ReportMonth {
  /** YYYY-MM. */
  readonly billingPeriod: string;
  /** Whether the month is complete (finance view customer_monthly_cost); null without customer cost. */
  readonly isComplete: boolean | null;
  readonly firstDay: string | null;
  readonly lastDay: string | null;
  readonly totals: ReportTotals;
  readonly conservation: ReportConservation;
  /** Customers with cost in the month, including any beyond {@link customers}. */
  readonly customerCount: number;
  /**
   * Highest cost first: the `maxCustomers` costliest, and the {@link WORST_MARGINS} with the highest cost /
   * MRR when they are not among them.
   */
  readonly customers: readonly ReportCustomer[];
  /**
   * The drill-downs, by customer id, of the {@link DRILL_DOWN_CUSTOMERS} costliest customers and of the
   * {@link WORST_MARGINS} worst margins: the data that makes the file grow with customers.
   */
  readonly drillDowns: Readonly<Record<string, ReportDrillDown>>;
  readonly drillDownNames: ReportDrillDownNames;
  readonly tiers: readonly ReportTier[];
  readonly days: readonly ReportDay[];
  readonly freeTier: ReportFreeTier | null;
  /** The month's waterfall; null when the month has no billing data. */
  readonly reconciliation: ReportReconciliation | null;
  /** The calendar month before, when the run holds it (month-over-month and movers); else null. */
  readonly previousPeriod: string | null;
  /** The {@link TOP_MOVERS} largest changes of cost from the previous month; empty without it. */
  readonly movers: readonly ReportMover[];
  readonly unitCosts: readonly ReportUnitCost[];
  /** The configured unit-cost targets, measured over the month; empty without targets. */
  readonly unitTargets: readonly ReportUnitTarget[];
}

/** Everything the HTML report shows. */
export interface ReportData {
  readonly version: 2;
  readonly runId: string;
  readonly rulesVersion: string;
  /** How each line item's cost was read from the bill (docs/attribution.md): amortized, net_amortized or unblended. */
  readonly costBasis: CostBasis;
  /**
   * The ISO 4217 currency of every amount, read from the results (daily_summary's `currency`): the run's
   * one currency; `USD` for a run without billing data.
   */
  readonly currency: string;
  /** Every billing month of the run, oldest first: the month selector's choices. */
  readonly months: readonly ReportMonth[];
  /** The month the report opens on ({@link defaultReportPeriod}); null when the run has no billing data. */
  readonly defaultPeriod: string | null;
  /** The evaluation day of the alerts; null when none were evaluated. */
  readonly alertsAsOf: string | null;
  /** Every alert of the run, most severe first. */
  readonly alerts: readonly ReportAlert[];
  /** The run's warnings (docs/attribution.md 6.2): results that are probably not what was meant. */
  readonly warnings: readonly string[];
}

export interface BuildReportOptions {
  /** Every billing month of the run (YYYY-MM); empty for a run without billing data (nothing is queried). */
  readonly billingPeriods: readonly string[];
  /** The month the report opens on. @default the last of billingPeriods */
  readonly defaultPeriod?: string | null;
  readonly runId: string;
  readonly rulesVersion: string;
  /** The cost basis of the run's rules. */
  readonly costBasis: CostBasis;
  /** The run's alerts; customer alerts are attached to their customer. */
  readonly alerts: readonly Alert[];
  /** The day the alerts were evaluated as of. @default the `asOf` of the first alert, else null */
  readonly alertsAsOf?: string | null;
  /** The alert configuration's unit-cost targets, measured over each month. @default none */
  readonly unitCostTargets?: readonly UnitCostTarget[];
  /** The run's warnings. @default none */
  readonly warnings?: readonly string[];
  /** @default {@link DEFAULT_MAX_CUSTOMERS} */
  readonly maxCustomers?: number;
  /** @default {@link DRILL_DOWN_CUSTOMERS} */
  readonly drillDownCustomers?: number;
}

function checkBillingPeriod(period: string): void {
  if (!BILLING_PERIOD.test(period))
    throw new RangeError(`Not a YYYY-MM billing period: ${JSON.stringify(period)}`);
}

/** The calendar month before a YYYY-MM billing period. */
export function monthBefore(period: string): string {
  checkBillingPeriod(period);
  const [year, month] = period.split('-').map(Number) as [number, number];
  return month === 1 ? `${year - 1}-12` : `${year}-${String(month - 1).padStart(2, '0')}`;
}

/**
 * A VALUES row no target has (every value NULL, so the query's `target_id IS NOT NULL` drops it): without
 * targets the query stays valid SQL and returns no rows, on every engine.
 */
const NO_TARGET_ROW = trustedSql(
  `(${['varchar', 'varchar', 'varchar', 'varchar', 'double', 'double', 'varchar'].map((type) => `CAST(NULL AS ${type})`).join(', ')})`,
);

export interface ReportQueryOptions {
  /** @default {@link DEFAULT_MAX_CUSTOMERS} */
  readonly maxCustomers?: number;
  /** @default none */
  readonly unitCostTargets?: readonly UnitCostTarget[];
}

/**
 * The report's SELECTs for a billing period, with the results tables named by `tableRef`, the finance
 * views they read inlined as subqueries (as `runFinanceView` does) and the listed customers
 * (listed_customers.sql) inlined where a query is about them. The movers compare with the calendar month
 * before.
 */
export function renderReportQueries(
  tableRef: (table: string) => string,
  billingPeriod: string,
  options: ReportQueryOptions = {},
): Record<ReportQueryName, string> {
  checkBillingPeriod(billingPeriod);
  const maxCustomers = options.maxCustomers ?? DEFAULT_MAX_CUSTOMERS;
  if (!Number.isInteger(maxCustomers) || maxCustomers < 1) {
    throw new RangeError(`maxCustomers must be a positive integer, not ${maxCustomers}`);
  }
  const targets = options.unitCostTargets ?? [];
  const values: Record<string, SqlFragment> = {
    billing_period: sqlString(billingPeriod),
    previous_period: sqlString(monthBefore(billingPeriod)),
    max_customers: sqlNumber(maxCustomers),
    worst_margins: sqlNumber(WORST_MARGINS),
    top_movers: sqlNumber(TOP_MOVERS),
    targets: targets.length === 0 ? NO_TARGET_ROW : targetRows(targets),
  };
  for (const table of [
    'daily_summary',
    'customer_daily_cost',
    'customer_daily_service_cost',
    'customer_daily_usage',
  ] as const) {
    values[table] = trustedSql(tableRef(table));
  }
  // Newlines around an inlined view: its last line may end in a comment.
  for (const view of [
    'customer_monthly_cost',
    'tier_margin',
    'free_tier_economics',
    'cost_reconciliation',
    'unit_cost',
    'customer_unit_cost',
  ] as const) {
    values[view] = trustedSql(`(\n${renderFinanceView(view, tableRef)}\n)`);
  }
  values.listed_customers = trustedSql(
    `(\n${renderSql(loadSqlFile(LISTED_CUSTOMERS_FILE), values, LISTED_CUSTOMERS_FILE)}\n)`,
  );
  const queries = {} as Record<ReportQueryName, string>;
  for (const [name, file] of Object.entries(REPORT_QUERY_FILES) as [ReportQueryName, string][]) {
    queries[name] = renderSql(loadSqlFile(file), values, file);
  }
  return queries;
}

/** The SELECT listing the billing periods of the results tables named by `tableRef`. */
export function renderBillingPeriodsQuery(tableRef: (table: string) => string): string {
  return renderSql(
    loadSqlFile(BILLING_PERIODS_FILE),
    { daily_summary: trustedSql(tableRef('daily_summary')) },
    BILLING_PERIODS_FILE,
  );
}

/** A billing period of a run's results and its number of days with billing data. */
export interface ReportPeriod {
  readonly billingPeriod: string;
  readonly days: number;
}

/** The billing periods (YYYY-MM) of a finished run's results with their days, oldest first. */
export async function reportPeriodsOf(engine: QueryReader): Promise<ReportPeriod[]> {
  const rows = await engine.query(renderBillingPeriodsQuery((table) => engine.tableRef(table)));
  return rows.map((row) => ({ billingPeriod: String(row.billing_period), days: Number(row.days) }));
}

/** The billing periods (YYYY-MM) of a finished run's results, oldest first; empty for an empty run. */
export async function billingPeriodsOf(engine: QueryReader): Promise<string[]> {
  return (await reportPeriodsOf(engine)).map((period) => period.billingPeriod);
}

/** Days of data from which a period is the one a report opens on (docs/finance.md, the report). */
export const MIN_REPORT_DAYS = 7;

/**
 * The period a run's report shows: the latest with at least {@link MIN_REPORT_DAYS} days of data, else
 * the latest; null for a run without billing data. A delivery that carries one late line of the next
 * month does not make the report open on a nearly empty month.
 */
export function defaultReportPeriod(periods: readonly ReportPeriod[]): string | null {
  const full = periods.filter((period) => period.days >= MIN_REPORT_DAYS);
  return (full.at(-1) ?? periods.at(-1))?.billingPeriod ?? null;
}

const num = (value: Row[string] | undefined): number =>
  value === null || value === undefined ? 0 : Number(value);
const numOrNull = (value: Row[string] | undefined): number | null =>
  value === null || value === undefined || value === '' ? null : Number(value);
const text = (value: Row[string] | undefined): string =>
  value === null || value === undefined ? '' : String(value);
const bool = (value: Row[string] | undefined): boolean => value === true || value === 'true';

function bySeverity<T extends { readonly severity: Severity; readonly type: string }>(a: T, b: T): number {
  return SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || a.type.localeCompare(b.type);
}

function reportAlert(alert: Alert): ReportAlert {
  return {
    type: alert.type,
    severity: alert.severity,
    asOf: alert.asOf,
    subject: alert.subject,
    customerId: alert.customerId,
    customerName: alert.customerName,
    value: alert.value,
    threshold: alert.threshold,
    explanation: alert.explanation,
  };
}

function totalsOf(days: readonly ReportDay[]): ReportTotals {
  const sum = (field: keyof ReportDay) => days.reduce((total, day) => total + (day[field] as number), 0);
  const totalCost = sum('totalCost');
  const excludedCost = sum('excludedCost');
  const unattributedCost = sum('unattributedCost');
  const attributable = totalCost - excludedCost;
  return {
    totalCost,
    directCost: sum('directCost'),
    sharedCost: sum('sharedCost'),
    attributedCost: sum('attributedCost'),
    unattributedCost,
    excludedCost,
    unattributedShare: attributable === 0 ? null : unattributedCost / attributable,
  };
}

const EMPTY_TOTALS = totalsOf([]);

/**
 * Reads what the HTML report shows for every billing month of a finished run from its results tables,
 * through any {@link QueryReader}: DuckDB in a local run, the run's results on Athena when deployed.
 * Runs the report's queries ({@link REPORT_QUERY_FILES}) for each month, one at a time, none for a run
 * without billing data. Totals, unattributed share and the conservation status are sums over the daily
 * rows; the currency is the one the daily rows name (`MixedCurrencyError` of lib/common/money.ts if they
 * name two).
 */
export async function buildReportData(engine: QueryReader, options: BuildReportOptions): Promise<ReportData> {
  const alerts = options.alerts.map(reportAlert).sort(bySeverity);
  const periods = [...options.billingPeriods].sort();
  for (const period of periods) checkBillingPeriod(period);
  const defaultPeriod =
    options.defaultPeriod !== undefined ? options.defaultPeriod : (periods.at(-1) ?? null);
  if (defaultPeriod !== null && !periods.includes(defaultPeriod)) {
    throw new RangeError(`The default month ${defaultPeriod} is not one of the run's: ${periods.join(', ')}`);
  }
  const months: ReportMonth[] = [];
  const currencies: (string | null)[] = [];
  for (const period of periods) {
    const previous = monthBefore(period);
    const month = await buildReportMonth(engine, period, {
      previousPeriod: periods.includes(previous) ? previous : null,
      alerts,
      maxCustomers: options.maxCustomers,
      unitCostTargets: options.unitCostTargets,
      drillDownCustomers: options.drillDownCustomers ?? DRILL_DOWN_CUSTOMERS,
    });
    months.push(month.month);
    currencies.push(...month.currencies);
  }
  return {
    version: 2,
    runId: options.runId,
    rulesVersion: options.rulesVersion,
    costBasis: options.costBasis,
    currency: currencyOfResults(
      currencies,
      periods.length === 1 ? `the results of billing month ${periods[0]}` : 'the results of the run',
    ),
    months,
    defaultPeriod,
    alertsAsOf: options.alertsAsOf !== undefined ? options.alertsAsOf : (alerts[0]?.asOf ?? null),
    alerts,
    warnings: [...(options.warnings ?? [])],
  };
}

interface MonthOptions extends ReportQueryOptions {
  readonly previousPeriod: string | null;
  readonly drillDownCustomers: number;
  readonly alerts: readonly ReportAlert[];
}

/** One month of the report, and the currencies its daily rows name. */
async function buildReportMonth(
  engine: QueryReader,
  period: string,
  options: MonthOptions,
): Promise<{ readonly month: ReportMonth; readonly currencies: (string | null)[] }> {
  const queries = renderReportQueries((table) => engine.tableRef(table), period, options);
  // One at a time: an Athena-backed engine would otherwise start them all against the account's
  // concurrency quota at once, and DuckDB runs one statement per connection anyway.
  const run = (name: ReportQueryName) => engine.query(queries[name]);
  const dayRows = await run('days');
  const customerRows = await run('customers');
  const tierRows = await run('tierMargin');
  const freeTierRows = await run('freeTier');
  const reconciliationRows = await run('reconciliation');
  const customerDayRows = await run('customerDays');
  const customerServiceRows = await run('customerServices');
  const customerUnitCostRows = await run('customerUnitCosts');
  const unitCostRows = await run('unitCosts');
  const unitTargetRows = (options.unitCostTargets ?? []).length > 0 ? await run('unitTargets') : [];
  const moverRows = options.previousPeriod === null ? [] : await run('movers');

  const days: ReportDay[] = dayRows.map((row) => ({
    date: text(row.usage_date),
    totalCost: num(row.total_cost),
    directCost: num(row.direct_cost),
    sharedCost: num(row.shared_cost),
    attributedCost: num(row.attributed_cost),
    unattributedCost: num(row.unattributed_cost),
    excludedCost: num(row.excluded_cost),
    unattributedPct: num(row.unattributed_pct),
    conserved: bool(row.conserved),
    conservationDifference: num(row.conservation_difference),
  }));

  const badges = new Map<string, ReportAlertBadge[]>();
  for (const alert of options.alerts) {
    if (alert.customerId === null) continue;
    const list = badges.get(alert.customerId) ?? [];
    list.push({ type: alert.type, severity: alert.severity });
    badges.set(alert.customerId, list);
  }
  const customers: ReportCustomer[] = customerRows.map((row) => ({
    customerId: text(row.customer_id),
    name: text(row.customer_name),
    tier: text(row.tier),
    planStatus: text(row.plan_status),
    mrr: num(row.mrr),
    totalCost: num(row.total_cost),
    directCost: num(row.direct_cost),
    sharedCost: num(row.shared_cost),
    costToMrr: numOrNull(row.cost_to_mrr),
    daysWithCost: num(row.days_with_cost),
    alerts: badges.get(text(row.customer_id)) ?? [],
  }));

  const tiers: ReportTier[] = tierRows.map((row) => ({
    tier: text(row.tier),
    planStatus: text(row.plan_status),
    customers: num(row.customers),
    totalCost: num(row.total_cost),
    totalMrr: num(row.total_mrr),
    meanCostPerCustomer: num(row.mean_cost_per_customer),
    medianCostPerCustomer: num(row.median_cost_per_customer),
    costToMrr: numOrNull(row.cost_to_mrr),
    margin: numOrNull(row.margin),
    fullyLoadedCost: numOrNull(row.fully_loaded_cost),
    fullyLoadedMargin: numOrNull(row.fully_loaded_margin),
  }));

  const free = freeTierRows[0];
  const freeTier: ReportFreeTier | null =
    free === undefined
      ? null
      : {
          accounts: num(free.free_trial_accounts),
          freeCost: num(free.free_cost),
          trialCost: num(free.trial_cost),
          freeTrialCost: num(free.free_trial_cost),
          customerCost: num(free.customer_cost),
          shareOfCustomerCost: numOrNull(free.share_of_customer_cost),
          top10PctAccounts: num(free.top_10pct_accounts),
          top10PctShare: numOrNull(free.top_10pct_share),
          top20PctAccounts: num(free.top_20pct_accounts),
          top20PctShare: numOrNull(free.top_20pct_share),
        };

  const steps = reconciliationRows[0];
  const reconciliation: ReportReconciliation | null =
    steps === undefined
      ? null
      : {
          billTotal: num(steps.bill_total),
          excludedCost: num(steps.excluded_cost),
          unattributedCost: num(steps.unattributed_cost),
          unattributedByReason: {
            unknownTenant: num(steps.unknown_tenant_cost),
            noRule: num(steps.no_rule_cost),
            noUsageSignal: num(steps.no_usage_signal_cost),
            noActiveCustomers: num(steps.no_active_customers_cost),
            noRevenue: num(steps.no_revenue_cost),
            other: num(steps.other_reason_cost),
          },
          freeTrialCost: num(steps.free_trial_cost),
          freeTrialCustomers: num(steps.free_trial_customers),
          paidCost: num(steps.paid_cost),
          paidCustomers: num(steps.paid_customers),
          unreconciledCost: num(steps.unreconciled_cost),
        };

  const breaches = days.filter((day) => !day.conserved);
  const firstCustomer = customerRows[0];
  const month: ReportMonth = {
    billingPeriod: period,
    isComplete: firstCustomer === undefined ? null : bool(firstCustomer.is_complete),
    firstDay: days[0]?.date ?? null,
    lastDay: days.at(-1)?.date ?? null,
    totals: days.length === 0 ? EMPTY_TOTALS : totalsOf(days),
    conservation: {
      holds: breaches.length === 0,
      daysChecked: days.length,
      breachDays: breaches.map((day) => day.date),
      maxAbsDifference: days.reduce((max, day) => Math.max(max, Math.abs(day.conservationDifference)), 0),
    },
    customerCount: tiers.reduce((total, tier) => total + tier.customers, 0),
    customers,
    ...drillDownsOf(
      customers,
      options.drillDownCustomers,
      days,
      customerDayRows,
      customerServiceRows,
      customerUnitCostRows,
    ),
    tiers,
    days,
    freeTier,
    reconciliation,
    previousPeriod: options.previousPeriod,
    movers: moverRows.map((row) => ({
      customerId: text(row.customer_id),
      name: text(row.customer_name),
      tier: text(row.tier),
      planStatus: text(row.plan_status),
      totalCost: num(row.total_cost),
      previousCost: num(row.previous_cost),
      costChange: num(row.cost_change),
      costGrowth: numOrNull(row.cost_growth),
    })),
    unitCosts: unitCostRows.map((row) => ({
      ruleId: text(row.rule_id),
      service: text(row.service),
      driver: text(row.driver),
      metric: text(row.metric),
      unit: text(row.unit),
      cost: num(row.cost),
      units: num(row.units),
      costPerUnit: numOrNull(row.cost_per_unit),
      activeCustomers: num(row.active_customers),
      costPerActiveCustomer: numOrNull(row.cost_per_active_customer),
    })),
    unitTargets: unitTargetRows.map((row) => ({
      targetId: text(row.target_id),
      scopeKind: text(row.scope_kind) === 'rule' ? 'rule' : 'service',
      scope: text(row.scope_value),
      metric: row.metric === null || row.metric === undefined ? null : text(row.metric),
      perUnit: num(row.per_unit),
      team: row.team === null || row.team === undefined ? null : text(row.team),
      measured: numOrNull(row.measured),
      target: num(row.target),
    })),
  };
  const currencies = dayRows.map((row) =>
    row.currency === null || row.currency === undefined ? null : String(row.currency),
  );
  return { month, currencies };
}

/** Index of each name in the order first met: the month's dictionary of drill-down names. */
class Names<T> {
  readonly list: T[] = [];
  private readonly index = new Map<string, number>();
  of(value: T): number {
    const key = JSON.stringify(value);
    let at = this.index.get(key);
    if (at === undefined) {
      at = this.list.length;
      this.list.push(value);
      this.index.set(key, at);
    }
    return at;
  }
}

/** Sums costs by name index, highest first (ties by index, so the order is stable). */
function byName(costs: Map<number, number>): ReportNamedCost[] {
  return [...costs].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
}

/**
 * The drill-downs of the month's `costliest` customers and its worst margins, from the
 * rows of their three queries (which cover every listed customer), with the names they share.
 */
function drillDownsOf(
  customers: readonly ReportCustomer[],
  costliest: number,
  days: readonly ReportDay[],
  dayRows: readonly Row[],
  serviceRows: readonly Row[],
  unitCostRows: readonly Row[],
): { drillDowns: Record<string, ReportDrillDown>; drillDownNames: ReportDrillDownNames } {
  const worst = customers
    .filter((customer) => customer.costToMrr !== null)
    .sort((a, b) => (b.costToMrr ?? 0) - (a.costToMrr ?? 0) || a.customerId.localeCompare(b.customerId))
    .slice(0, WORST_MARGINS);
  const drilled = [...new Set([...customers.slice(0, costliest), ...worst])];
  const dayIndex = new Map(days.map((day, i) => [day.date, i]));
  const services = new Names<readonly [string, string]>();
  const rules = new Names<string>();
  const metrics = new Names<string>();
  const metricFacts = new Map<number, { unit: string; averageCostPerUnit: number | null }>();
  interface Parts {
    readonly dailyCost: (number | null)[];
    readonly dailyMrr: (number | null)[];
    readonly services: Map<number, number>;
    readonly rules: Map<number, number>;
    readonly unitCosts: ReportCustomerUnitCost[];
  }
  const parts = new Map<string, Parts>();
  for (const customer of drilled) {
    parts.set(customer.customerId, {
      dailyCost: days.map(() => null),
      dailyMrr: days.map(() => null),
      services: new Map(),
      rules: new Map(),
      unitCosts: [],
    });
  }
  for (const row of dayRows) {
    const part = parts.get(text(row.customer_id));
    const i = dayIndex.get(text(row.usage_date));
    // A day of customer cost is always a day of the summary; were it not, it would be left out of the line.
    if (part === undefined || i === undefined) continue;
    part.dailyCost[i] = num(row.total_cost);
    part.dailyMrr[i] = num(row.mrr);
  }
  for (const row of serviceRows) {
    const part = parts.get(text(row.customer_id));
    if (part === undefined) continue;
    const cost = num(row.cost);
    const service = services.of([text(row.provider), text(row.service)]);
    const rule = rules.of(text(row.rule_id));
    part.services.set(service, (part.services.get(service) ?? 0) + cost);
    part.rules.set(rule, (part.rules.get(rule) ?? 0) + cost);
  }
  for (const row of unitCostRows) {
    const part = parts.get(text(row.customer_id));
    if (part === undefined) continue;
    const metric = metrics.of(text(row.metric));
    metricFacts.set(metric, {
      unit: text(row.unit),
      averageCostPerUnit: numOrNull(row.average_cost_per_unit),
    });
    part.unitCosts.push([
      metric,
      num(row.units),
      num(row.metric_cost),
      numOrNull(row.cost_per_unit),
      numOrNull(row.customer_cost_per_unit),
    ]);
  }
  const drillDowns: Record<string, ReportDrillDown> = {};
  for (const customer of drilled) {
    const part = parts.get(customer.customerId);
    if (part === undefined) continue;
    const mrrConstant = part.dailyMrr.every((mrr) => mrr === null || mrr === customer.mrr);
    drillDowns[customer.customerId] = {
      dailyCost: part.dailyCost,
      dailyMrr: mrrConstant ? null : part.dailyMrr,
      services: byName(part.services),
      rules: byName(part.rules),
      unitCosts: part.unitCosts,
    };
  }
  return {
    drillDowns,
    drillDownNames: {
      services: services.list,
      rules: rules.list,
      metrics: metrics.list.map((metric, i) => ({
        metric,
        unit: metricFacts.get(i)?.unit ?? '',
        averageCostPerUnit: metricFacts.get(i)?.averageCostPerUnit ?? null,
      })),
    },
  };
}
