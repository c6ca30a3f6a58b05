import * as z from 'zod';
import { mapLimit } from '../common/concurrency.ts';
import { addDays } from '../common/dates.ts';
import { currencyOfResults } from '../common/money.ts';
import type { QueryReader, Row } from '../engine/query-engine.ts';
import {
  loadSqlFile,
  loadSqlSource,
  renderSql,
  type SqlFragment,
  sqlDate,
  sqlNumber,
  sqlStringList,
  trustedSql,
} from '../sql/sql-template.ts';
import type { Alert, ServiceCost } from './alert.ts';
import type { AlertConfig } from './alert-config.ts';
import type { AlertFinding, AlertTypeDefinition } from './alert-type.ts';
import { ALERT_TYPES } from './alert-types.ts';

// The alert windows are counted in calendar days; callers of the evaluation import the helper from here.
export { addDays } from '../common/dates.ts';

/** The default evaluation day: the latest usage day minus one (its delivery is still incomplete). */
export async function defaultAsOf(engine: QueryReader): Promise<string | null> {
  const [row] = await engine.query(
    `SELECT CAST(max(usage_date) AS varchar) AS last_day FROM ${engine.tableRef('daily_summary')}`,
  );
  return row?.last_day ? addDays(String(row.last_day), -1) : null;
}

/**
 * How many alert queries run at once: within any Athena workgroup's concurrency (the account default
 * is 20 DML queries at once, shared with the run's other work).
 */
export const ALERT_QUERY_CONCURRENCY = 3;

/** The fragment of the customers active on D, with their fields: the `active_customers` placeholder. */
export const ACTIVE_CUSTOMERS_FILE = 'alerts/active_customers.sql';

/** Tables an alert query may read, each as the placeholder `${name}`. */
const ALERT_SOURCE_TABLES = [
  'customers',
  'customer_daily_cost',
  'customer_daily_service_cost',
  'customer_daily_usage',
  'daily_summary',
];

/**
 * Placeholder values every alert query gets: the windows ending at `asOf`, the top-services count, the
 * tables and the customers active on D (`active_customers`, {@link ACTIVE_CUSTOMERS_FILE}). A type adds its own from its thresholds ({@link AlertTypeDefinition.placeholders}).
 */
export function alertPlaceholderValues(
  engine: QueryReader,
  asOf: string,
  config: Pick<AlertConfig, 'topServices'>,
): Record<string, SqlFragment> {
  const values: Record<string, SqlFragment> = {
    as_of: sqlDate(asOf),
    window_start: sqlDate(addDays(asOf, -29)),
    trend_start: sqlDate(addDays(asOf, -13)),
    previous_end: sqlDate(addDays(asOf, -7)),
    current_start: sqlDate(addDays(asOf, -6)),
    top_count: sqlNumber(config.topServices),
  };
  for (const table of ALERT_SOURCE_TABLES) values[table] = trustedSql(engine.tableRef(table));
  // The customers active on D, one fragment for every customer rule (rendered with the values above).
  values.active_customers = trustedSql(
    renderSql(loadSqlFile(ACTIVE_CUSTOMERS_FILE), values, ACTIVE_CUSTOMERS_FILE),
  );
  return values;
}

/**
 * A type's own thresholds from the configuration: its fields, validated, with the type's defaults for
 * fields the configuration lacks (a type the configuration schema was not composed with, as in a test).
 */
export function thresholdsOf(type: AlertTypeDefinition, config: AlertConfig): Record<string, unknown> {
  return z.object(type.thresholds).parse(config);
}

/** The SELECT of a type as of `asOf`: its SQL with the common placeholders and its own. */
export function renderAlertSql(
  type: AlertTypeDefinition,
  engine: QueryReader,
  asOf: string,
  config: AlertConfig,
): string {
  const common = alertPlaceholderValues(engine, asOf, config);
  const own = type.placeholders?.(thresholdsOf(type, config), asOf) ?? {};
  const clash = Object.keys(own).filter((name) => name in common);
  if (clash.length > 0) throw new Error(`${type.name} redefines common placeholder(s) ${clash.join(', ')}`);
  const { template, source } = loadSqlSource(type.sql);
  return renderSql(template, { ...common, ...own }, source);
}

/** The owner team of each rule that names one (`owner` in the rules file), by rule id. */
export type RuleOwners = Readonly<Record<string, string>>;

/** The rule owners of a rules list, for {@link evaluateAlerts}. */
export function ruleOwnersOf(rules: readonly { readonly id: string; readonly owner?: string }[]): RuleOwners {
  return Object.fromEntries(
    rules.flatMap((rule) => (rule.owner === undefined ? [] : [[rule.id, rule.owner]])),
  );
}

/** The query for the currency of the alert window's results (see {@link windowCurrency}). */
export const WINDOW_CURRENCY_FILE = 'alerts/window_currency.sql';

/**
 * The currency of the results the alerts as of `asOf` read: the `currency` of daily_summary over
 * [D-29, D]. Read from the results themselves, so the local run and the deployed evaluation (which reads
 * the visible run of each period in the window) cannot be told a different one. USD when the window has
 * no billing data; a {@link MixedCurrencyError} when its rows name two (results of runs in different
 * currencies), as no one figure could then be written in one currency.
 */
export async function windowCurrency(
  engine: QueryReader,
  asOf: string,
  config: Pick<AlertConfig, 'topServices'>,
): Promise<string> {
  const rows = await engine.query(
    renderSql(
      loadSqlFile(WINDOW_CURRENCY_FILE),
      alertPlaceholderValues(engine, asOf, config),
      WINDOW_CURRENCY_FILE,
    ),
  );
  return currencyOfResults(
    rows.map((row) => (row.window_currency === null ? null : String(row.window_currency))),
    `the results over ${addDays(asOf, -29)} to ${asOf}`,
  );
}

