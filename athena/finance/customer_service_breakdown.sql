-- customer_service_breakdown (docs/finance.md): whether a customer is compute-, storage- or transfer-heavy.
-- One row per (billing_period, customer_id, service) with cost.
--
-- Definitions:
-- - billing_period: the month of the customer's usage day as customer_daily_cost labels it (the latest
--   billing period among that customer's rows of the day), so these months agree with
--   customer_monthly_cost even on a day that spans two billing periods.
-- - cost: the customer's cost for the service in the month, direct and shared together;
--   direct_cost (rule_id 'direct') and shared_cost (every sharing rule) split it.
-- - customer_cost: the customer's cost in the month over all services (equals customer_monthly_cost's
--   total_cost). share_of_customer_cost = cost / customer_cost, NULL when that is 0. Shares of one
--   customer-month sum to 1; with credits (negative cost) a single share can fall outside [0, 1].
-- - is_complete: as in customer_monthly_cost (false while the billing month is still open).
WITH month_status AS (${billing_months}),
service_days AS (
  SELECT
    max(billing_period) OVER (PARTITION BY usage_date, customer_id) AS billing_period,
    customer_id,
    service,
    rule_id,
    cost
  FROM ${customer_daily_service_cost}
),
services AS (
  SELECT
    billing_period,
    customer_id,
    service,
    sum(CASE WHEN rule_id = 'direct' THEN cost ELSE 0 END) AS direct_cost,
    sum(CASE WHEN rule_id = 'direct' THEN 0 ELSE cost END) AS shared_cost,
    sum(cost) AS service_cost
  FROM service_days
  GROUP BY billing_period, customer_id, service
)
SELECT
  s.billing_period,
  s.customer_id,
  s.service,
  s.direct_cost,
  s.shared_cost,
  s.service_cost AS cost,
  sum(s.service_cost) OVER (PARTITION BY s.billing_period, s.customer_id) AS customer_cost,
  s.service_cost / NULLIF(sum(s.service_cost) OVER (PARTITION BY s.billing_period, s.customer_id), 0)
    AS share_of_customer_cost,
  coalesce(m.is_complete, false) AS is_complete
FROM services AS s
LEFT JOIN month_status AS m ON m.billing_period = s.billing_period
