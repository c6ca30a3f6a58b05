-- Classification (docs/attribution.md section 3), aggregated as early as possible: everything after this
-- step works on (day, service, tenant, rule) groups instead of line items.
-- exclude_rule_id: the first exclude rule that matches (any match excludes the item);
-- driver_rule_id: the first rule with a driver that matches; both NULL when no rule matches.
-- provider and currency are carried from the line items: pools are per (day, rule, service, provider), and
-- every result row names the run's currency (one per run, docs/attribution.md 1.1).
SELECT
  usage_date,
  substr(CAST(billing_period_start AS varchar), 1, 7) AS billing_period,
  provider,
  service,
  currency,
  tenant,
  exclude_rule_id,
  driver_rule_id,
  ${rule_driver} AS driver,
  cost
FROM (
  SELECT
    usage_date,
    billing_period_start,
    provider,
    service,
    currency,
    tenant,
    exclude_rule_id,
    driver_rule_id,
    sum(cost) AS cost
  FROM (
    SELECT
      usage_date,
      billing_period_start,
      provider,
      service,
      currency,
      tenant,
      cost,
      ${exclude_rule_id} AS exclude_rule_id,
      -- Tagged cost is direct whatever rule it matches: skip the rule tests for it.
      CASE WHEN tenant = '' THEN ${driver_rule_id} END AS driver_rule_id
    FROM ${line_items}
  ) AS matched
  GROUP BY usage_date, billing_period_start, provider, service, currency, tenant, exclude_rule_id, driver_rule_id
) AS grouped
