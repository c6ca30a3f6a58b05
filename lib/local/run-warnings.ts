import { BILLING_FORMATS, type BillingFormatName } from '../attribution/billing-formats.ts';
import { driverMetrics } from '../attribution/drivers.ts';
import { type AllocationRules, tagRequest, tenantTagKeys } from '../attribution/rules.ts';
import { DEFAULT_CURRENCY, formatMoney } from '../common/money.ts';
import type { DuckDbEngine } from '../engine/duckdb-engine.ts';

/** A billing source as the warnings read it: its format and the view of its files. */
export interface WarningSource {
  readonly format: BillingFormatName;
  /** The view (`billing_source`, `billing_source_2`, ...). */
  readonly table: string;
}

import { sqlIdentifier, sqlString } from '../sql/sql-template.ts';

/**
 * Signs that a run's results are probably wrong though its input is valid: each a plain sentence.
 * They do not stop the run (the data may really be so) but are shown wherever the results are read.
 * Needs the run's `daily_summary`, `telemetry`, `classified_cost` and each billing source's view.
 */
export async function runWarnings(
  engine: DuckDbEngine,
  rules: AllocationRules,
  /** The run's billing sources (one format name: its one `billing_source`). */
  sourcesOrFormat: readonly WarningSource[] | BillingFormatName,
  /** Whether the rules come from the user's rules file (the shipped defaults are not checked for matches). */
  rulesFromFile = false,
): Promise<string[]> {
  const sources =
    typeof sourcesOrFormat === 'string'
      ? [{ format: sourcesOrFormat, table: 'billing_source' }]
      : sourcesOrFormat;
  const warnings: string[] = [];
  const [days] = await engine.query(
    'SELECT CAST(min(usage_date) AS VARCHAR) AS first_day, CAST(max(usage_date) AS VARCHAR) AS last_day,' +
      ' min(currency) AS currency FROM daily_summary',
  );
  const first = days?.first_day ? String(days.first_day) : null;
  const last = days?.last_day ? String(days.last_day) : null;
  // Money in warnings is written as everywhere else: in the run's one currency (lib/common/money.ts).
  const currency = days?.currency ? String(days.currency) : DEFAULT_CURRENCY;
  // Without billing days there is no cost to attribute, and so nothing to be wrong about.
  if (first === null || last === null) return warnings;

  // A metric with no row on the run's days leaves all the untagged cost its rule matches unattributed: usually
  // a metric renamed in the telemetry, or telemetry of other days.
  // Every metric a driver reads counts: a plain metric, a window's, each metric part of a blend.
  for (const rule of rules.rules) {
    const metrics = rule.driver === undefined ? [] : driverMetrics(rule.driver);
    if (metrics.length === 0) continue;
    // Only a rule that shares some cost can leave cost unattributed: one matching nothing this month is fine.
    const [pooled] = await engine.query(
      `SELECT count(*) AS n FROM classified_cost WHERE driver_rule_id = ${sqlString(rule.id).sql}` +
        " AND exclude_rule_id IS NULL AND tenant = ''",
    );
    if (Number(pooled?.n ?? 0) === 0) continue;
    for (const metric of metrics) {
      const [row] = await engine.query(
        `SELECT count(*) AS n FROM telemetry WHERE metric = ${sqlString(metric).sql}` +
          ` AND usage_date BETWEEN DATE ${sqlString(first).sql} AND DATE ${sqlString(last).sql}`,
      );
      if (Number(row?.n ?? 0) === 0) {
        warnings.push(
          `rule "${rule.id}": metric "${metric}" has no telemetry row from ${first} to ${last},` +
            ' so the cost it matches stays unattributed (no_usage_signal)',
        );
      }
    }
  }

  // Not one tagged line item in a bill is almost always a wrong tenantTagKey; the keys that do exist
  // make the typo obvious.
  const [tagged] = await engine.query(
    "SELECT count(*) FILTER (WHERE tenant <> '') AS tagged, count(*) AS n FROM classified_cost",
  );
  if (Number(tagged?.n ?? 0) > 0 && Number(tagged?.tagged ?? 0) === 0) {
    // Every tag map a source has (CUR 2.0 resource_tags and tags, FOCUS Tags), all sources together.
    const parts = sources.flatMap((source) =>
      BILLING_FORMATS[source.format]
        .columns(rules.tenantTagKey)
        .filter((c) => c.type === 'tag_map' && !/^(cost_category|x_costcategories)$/i.test(c.name))
        .map(
          (c) =>
            `SELECT unnest(map_keys(${sqlIdentifier(c.name).sql})) AS tag_key FROM ${sqlIdentifier(source.table).sql}`,
        ),
    );
    let keys: string[] = [];
    if (parts.length > 0) {
      const rows = await engine.query(
        `SELECT DISTINCT tag_key FROM (${parts.join(' UNION ALL ')}) ORDER BY tag_key LIMIT 21`,
      );
      keys = rows.map((r) => String(r.tag_key));
    }
    const shown =
      keys.length === 0
        ? 'no tag keys in the bill'
        : `tag keys in the bill: ${keys.slice(0, 20).join(', ')}${keys.length > 20 ? ', ...' : ''}`;
    warnings.push(
      `no line item has the tenant tag ${tenantTagKeys(rules).map(quoted).join(' or ')} of the rules (${shown}),` +
        ' so no cost is attributed directly: check tenantTagKey',
    );
  }
  warnings.push(...(await absentRuleKeys(engine, rules, sources)));
  if (rulesFromFile) warnings.push(...(await unmatchedRules(engine, rules)));
  warnings.push(
    ...(await unknownTaggedTenants(engine, knownTenants(rules), currency)),
    ...(await unknownTelemetryTenants(engine, first, last, rules)),
  );
  return warnings;
}

