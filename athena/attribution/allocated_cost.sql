-- The allocation ledger (attribution.md sections 3 and 4): every cost of every day lands in exactly one
-- outcome: a customer, unattributed (with a reason) or excluded. All outputs are sums over this table,
-- and the conservation check compares it with the line items it came from.
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
direct_cost AS (
  SELECT c.usage_date, c.billing_period, c.service, c.cost, t.customer_id
  FROM classified AS c
  LEFT JOIN tenant_customers AS t ON t.tenant_id = c.tenant
  WHERE c.exclude_rule_id IS NULL AND c.tenant <> ''
),
pools AS (
  SELECT usage_date, billing_period, service, driver_rule_id AS rule_id, driver, sum(cost) AS pool_cost
  FROM classified
  WHERE exclude_rule_id IS NULL AND tenant = '' AND driver_rule_id IS NOT NULL
  GROUP BY usage_date, billing_period, service, driver_rule_id, driver
),
tenant_usage AS (
  SELECT usage_date, tenant_id, metric, sum(quantity) AS quantity
  FROM ${telemetry}
  GROUP BY usage_date, tenant_id, metric
),
usage_totals AS (
  SELECT usage_date, metric, sum(quantity) AS total_quantity
  FROM tenant_usage
  GROUP BY usage_date, metric
  HAVING sum(quantity) > 0
),
-- A metric pool is shared over all tenants in the telemetry, known or not (section 4).
metric_shares AS (
  SELECT
    p.usage_date, p.billing_period, p.service, p.rule_id, p.driver, t.customer_id,
    p.pool_cost * u.quantity / NULLIF(ut.total_quantity, 0) AS cost
  FROM pools AS p
  JOIN usage_totals AS ut ON ut.usage_date = p.usage_date AND ut.metric = p.driver
  JOIN tenant_usage AS u ON u.usage_date = p.usage_date AND u.metric = p.driver
  LEFT JOIN tenant_customers AS t ON t.tenant_id = u.tenant_id
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
  SELECT usage_date, billing_period, service, CAST(NULL AS varchar) AS rule_id, CAST(NULL AS varchar) AS driver,
    'unattributed' AS outcome, CAST(NULL AS varchar) AS customer_id, 'no_rule' AS reason, cost
  FROM classified
  WHERE exclude_rule_id IS NULL AND tenant = '' AND driver_rule_id IS NULL
  UNION ALL
  SELECT usage_date, billing_period, service, exclude_rule_id AS rule_id, CAST(NULL AS varchar) AS driver,
    'excluded' AS outcome, CAST(NULL AS varchar) AS customer_id, CAST(NULL AS varchar) AS reason, cost
  FROM classified
  WHERE exclude_rule_id IS NOT NULL
)
SELECT
  usage_date, billing_period, outcome, customer_id, reason, service, rule_id, driver,
  sum(cost) AS cost,
  ${rules_version} AS rules_version,
  ${run_id} AS run_id
FROM ledger
GROUP BY usage_date, billing_period, outcome, customer_id, reason, service, rule_id, driver
HAVING sum(cost) <> 0