/**
 * Evaluates the alert rules of docs/alerts.md as of day `asOf` on the results tables of a finished run,
 * one query per type in `types` (the registry's list unless told). The window sums and thresholds run as
 * SQL on the engine (one small result whatever the number of customers); top services, routing and
 * wording happen here. Every alert carries the currency of the results it was evaluated on
 * ({@link windowCurrency}), in which its money is written. Returns alerts sorted by severity, then type
 * and subject.
 */
export async function evaluateAlerts(
  engine: QueryReader,
  asOf: string,
  config: AlertConfig,
  types: readonly AlertTypeDefinition[] = ALERT_TYPES,
  ruleOwners: RuleOwners = {},
): Promise<Alert[]> {
  const currency = await windowCurrency(engine, asOf, config);
  const evaluated = types
    .map((type) => ({ type, thresholds: thresholdsOf(type, config) }))
    .filter(({ type, thresholds }) => type.evaluates?.(thresholds) !== false);
  // The types' queries are independent: a few at a time (on Athena each waits seconds in the queue and
  // planning; DuckDB runs them one after another on its connection anyway), findings in list order.
  const rowsOfTypes = await mapLimit(evaluated, ALERT_QUERY_CONCURRENCY, ({ type }) =>
    engine.query(renderAlertSql(type, engine, asOf, config)),
  );
  const findings = evaluated.flatMap(({ type, thresholds }, index) =>
    type
      .findings(rowsOfTypes[index] ?? [], { asOf, thresholds, currency })
      .map((finding) => ({ type: type.name, finding })),
  );

  // One top-services query and one cost-owner query for the customers of every type's alerts.
  const customerIds = [...new Set(findings.flatMap(({ finding }) => finding.customer?.customerId ?? []))];
  const perCustomer = (file: string) =>
    engine.query(
      renderSql(
        loadSqlFile(file),
        { ...alertPlaceholderValues(engine, asOf, config), customer_ids: sqlStringList(customerIds) },
        file,
      ),
    );
  const [topServices, ownerRows] = await Promise.all([
    topServicesOf(customerIds, config, () => perCustomer('alerts/top_services.sql')),
    customerIds.length === 0 ? [] : perCustomer('alerts/cost_owner.sql'),
  ]);
  const costOwners = new Map<string, string>();
  for (const row of ownerRows) {
    const owner = ruleOwners[String(row.rule_id)] ?? config.serviceTeams[String(row.service)];
    if (owner !== undefined) costOwners.set(String(row.customer_id), owner);
  }
  const alerts = findings.map(({ type, finding }) =>
    toAlert(type, finding, { asOf, currency, config, topServices, costOwners }),
  );
  return alerts.sort(
    (a, b) =>
      a.severity.localeCompare(b.severity) ||
      a.type.localeCompare(b.type) ||
      a.subject.localeCompare(b.subject),
  );
}

async function topServicesOf(
  customerIds: readonly string[],
  config: AlertConfig,
  query: () => Promise<Row[]>,
): Promise<Map<string, ServiceCost[]>> {
  const byCustomer = new Map<string, ServiceCost[]>();
  if (customerIds.length === 0) return byCustomer;
  const rows = (await query()).sort((a, b) => Number(a.service_rank) - Number(b.service_rank));
  for (const row of rows) {
    const list = byCustomer.get(String(row.customer_id)) ?? [];
    const service = String(row.service);
    list.push({ service, cost: Number(row.cost), team: config.serviceTeams[service] ?? null });
    byCustomer.set(String(row.customer_id), list);
  }
  return byCustomer;
}

/** What every finding of an evaluation is turned into an alert with. */
interface AlertContext {
  readonly asOf: string;
  readonly currency: string;
  readonly config: AlertConfig;
  readonly topServices: ReadonlyMap<string, ServiceCost[]>;
  /** The team owning what contributed most to each customer's cost, when its rule or service has one. */
  readonly costOwners: ReadonlyMap<string, string>;
}

/**
 * A finding as an alert. The team is the one its type names (a unit-cost target's), else for a customer
 * alert the owner of what contributed most to the customer's cost (its rule's owner, else the service's
 * team), else the customer's owner team; else the default team.
 */
function toAlert(type: string, finding: AlertFinding, context: AlertContext): Alert {
  const { asOf, currency, config } = context;
  const { customer } = finding;
  const services = customer === null ? [] : (context.topServices.get(customer.customerId) ?? []);
  const costOwner = customer === null ? undefined : context.costOwners.get(customer.customerId);
  return {
    type,
    severity: finding.severity,
    asOf,
    subject: finding.subject,
    customerId: customer?.customerId ?? null,
    value: finding.value,
    threshold: finding.threshold,
    customerName: customer?.customerName ?? null,
    tier: customer?.tier ?? null,
    planStatus: customer?.planStatus ?? null,
    mrr: customer?.mrr ?? null,
    cost30d: customer?.cost30d ?? null,
    topServices: services,
    team: finding.team ?? costOwner ?? customer?.ownerTeam ?? config.defaultTeam,
    currency,
    explanation: finding.explanation,
    moneyAtStake: finding.moneyAtStake,
    ...finding.details,
    // Rising services (an anomaly's) name their owning team as top services do.
    ...(finding.details?.risingServices === undefined
      ? {}
      : {
          risingServices: finding.details.risingServices.map((s) => ({
            ...s,
            team: config.serviceTeams[s.service] ?? null,
          })),
        }),
  };
}