/**
 * Rules of the user's rules file that no line item reached: an exclude rule is tried on every line item,
 * a rule with a driver on untagged cost no exclude rule took, in file order, so a rule after a catch-all
 * or with a misspelt service never gets any. The shipped default rules name many services a bill may
 * not use, so they are not checked.
 */
async function unmatchedRules(engine: DuckDbEngine, rules: AllocationRules): Promise<string[]> {
  const rows = await engine.query(
    'SELECT DISTINCT exclude_rule_id AS rule_id FROM classified_cost WHERE exclude_rule_id IS NOT NULL' +
      ' UNION SELECT DISTINCT driver_rule_id FROM classified_cost' +
      ' WHERE exclude_rule_id IS NULL AND driver_rule_id IS NOT NULL',
  );
  const matched = new Set(rows.map((row) => String(row.rule_id)));
  const unmatched = rules.rules
    .filter((rule) => !matched.has(rule.id))
    .map((rule) => `${JSON.stringify(rule.id)}${rule.action === 'exclude' ? ' (exclude)' : ''}`);
  if (unmatched.length === 0) return [];
  const plural = unmatched.length > 1;
  return [
    `${unmatched.length} rule${plural ? 's' : ''} of the rules file matched no line item: ${unmatched.join(', ')}` +
      ' (a rule with a driver is tried on untagged cost only, after the rules before it):' +
      ` check ${plural ? 'their' : 'its'} match`,
  ];
}

/**
 * Tag keys and cost categories the rules' matches name that no billing line item has (docs/attribution.md
 * 1.4, 6.2): usually a misspelt key, or a key written as one format names it where another is read
 * (2.1). Such a condition matches nothing (or, for `""`, everything), so the rule's pool is not what was meant.
 */
async function absentRuleKeys(
  engine: DuckDbEngine,
  rules: AllocationRules,
  sources: readonly WarningSource[],
): Promise<string[]> {
  const request = tagRequest(rules);
  const named = [
    ...request.tags.map((tag) => ({ what: 'tag key', field: 'tags' as const, ...tag })),
    ...request.costCategories.map((category) => ({
      what: 'cost category',
      field: 'costCategories' as const,
      ...category,
    })),
  ];
  if (named.length === 0) return [];
  // A key counts as present when any source has it on a line item, each source read its own way (2.1).
  const found = new Map<string, number>(named.map((key) => [key.column, 0]));
  for (const source of sources) {
    const billing = BILLING_FORMATS[source.format];
    const counts = named.map((key) => {
      const value = key.field === 'tags' ? billing.tagValue(key.key) : billing.costCategoryValue(key.key);
      return `count(*) FILTER (WHERE ${value} IS NOT NULL) AS ${key.column}`;
    });
    const [row] = await engine.query(`SELECT ${counts.join(', ')} FROM ${sqlIdentifier(source.table).sql}`);
    for (const key of named)
      found.set(key.column, (found.get(key.column) ?? 0) + Number(row?.[key.column] ?? 0));
  }
  const formats = [...new Set(sources.map((source) => source.format))].join(' and ');
  return named
    .filter((key) => found.get(key.column) === 0)
    .map((key) => {
      const ruleIds = rules.rules
        .filter((rule) => rule.match[key.field]?.[key.key] !== undefined)
        .map((rule) => quoted(rule.id));
      return (
        `${key.what} ${quoted(key.key)} of rule${ruleIds.length > 1 ? 's' : ''} ${ruleIds.join(', ')} is on no line item` +
        ` of the ${formats} billing files, so a condition on it matches no line item ("" matches every one): check its spelling (docs/attribution.md 2.1 says how each format names a key)`
      );
    });
}

/** Above this share of the tagged cost, tag values no customer has are probably a mismatch of ids. */
const UNKNOWN_TAGGED_SHARE = 0.2;
/** Above this share of a metric's quantity, telemetry tenants no customer has are worth a word. */
const UNKNOWN_TELEMETRY_SHARE = 0.05;
const SHOWN_TENANTS = 5;

/**
 * The tenant ids the customer dimension knows, as the allocation matches them (tenant id, else customer
 * id; lower-cased under `"tenantIdNormalization": "lowercase"`, as the run does).
 */
