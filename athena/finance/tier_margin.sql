-- tier_margin (docs/finance.md): infrastructure gross margin by tier and plan status. One row per
-- (billing_period, tier, plan_status) that has at least one customer with cost in the month.
--
-- Definitions (over the rows of customer_monthly_cost, so tier, plan_status and mrr are as on each
-- customer's latest usage day in the month):
-- - customers: customers with a cost row in the month. A customer with no cost at all in the month is
--   not counted, and neither is its MRR.
-- - total_cost: sum of those customers' monthly cost. total_mrr: sum of their MRR.
-- - mean_cost_per_customer = total_cost / customers.
-- - median_cost_per_customer: the exact median of the customers' monthly cost. Odd count: the middle
--   value. Even count: the mean of the two middle values. Computed with row_number (no approx_percentile),
--   the same on both engines: positions p (1-based) with n <= 2p <= n + 2 are the middle one or two.
-- - cost_to_mrr = total_cost / total_mrr, margin = 1 - total_cost / total_mrr; NULL when total_mrr is 0
--   (a tier of free or trial customers has no revenue).
-- - is_complete: as in customer_monthly_cost (false while the billing month is still open).
WITH ranked AS (
  SELECT
    billing_period,
    tier,
    plan_status,
    is_complete,
    total_cost,
    mrr,
    row_number() OVER (PARTITION BY billing_period, tier, plan_status ORDER BY total_cost, customer_id) AS idx,
    count(*) OVER (PARTITION BY billing_period, tier, plan_status) AS customers
  FROM ${customer_monthly_cost}
)
SELECT
  billing_period,
  tier,
  plan_status,
  CAST(max(customers) AS integer) AS customers,
  sum(total_cost) AS total_cost,
  sum(mrr) AS total_mrr,
  avg(total_cost) AS mean_cost_per_customer,
  avg(CASE WHEN 2 * idx BETWEEN customers AND customers + 2 THEN total_cost END) AS median_cost_per_customer,
  sum(total_cost) / NULLIF(sum(mrr), 0) AS cost_to_mrr,
  1 - sum(total_cost) / NULLIF(sum(mrr), 0) AS margin,
  is_complete
FROM ranked
GROUP BY billing_period, tier, plan_status, is_complete
