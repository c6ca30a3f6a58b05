-- The allocation ledger (docs/attribution.md sections 3 and 4): every cost of every day lands in exactly one
-- outcome: a customer, unattributed (with a reason) or excluded. All outputs are sums over this table,
-- and the conservation check compares it with the line items it came from.
-- Customer rows are unique per (day, customer, service, rule) by construction (usage and direct cost are
-- summed per customer before they meet a pool), so the per-service output needs no second aggregation
-- of millions of rows. A day whose line items span two billing periods takes the later one.
WITH classified AS (
  SELECT usage_date, billing_period, service, tenant, exclude_rule_id, driver_rule_id, driver, cost
  FROM ${classified_cost}
),
tenant_customers AS (
  SELECT DISTINCT coalesce(nullif(tenant_id, ''), customer_id) AS tenant_id, customer_id
  FROM ${customers}
),
customer_periods AS (
  SELECT DISTINCT customer_id, start_date, end_date
  FROM ${customers}
),
-- customer_id is NULL for a tenant that is not in the customer dimension.
direct_cost AS (
  SELECT c.usage_date, max(c.billing_period) AS billing_period, c.service, t.customer_id, sum(c.cost) AS cost
  FROM classified AS c
  LEFT JOIN tenant_customers AS t ON t.tenant_id = c.tenant
  WHERE c.exclude_rule_id IS NULL AND c.tenant <> ''
  GROUP BY c.usage_date, c.service, t.customer_id
),
pools AS (
  SELECT
    usage_date, max(billing_period) AS billing_period, service, driver_rule_id AS rule_id, driver,
    sum(cost) AS pool_cost
  FROM classified
  WHERE exclude_rule_id IS NULL AND tenant = '' AND driver_rule_id IS NOT NULL
  GROUP BY usage_date, service, driver_rule_id, driver
),
-- A metric pool is shared over all tenants in the telemetry, known or not (section 4); the shares of
-- unknown tenants are summed into one unattributed row (customer_id NULL).
customer_usage AS (
  SELECT u.usage_date, u.metric, t.customer_id, sum(u.quantity) AS quantity
  FROM ${telemetry} AS u
  LEFT JOIN tenant_customers AS t ON t.tenant_id = u.tenant_id
  GROUP BY u.usage_date, u.metric, t.customer_id
),
usage_totals AS (
  SELECT usage_date, metric, sum(quantity) AS total_quantity
  FROM customer_usage
  GROUP BY usage_date, metric
  HAVING sum(quantity) > 0
),
metric_shares AS (
  SELECT
    p.usage_date, p.billing_period, p.service, p.rule_id, p.driver, u.customer_id,
    p.pool_cost * u.quantity / NULLIF(ut.total_quantity, 0) AS cost
  FROM pools AS p
  JOIN usage_totals AS ut ON ut.usage_date = p.usage_date AND ut.metric = p.driver
  JOIN customer_usage AS u ON u.usage_date = p.usage_date AND u.metric = p.driver
  WHERE p.driver <> 'even'
),
no_usage_signal AS (
  SELECT p.usage_date, p.billing_period, p.service, p.rule_id, p.driver, p.pool_cost AS cost
  FROM pools AS p
  LEFT JOIN usage_totals AS ut ON ut.usage_date = p.usage_date AND ut.metric = p.driver
  WHERE p.driver <> 'even' AND ut.metric IS NULL
),
even_days AS (
  SELECT DISTINCT usage_date FROM pools WHERE driver = 'even'
),
active_customers AS (
  SELECT DISTINCT d.usage_date, cp.customer_id
  FROM even_days AS d
  JOIN customer_periods AS cp
    ON (cp.start_date IS NULL OR cp.start_date <= d.usage_date)
    AND (cp.end_date IS NULL OR d.usage_date <= cp.end_date)
),
active_counts AS (
  SELECT usage_date, count(*) AS customer_count FROM active_customers GROUP BY usage_date
),
even_shares AS (
  SELECT
    p.usage_date, p.billing_period, p.service, p.rule_id, p.driver, a.customer_id,
    p.pool_cost / CAST(n.customer_count AS double) AS cost
  FROM pools AS p
  JOIN active_counts AS n ON n.usage_date = p.usage_date
  JOIN active_customers AS a ON a.usage_date = p.usage_date
  WHERE p.driver = 'even'
),
no_active_customers AS (
  SELECT p.usage_date, p.billing_period, p.service, p.rule_id, p.driver, p.pool_cost AS cost
  FROM pools AS p
  LEFT JOIN active_counts AS n ON n.usage_date = p.usage_date
  WHERE p.driver = 'even' AND n.usage_date IS NULL
),
ledger AS (
  SELECT
    usage_date, billing_period, service, 'direct' AS rule_id, 'tag' AS driver,
    CASE WHEN customer_id IS NULL THEN 'unattributed' ELSE 'customer' END AS outcome,
    customer_id,
    CASE WHEN customer_id IS NULL THEN 'unknown_tenant' END AS reason,
    cost
  FROM direct_cost
  UNION ALL
  SELECT
    usage_date, billing_period, service, rule_id, driver,
    CASE WHEN customer_id IS NULL THEN 'unattributed' ELSE 'customer' END AS outcome,
    customer_id,
    CASE WHEN customer_id IS NULL THEN 'unknown_tenant' END AS reason,
    cost
  FROM metric_shares
  UNION ALL
  SELECT usage_date, billing_period, service, rule_id, driver, 'unattributed' AS outcome,
    CAST(NULL AS varchar) AS customer_id, 'no_usage_signal' AS reason, cost
  FROM no_usage_signal
  UNION ALL
  SELECT usage_date, billing_period, service, rule_id, driver, 'customer' AS outcome, customer_id,
    CAST(NULL AS varchar) AS reason, cost
  FROM even_shares
  UNION ALL
  SELECT usage_date, billing_period, service, rule_id, driver, 'unattributed' AS outcome,
    CAST(NULL AS varchar) AS customer_id, 'no_active_customers' AS reason, cost
  FROM no_active_customers
  UNION ALL
  SELECT usage_date, max(billing_period) AS billing_period, service, CAST(NULL AS varchar) AS rule_id,
    CAST(NULL AS varchar) AS driver, 'unattributed' AS outcome, CAST(NULL AS varchar) AS customer_id,
    'no_rule' AS reason, sum(cost) AS cost
  FROM classified
  WHERE exclude_rule_id IS NULL AND tenant = '' AND driver_rule_id IS NULL
  GROUP BY usage_date, service
  UNION ALL
  SELECT usage_date, max(billing_period) AS billing_period, service, exclude_rule_id AS rule_id,
    CAST(NULL AS varchar) AS driver, 'excluded' AS outcome, CAST(NULL AS varchar) AS customer_id,
    CAST(NULL AS varchar) AS reason, sum(cost) AS cost
  FROM classified
  WHERE exclude_rule_id IS NOT NULL
  GROUP BY usage_date, service, exclude_rule_id
)
SELECT usage_date, billing_period, outcome, customer_id, reason, service, rule_id, driver, cost
FROM ledger
WHERE cost <> 0