function knownTenants(rules: AllocationRules): string {
  const id = "coalesce(nullif(tenant_id, ''), customer_id)";
  return `SELECT DISTINCT ${rules.tenantIdNormalization === 'lowercase' ? `lower(${id})` : id} AS tenant_id FROM customers`;
}

const percent = (share: number) => `${(share * 100).toFixed(1)}%`;
const quoted = (text: string) => JSON.stringify(text);
/** Quantities as written, without a float's noise (0.30000000000000004). */
const quantity = (value: number) => String(Number(value.toPrecision(12)));

/**
 * More than 20% of the tagged (not excluded) cost under tenant values no customer has: usually ids that
 * differ between tags and the customers file. The five costliest values are named, each with the known
 * tenant it differs from only by case or surrounding spaces, when there is one.
 */
async function unknownTaggedTenants(
  engine: DuckDbEngine,
  known: string,
  currency: string,
): Promise<string[]> {
  const money = (value: number) => formatMoney(value, currency);
  const rows = await engine.query(
    `WITH known AS (${known}), tagged AS (SELECT tenant, sum(cost) AS cost FROM classified_cost` +
      " WHERE exclude_rule_id IS NULL AND tenant <> '' GROUP BY tenant)" +
      ' SELECT t.tenant, t.cost, k.tenant_id IS NULL AS unknown, sum(t.cost) OVER () AS tagged_cost,' +
      ' (SELECT min(c.tenant_id) FROM known AS c WHERE lower(trim(c.tenant_id)) = lower(trim(t.tenant))' +
      ' AND c.tenant_id <> t.tenant) AS close_to' +
      ' FROM tagged AS t LEFT JOIN known AS k ON k.tenant_id = t.tenant ORDER BY t.cost DESC, t.tenant',
  );
  const tagged = Number(rows[0]?.tagged_cost ?? 0);
  const unknown = rows.filter((row) => row.unknown === true);
  const unknownCost = unknown.reduce((sum, row) => sum + Number(row.cost), 0);
  if (!(tagged > 0) || unknownCost / tagged <= UNKNOWN_TAGGED_SHARE) return [];
  const shown = unknown.slice(0, SHOWN_TENANTS).map((row) => {
    const close =
      row.close_to === null || row.close_to === undefined
        ? ''
        : ` (customer tenant ${quoted(String(row.close_to))} differs only by case or spaces)`;
    return `${quoted(String(row.tenant))} ${money(Number(row.cost))}${close}`;
  });
  return [
    `${percent(unknownCost / tagged)} of the tagged cost (${money(unknownCost)} of ${money(tagged)})` +
      ` has a tenant no customer has, so it stays unattributed (unknown_tenant); costliest: ${shown.join(', ')}`,
  ];
}

/**
 * Per metric, more than 5% of the quantity over the run's days from tenants no customer has: their
 * share of every pool the metric drives is unattributed. The five largest such tenants are named.
 */
async function unknownTelemetryTenants(
  engine: DuckDbEngine,
  first: string,
  last: string,
  rules: AllocationRules,
): Promise<string[]> {
  const tenant = rules.tenantIdNormalization === 'lowercase' ? 'lower(tenant_id)' : 'tenant_id';
  const rows = await engine.query(
    `WITH known AS (${knownTenants(rules)}), usage AS (SELECT metric, ${tenant} AS tenant_id, sum(quantity) AS quantity` +
      ` FROM telemetry WHERE usage_date BETWEEN DATE ${sqlString(first).sql} AND DATE ${sqlString(last).sql}` +
      ` GROUP BY metric, ${tenant})` +
      ' SELECT u.metric, u.tenant_id, u.quantity, k.tenant_id IS NULL AS unknown,' +
      ' sum(u.quantity) OVER (PARTITION BY u.metric) AS metric_quantity' +
      ' FROM usage AS u LEFT JOIN known AS k ON k.tenant_id = u.tenant_id' +
      ' ORDER BY u.metric, u.quantity DESC, u.tenant_id',
  );
  const warnings: string[] = [];
  for (const metric of [...new Set(rows.map((row) => String(row.metric)))]) {
    const ofMetric = rows.filter((row) => String(row.metric) === metric);
    const total = Number(ofMetric[0]?.metric_quantity ?? 0);
    const unknown = ofMetric.filter((row) => row.unknown === true);
    const unknownQuantity = unknown.reduce((sum, row) => sum + Number(row.quantity), 0);
    if (!(total > 0) || unknownQuantity / total <= UNKNOWN_TELEMETRY_SHARE) continue;
    const shown = unknown
      .slice(0, SHOWN_TENANTS)
      .map((row) => `${quoted(String(row.tenant_id))} ${quantity(Number(row.quantity))}`);
    warnings.push(
      `metric ${quoted(metric)}: ${percent(unknownQuantity / total)} of its quantity from ${first} to ${last}` +
        ` (${quantity(unknownQuantity)} of ${quantity(total)}) is of tenants no customer has, so their share` +
        ` of the cost it drives stays unattributed (unknown_tenant): ${shown.join(', ')}`,
    );
  }
  return warnings;
}
