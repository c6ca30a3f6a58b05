import { BILLING_FORMATS, type BillingFormatName } from '../attribution/billing-formats.ts';
import { driverKindOf } from '../attribution/drivers.ts';
import type { AllocationRules } from '../attribution/rules.ts';
import type { DuckDbEngine } from '../engine/duckdb-engine.ts';
import { sqlIdentifier, sqlString } from '../sql/sql-template.ts';

/**
 * Signs that a run's results are probably wrong though its input is valid: each a plain sentence.
 * They do not stop the run (the data may really be so) but are shown wherever the results are read.
 * Needs the run's `daily_summary`, `telemetry`, `classified_cost` and `billing_source`.
 */
export async function runWarnings(
  engine: DuckDbEngine,
  rules: AllocationRules,
  format: BillingFormatName,
): Promise<string[]> {
  const warnings: string[] = [];
  const [days] = await engine.query(
    'SELECT CAST(min(usage_date) AS VARCHAR) AS first_day, CAST(max(usage_date) AS VARCHAR) AS last_day' +
      ' FROM daily_summary',
  );
  const first = days?.first_day ? String(days.first_day) : null;
  const last = days?.last_day ? String(days.last_day) : null;
  // Without billing days there is no cost to attribute, and so nothing to be wrong about.
  if (first === null || last === null) return warnings;

  // A metric with no row on the run's days leaves all the untagged cost its rule matches unattributed: usually
  // a metric renamed in the telemetry, or telemetry of other days.
  for (const rule of rules.rules) {
    if (rule.driver === undefined || driverKindOf(rule.driver).kind !== 'metric') continue;
    // Only a rule that shares some cost can leave cost unattributed: one matching nothing this month is fine.
    const [pooled] = await engine.query(
      `SELECT count(*) AS n FROM classified_cost WHERE driver_rule_id = ${sqlString(rule.id).sql}` +
        " AND exclude_rule_id IS NULL AND tenant = ''",
    );
    if (Number(pooled?.n ?? 0) === 0) continue;
    const [row] = await engine.query(
      `SELECT count(*) AS n FROM telemetry WHERE metric = ${sqlString(rule.driver).sql}` +
        ` AND usage_date BETWEEN DATE ${sqlString(first).sql} AND DATE ${sqlString(last).sql}`,
    );
    if (Number(row?.n ?? 0) === 0) {
      warnings.push(
        `rule "${rule.id}": metric "${rule.driver}" has no telemetry row from ${first} to ${last},` +
          ' so the cost it matches stays unattributed (no_usage_signal)',
      );
    }
  }

  // Not one tagged line item in a bill is almost always a wrong tenantTagKey; the keys that do exist
  // make the typo obvious.
  const [tagged] = await engine.query(
    "SELECT count(*) FILTER (WHERE tenant <> '') AS tagged, count(*) AS n FROM classified_cost",
  );
  if (Number(tagged?.n ?? 0) > 0 && Number(tagged?.tagged ?? 0) === 0) {
    const tagColumn = BILLING_FORMATS[format].columns(rules.tenantTagKey).find((c) => c.type === 'tag_map');
    let keys: string[] = [];
    if (tagColumn !== undefined) {
      const rows = await engine.query(
        `SELECT DISTINCT unnest(map_keys(${sqlIdentifier(tagColumn.name).sql})) AS tag_key FROM billing_source` +
          ' ORDER BY tag_key LIMIT 21',
      );
      keys = rows.map((r) => String(r.tag_key));
    }
    const shown =
      keys.length === 0
        ? 'no tag keys in the bill'
        : `tag keys in the bill: ${keys.slice(0, 20).join(', ')}${keys.length > 20 ? ', ...' : ''}`;
    warnings.push(
      `no line item has the tenant tag "${rules.tenantTagKey}" of the rules (${shown}),` +
        ' so no cost is attributed directly: check tenantTagKey',
    );
  }
  return warnings;
}
