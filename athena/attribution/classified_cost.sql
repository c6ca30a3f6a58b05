-- Classification (docs/attribution.md section 3), aggregated as early as possible: everything after this
-- step works on (day, service, tenant, rule) groups instead of line items.
-- exclude_rule_id: the first exclude rule that matches (any match excludes the item);
-- driver_rule_id: the first rule with a driver that matches; both NULL when no rule matches.
-- provider and currency are carried from the line items: pools are per (day, rule, service, provider), and
-- every result row names the run's currency (one per run, docs/attribution.md 1.1).
-- billing_period: the billing month a usage day counts in, the same for all of the day's rows: the day's
-- calendar month when any of its lines is billed in it, else the period its lines carry (the later one
-- of two: every output takes max). So a line billed late for an earlier day (the FOCUS sample's Oracle
-- line, billed in October for 30 September) does not move the day, and its month's bill out of it. A
-- deployed run reads one billing period, so there every row keeps its own.
SELECT
  usage_date,
  CASE
    WHEN max(CASE WHEN substr(CAST(billing_period_start AS varchar), 1, 7) = substr(CAST(usage_date AS varchar), 1, 7) THEN 1 ELSE 0 END)
      OVER (PARTITION BY usage_date) = 1
      THEN substr(CAST(usage_date AS varchar), 1, 7)
    ELSE substr(CAST(billing_period_start AS varchar), 1, 7)
  END AS billing_period,
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
