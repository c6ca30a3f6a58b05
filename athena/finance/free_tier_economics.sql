-- free_tier_economics (docs/finance.md): what free and trial accounts cost, and how concentrated that cost is.
-- One row per billing_period that has customer cost.
--
-- Definitions (over customer_monthly_cost, so plan_status is as on the customer's latest usage day):
-- - free_trial_accounts: n, the free and trial customers with a cost row in the month.
-- - free_cost, trial_cost, free_trial_cost: their monthly cost (0 when there are none).
-- - customer_cost: the cost of all customers in the month (paid, trial and free; unattributed and
--   excluded cost are not customer cost). share_of_customer_cost = free_trial_cost / customer_cost.
-- - Concentration: the n accounts ranked by monthly cost, highest first (ties broken by customer_id; tied
--   accounts cost the same, so the shares do not depend on the tie-break). The top 10% are the first
--   k = ceil(0.1 x n) accounts, the top 20% the first ceil(0.2 x n): at least one account as soon as
--   n >= 1 (n = 7 gives 1 and 2 accounts). Rank r (1-based) is in the top 10% exactly when
--   10 x (r - 1) < n, and in the top 20% when 5 x (r - 1) < n: integer arithmetic with no division, the
--   same on both engines (ceil of a DOUBLE like 30 x 0.1 = 3.0000000000000004 would give 4).
--   top_10pct_share = cost of those accounts / free_trial_cost (NULL when free_trial_cost is 0).
-- - is_complete: as in customer_monthly_cost.
WITH monthly AS (
  SELECT billing_period, is_complete, customer_id, plan_status, total_cost
  FROM ${customer_monthly_cost}
),
ranked AS (
  SELECT
    billing_period,
    plan_status,
    total_cost,
    row_number() OVER (PARTITION BY billing_period ORDER BY total_cost DESC, customer_id) AS cost_rank,
    count(*) OVER (PARTITION BY billing_period) AS accounts
  FROM monthly
  WHERE plan_status IN ('free', 'trial')
),
free_trial AS (
  SELECT
    billing_period,
    CAST(max(accounts) AS integer) AS accounts,
    sum(total_cost) FILTER (WHERE plan_status = 'free') AS free_cost,
    sum(total_cost) FILTER (WHERE plan_status = 'trial') AS trial_cost,
    sum(total_cost) AS free_trial_cost,
    CAST(count(*) FILTER (WHERE 10 * (cost_rank - 1) < accounts) AS integer) AS top_10pct_accounts,
    sum(total_cost) FILTER (WHERE 10 * (cost_rank - 1) < accounts) AS top_10pct_cost,
    CAST(count(*) FILTER (WHERE 5 * (cost_rank - 1) < accounts) AS integer) AS top_20pct_accounts,
    sum(total_cost) FILTER (WHERE 5 * (cost_rank - 1) < accounts) AS top_20pct_cost
  FROM ranked
  GROUP BY billing_period
),
months AS (
  SELECT billing_period, is_complete, sum(total_cost) AS customer_cost
  FROM monthly
  GROUP BY billing_period, is_complete
)
SELECT
  m.billing_period,
  coalesce(f.accounts, 0) AS free_trial_accounts,
  coalesce(f.free_cost, 0) AS free_cost,
  coalesce(f.trial_cost, 0) AS trial_cost,
  coalesce(f.free_trial_cost, 0) AS free_trial_cost,
  m.customer_cost,
  coalesce(f.free_trial_cost, 0) / NULLIF(m.customer_cost, 0) AS share_of_customer_cost,
  coalesce(f.top_10pct_accounts, 0) AS top_10pct_accounts,
  f.top_10pct_cost / NULLIF(f.free_trial_cost, 0) AS top_10pct_share,
  coalesce(f.top_20pct_accounts, 0) AS top_20pct_accounts,
  f.top_20pct_cost / NULLIF(f.free_trial_cost, 0) AS top_20pct_share,
  m.is_complete
FROM months AS m
LEFT JOIN free_trial AS f ON f.billing_period = m.billing_period
