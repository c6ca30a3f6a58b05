-- The allocation ledger (docs/attribution.md sections 3 and 4): every cost of every day lands in exactly one
-- outcome: a customer, unattributed (with a reason) or excluded. All outputs are sums over this table,
-- and the conservation check compares it with the line items it came from.
-- Customer rows are unique per (day, customer, provider, service, rule) by construction (usage and direct
-- cost are summed per customer before they meet a pool), so the per-service output needs no second
-- aggregation of millions of rows. Every row of a day carries the day's one billing month (classified_cost.sql); max() carries it.
-- currency is the run's one currency (max() only carries it through the sums).
WITH classified AS (
  SELECT usage_date, billing_period, provider, service, currency, tenant, exclude_rule_id, driver_rule_id, driver,
    cost
  FROM ${classified_cost}
),
-- The customer dimension with history, each row with the dates its version is in force
-- (customer_versions.sql, stored: read by several drivers, its window would be planned once per reader).
version_rows AS (
  SELECT customer_id, tenant_id, mrr, start_date, end_date, valid_from, valid_to
  FROM ${customer_versions}
),
-- A tenant's customer from valid_from to valid_to: the metric weights and direct cost take the one in force
-- on their day (a tenant belongs to at most one customer on any day; the customers file is refused otherwise).
tenant_customers AS (
  SELECT DISTINCT coalesce(nullif(tenant_id, ''), customer_id) AS tenant_id, customer_id, valid_from, valid_to
  FROM version_rows
),
-- One row per customer version, with its active period and the MRR the mrr driver weighs; a driver uses
-- the row whose validity holds the day.
customer_periods AS (
  SELECT DISTINCT customer_id, start_date, end_date, mrr, valid_from, valid_to
  FROM version_rows
),
-- customer_id is NULL for a tenant that is not in the customer dimension.
direct_cost AS (
  SELECT c.usage_date, max(c.billing_period) AS billing_period, c.provider, c.service, max(c.currency) AS currency,
    t.customer_id, sum(c.cost) AS cost
  FROM classified AS c
  LEFT JOIN tenant_customers AS t
    ON t.tenant_id = c.tenant
    AND t.valid_from <= c.usage_date
    AND c.usage_date < t.valid_to
  WHERE c.exclude_rule_id IS NULL AND c.tenant <> ''
  GROUP BY c.usage_date, c.provider, c.service, t.customer_id
),
pools AS (
  SELECT
    usage_date, max(billing_period) AS billing_period, provider, service, max(currency) AS currency,
    driver_rule_id AS rule_id, driver, sum(cost) AS pool_cost
  FROM classified
  WHERE exclude_rule_id IS NULL AND tenant = '' AND driver_rule_id IS NOT NULL
  GROUP BY usage_date, provider, service, driver_rule_id, driver
),
-- Each pool cut into its driver's parts (docs/attribution.md section 4): a blend's part is pool x weight,
-- shared by its own driver; any other driver is its own only part, weight 1.
pool_parts AS (
  SELECT p.usage_date, p.billing_period, p.provider, p.service, p.currency, p.rule_id, p.driver, dp.part,
    p.pool_cost * dp.part_weight AS cost
  FROM pools AS p
  JOIN ${driver_parts} AS dp ON dp.driver = p.driver
),
-- The days on which each part's driver needs weights (the weights files of even, mrr, windows and fixed
-- splits compute only those days).
pool_days AS (
  SELECT DISTINCT usage_date, part AS driver FROM pool_parts
),
-- The weights of every driver the parts use, one row per (usage_date, driver, customer_id): the UNION ALL
-- of the driver kinds' SELECTs (athena/attribution/drivers/). customer_id is NULL for a tenant that no
-- customer has; its share of a pool is unattributed (unknown_tenant).
driver_weights AS (
${driver_weights}
),
weight_totals AS (
  SELECT usage_date, driver, sum(weight) AS total_weight
  FROM driver_weights
  GROUP BY usage_date, driver
),
-- Each customer's fraction of a pool, per (day, driver), computed once for all of the day's pools of the
-- driver: pools then take their shares by a join, without an aggregation of their own (at 50,000 customers
-- that aggregation was of 31M share rows). A driver of one part keeps its weight and the day's total, so a
-- share is pool x w / W as section 4 writes it; a blend sums part weight x w / W over its parts that have a
-- signal (denominator 1). customer_id NULL (tenants no customer has) is one fraction per (day, driver).
driver_fractions AS (
  SELECT w.usage_date, dp.driver, w.customer_id,
    CASE WHEN count(*) = 1 AND max(dp.part_weight) = 1 THEN max(w.weight)
      ELSE sum(dp.part_weight * w.weight / NULLIF(t.total_weight, 0)) END AS numerator,
    CASE WHEN count(*) = 1 AND max(dp.part_weight) = 1 THEN max(t.total_weight) ELSE 1 END AS denominator
  FROM ${driver_parts} AS dp
  JOIN weight_totals AS t ON t.driver = dp.part AND t.total_weight > 0
  JOIN driver_weights AS w ON w.usage_date = t.usage_date AND w.driver = dp.part
  GROUP BY w.usage_date, dp.driver, w.customer_id
),
-- One row per (pool, customer) by construction: a pool is unique per (day, provider, service, rule, driver)
-- and a fraction per (day, driver, customer).
shares AS (
  SELECT
    p.usage_date, p.billing_period, p.provider, p.service, p.currency, p.rule_id, p.driver, f.customer_id,
    p.pool_cost * f.numerator / NULLIF(f.denominator, 0) AS cost
  FROM pools AS p
  JOIN driver_fractions AS f ON f.usage_date = p.usage_date AND f.driver = p.driver
),
-- A part whose driver cannot share it that day stays whole, with its kind's reason (no_usage_signal for a
-- metric, no_active_customers for even and mrr, no_revenue for mrr when the active customers' MRR is 0);
-- it is never handed to a blend's other parts.
unshared AS (
  SELECT usage_date, billing_period, provider, service, currency, rule_id, driver, cost,
    ${no_weight_reason} AS reason
  FROM (
    SELECT
      pp.usage_date, pp.billing_period, pp.provider, pp.service, pp.currency, pp.rule_id, pp.driver, pp.part, pp.cost,
      t.driver IS NOT NULL AS has_weight_rows
    FROM pool_parts AS pp
    LEFT JOIN weight_totals AS t ON t.usage_date = pp.usage_date AND t.driver = pp.part
    WHERE t.driver IS NULL OR NOT (t.total_weight > 0)
  ) AS unweighted
),
ledger AS (
  SELECT
    usage_date, billing_period, provider, service, currency, 'direct' AS rule_id, 'tag' AS driver,
    CASE WHEN customer_id IS NULL THEN 'unattributed' ELSE 'customer' END AS outcome,
    customer_id,
    CASE WHEN customer_id IS NULL THEN 'unknown_tenant' END AS reason,
    cost
  FROM direct_cost
  UNION ALL
  SELECT
    usage_date, billing_period, provider, service, currency, rule_id, ${driver_label} AS driver,
    CASE WHEN customer_id IS NULL THEN 'unattributed' ELSE 'customer' END AS outcome,
    customer_id,
    CASE WHEN customer_id IS NULL THEN 'unknown_tenant' END AS reason,
    cost
  FROM shares
  UNION ALL
  SELECT usage_date, billing_period, provider, service, currency, rule_id, ${driver_label} AS driver,
    'unattributed' AS outcome,
    CAST(NULL AS varchar) AS customer_id, reason, cost
  FROM unshared
  UNION ALL
  SELECT usage_date, max(billing_period) AS billing_period, provider, service, max(currency) AS currency,
    CAST(NULL AS varchar) AS rule_id,
    CAST(NULL AS varchar) AS driver, 'unattributed' AS outcome, CAST(NULL AS varchar) AS customer_id,
    'no_rule' AS reason, sum(cost) AS cost
  FROM classified
  WHERE exclude_rule_id IS NULL AND tenant = '' AND driver_rule_id IS NULL
  GROUP BY usage_date, provider, service
  UNION ALL
  SELECT usage_date, max(billing_period) AS billing_period, provider, service, max(currency) AS currency,
    exclude_rule_id AS rule_id,
    CAST(NULL AS varchar) AS driver, 'excluded' AS outcome, CAST(NULL AS varchar) AS customer_id,
    CAST(NULL AS varchar) AS reason, sum(cost) AS cost
  FROM classified
  WHERE exclude_rule_id IS NOT NULL
  GROUP BY usage_date, provider, service, exclude_rule_id
)
SELECT usage_date, billing_period, outcome, customer_id, reason, provider, service, rule_id, driver, currency, cost
FROM ledger
WHERE cost <> 0
