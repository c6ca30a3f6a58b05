-- The customer cost shared by metric drivers, one row per row of customer_daily_service_cost, spliced
-- into the unit cost views (lib/finance/finance-registry.ts, SHARED_FRAGMENTS): the day's billing month
-- (day_labels), and the metric the driver label names (`requests`, or `requests/7d` for a window).
-- Direct cost, even, mrr, fixed splits and weighted blends are not priced per unit: a blend's cost comes
-- from several drivers, and dividing it by one metric would overstate that metric's price.
SELECT
  d.billing_period,
  c.usage_date,
  c.customer_id,
  c.rule_id,
  c.service,
  c.driver,
  regexp_replace(c.driver, '/[0-9]+d$', '') AS metric,
  c.cost
FROM ${customer_daily_service_cost} AS c
JOIN (${day_labels}) AS d ON d.usage_date = c.usage_date
WHERE c.rule_id <> 'direct'
  AND c.driver NOT IN ('tag', 'even', 'mrr', 'fixed')
  AND c.driver NOT LIKE 'weights(%'
