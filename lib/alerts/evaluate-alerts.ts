import type { QueryReader, Row } from '../engine/query-engine.ts';
import {
  loadSqlFile,
  renderSql,
  type SqlFragment,
  sqlDate,
  sqlNumber,
  sqlStringList,
  trustedSql,
} from '../sql/sql-template.ts';
import type { Alert, ServiceCost } from './alert.ts';
import type { AlertConfig } from './alert-config.ts';

/** `isoDate` moved by `days` (negative: earlier), as YYYY-MM-DD. */
export function addDays(isoDate: string, days: number): string {
  const date = new Date(`${isoDate}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

/** The default evaluation day: the latest usage day minus one (its delivery is still incomplete). */
export async function defaultAsOf(engine: QueryReader): Promise<string | null> {
  const [row] = await engine.query(
    `SELECT CAST(max(usage_date) AS varchar) AS last_day FROM ${engine.tableRef('daily_summary')}`,
  );
  return row?.last_day ? addDays(String(row.last_day), -1) : null;
}

const money = (value: number) => `$${value.toFixed(2)}`;
const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

function optionalText(value: Row[string] | undefined): string | null {
  return value === null || value === undefined || value === '' ? null : String(value);
}

/** Placeholder values of the alert SQL files: the windows ending at `asOf`, thresholds, tables. */
export function alertPlaceholderValues(
  engine: QueryReader,
  asOf: string,
  config: AlertConfig,
): Record<string, SqlFragment> {
  const values: Record<string, SqlFragment> = {
    as_of: sqlDate(asOf),
    window_start: sqlDate(addDays(asOf, -29)),
    trend_start: sqlDate(addDays(asOf, -13)),
    previous_end: sqlDate(addDays(asOf, -7)),
    current_start: sqlDate(addDays(asOf, -6)),
    p1_ratio: sqlNumber(config.costToMrrP1),
    p2_ratio: sqlNumber(config.costToMrrP2),
    trend_growth: sqlNumber(config.trendGrowth),
    trend_min_increase: sqlNumber(config.trendMinIncrease),
    top_count: sqlNumber(config.topServices),
  };
  for (const table of ['customers', 'customer_daily_cost', 'customer_daily_service_cost', 'daily_summary']) {
    values[table] = trustedSql(engine.tableRef(table));
  }
  return values;
}

/**
 * Evaluates the alert rules of docs/alerts.md as of day `asOf` on the results tables of a finished run.
 * The window sums and thresholds run as SQL on the engine (one small result whatever the number of
 * customers); routing and wording happen here. Returns alerts sorted by severity, then type and subject.
 */
export async function evaluateAlerts(
  engine: QueryReader,
  asOf: string,
  config: AlertConfig,
): Promise<Alert[]> {
  const values = alertPlaceholderValues(engine, asOf, config);
  const run = (file: string, extra: Record<string, SqlFragment> = {}) =>
    engine.query(renderSql(loadSqlFile(`alerts/${file}`), { ...values, ...extra }, file));

  const customerRows = await run('customer_alerts.sql');
  const topServices = await topServicesOf(
    [...new Set(customerRows.map((r) => String(r.customer_id)))],
    (ids) => run('top_services.sql', { customer_ids: sqlStringList(ids) }),
    config,
  );
  const alerts: Alert[] = customerRows.map((row) => customerAlert(row, asOf, config, topServices));

  const medians = new Map(
    (await run('freemium_cliff.sql')).map((r) => [String(r.plan_status), Number(r.median_cost_30d)]),
  );
  const trialMedian = medians.get('trial');
  const paidMedian = medians.get('paid');
  if (trialMedian !== undefined && paidMedian !== undefined && trialMedian > paidMedian) {
    alerts.push(
      segmentAlert(asOf, config, {
        type: 'freemium_cliff',
        subject: 'trial_vs_paid',
        value: trialMedian,
        threshold: paidMedian,
        explanation:
          `The median trial customer costs ${money(trialMedian)} over 30 days, more than the median paying ` +
          `customer (${money(paidMedian)}).`,
      }),
    );
  }

  const [share] = await run('unattributed_share.sql');
  const unattributedShare = Number(share?.unattributed_share ?? 0);
  if (unattributedShare > config.unattributedShare) {
    alerts.push(
      segmentAlert(asOf, config, {
        type: 'unattributed_share',
        subject: 'account',
        value: unattributedShare,
        threshold: config.unattributedShare,
        explanation:
          `${percent(unattributedShare)} of attributable cost (${money(Number(share?.unattributed_cost))}) ` +
          `reached no customer over the last 7 days, above ${percent(config.unattributedShare)}.`,
      }),
    );
  }
  return alerts.sort(
    (a, b) =>
      a.severity.localeCompare(b.severity) ||
      a.type.localeCompare(b.type) ||
      a.subject.localeCompare(b.subject),
  );
}

async function topServicesOf(
  customerIds: readonly string[],
  query: (ids: readonly string[]) => Promise<Row[]>,
  config: AlertConfig,
): Promise<Map<string, ServiceCost[]>> {
  const byCustomer = new Map<string, ServiceCost[]>();
  if (customerIds.length === 0) return byCustomer;
  const rows = (await query(customerIds)).sort((a, b) => Number(a.service_rank) - Number(b.service_rank));
  for (const row of rows) {
    const list = byCustomer.get(String(row.customer_id)) ?? [];
    const service = String(row.service);
    list.push({ service, cost: Number(row.cost), team: config.serviceTeams[service] ?? null });
    byCustomer.set(String(row.customer_id), list);
  }
  return byCustomer;
}

function customerAlert(
  row: Row,
  asOf: string,
  config: AlertConfig,
  topServices: Map<string, ServiceCost[]>,
): Alert {
  const customerId = String(row.customer_id);
  const services = topServices.get(customerId) ?? [];
  const ownerTeam = optionalText(row.owner_team);
  const name = String(row.name || customerId);
  const cost30d = Number(row.cost_30d);
  const mrr = Number(row.mrr);
  const value = Number(row.measured);
  const isTrend = row.alert_type === 'cost_trend_7d';
  return {
    type: isTrend ? 'cost_trend_7d' : 'cost_to_mrr',
    severity: row.severity as Alert['severity'],
    asOf,
    subject: customerId,
    customerId,
    value,
    threshold: Number(row.threshold),
    customerName: name,
    tier: optionalText(row.tier),
    planStatus: optionalText(row.plan_status),
    mrr,
    cost30d,
    topServices: services,
    team: services[0]?.team ?? ownerTeam ?? config.defaultTeam,
    explanation: isTrend
      ? `${name}'s cost grew ${percent(value)} week over week, from ${money(Number(row.previous_7d))} to ` +
        `${money(Number(row.current_7d))}.`
      : `${name} costs ${money(cost30d)} a month to serve, ${percent(value)} of its ${money(mrr)} MRR ` +
        `(threshold ${percent(Number(row.threshold))}).`,
  };
}

function segmentAlert(
  asOf: string,
  config: AlertConfig,
  fields: Pick<Alert, 'type' | 'subject' | 'value' | 'threshold' | 'explanation'>,
): Alert {
  return {
    ...fields,
    severity: 'WARNING',
    asOf,
    customerId: null,
    customerName: null,
    tier: null,
    planStatus: null,
    mrr: null,
    cost30d: null,
    topServices: [],
    team: config.defaultTeam,
  };
}
