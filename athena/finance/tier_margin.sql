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
--   (a tier of free or trial customers has no revenue). This is the attributed margin: the cost the
--   tier's customers were attributed, nothing else.
-- - Fully loaded (docs/finance.md): the month's cost that no paid customer carries is added to the paid
--   rows in proportion to their MRR. A paid row's weight = total_mrr / the MRR of all paid rows of the
--   month (rows other than free and trial, customers with cost in the month). Of the
--   month's unattributed cost (daily_summary's unattributed_cost over the days it labels with the month)
--   a row takes allocated_unattributed_cost = unattributed x weight, and of the free/trial subsidy (the
--   cost of the month's free and trial customers) allocated_subsidy_cost = subsidy x weight; free and
--   trial rows have weight 0. Excluded cost (tax) is not infrastructure and is never loaded.
--   fully_loaded_cost = total_cost + both; fully_loaded_cost_to_mrr = fully_loaded_cost / total_mrr and
--   fully_loaded_margin = 1 - that. Free and trial rows carry nothing and have no fully loaded cost
--   (NULL: their cost is in the paid rows' subsidy), so the paid rows' fully loaded costs add up to all
--   customer cost plus unattributed cost. A month whose paid rows have no MRR has NULL allocations.
-- - is_complete: as in customer_monthly_cost (false while the billing month is still open).
WITH unattributed AS (
  SELECT billing_period, sum(unattributed_cost) AS unattributed_cost
  FROM ${daily_summary}
  GROUP BY billing_period
),
ranked AS (
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
),
tiers AS (
  SELECT
    billing_period,
    tier,
    plan_status,
    CAST(max(customers) AS integer) AS customers,
    sum(total_cost) AS total_cost,
    sum(mrr) AS total_mrr,
    avg(total_cost) AS mean_cost_per_customer,
    avg(CASE WHEN 2 * idx BETWEEN customers AND customers + 2 THEN total_cost END) AS median_cost_per_customer,
    is_complete
  FROM ranked
  GROUP BY billing_period, tier, plan_status, is_complete
),
loads AS (
  SELECT
    t.billing_period,
    t.tier,
    t.plan_status,
    t.customers,
    t.total_cost,
    t.total_mrr,
    t.mean_cost_per_customer,
    t.median_cost_per_customer,
    t.is_complete,
    t.plan_status IN ('free', 'trial') AS is_subsidy,
    CASE WHEN t.plan_status IN ('free', 'trial') THEN 0 ELSE t.total_mrr END
      / NULLIF(sum(CASE WHEN t.plan_status IN ('free', 'trial') THEN 0 ELSE t.total_mrr END)
        OVER (PARTITION BY t.billing_period), 0) AS mrr_weight,
    coalesce(u.unattributed_cost, 0) AS month_unattributed_cost,
    sum(CASE WHEN t.plan_status IN ('free', 'trial') THEN t.total_cost ELSE 0 END)
      OVER (PARTITION BY t.billing_period) AS month_subsidy_cost
  FROM tiers AS t
  LEFT JOIN unattributed AS u ON u.billing_period = t.billing_period
)
SELECT
  billing_period,
  tier,
  plan_status,
  customers,
  total_cost,
  total_mrr,
  mean_cost_per_customer,
  median_cost_per_customer,
  total_cost / NULLIF(total_mrr, 0) AS cost_to_mrr,
  1 - total_cost / NULLIF(total_mrr, 0) AS margin,
  month_unattributed_cost * mrr_weight AS allocated_unattributed_cost,
  month_subsidy_cost * mrr_weight AS allocated_subsidy_cost,
  CASE WHEN NOT is_subsidy THEN total_cost + (month_unattributed_cost + month_subsidy_cost) * mrr_weight END
    AS fully_loaded_cost,
  CASE WHEN NOT is_subsidy
    THEN (total_cost + (month_unattributed_cost + month_subsidy_cost) * mrr_weight) / NULLIF(total_mrr, 0)
  END AS fully_loaded_cost_to_mrr,
  CASE WHEN NOT is_subsidy
    THEN 1 - (total_cost + (month_unattributed_cost + month_subsidy_cost) * mrr_weight) / NULLIF(total_mrr, 0)
  END AS fully_loaded_margin,
  is_complete
FROM loads
