-- The report's free-tier concentration: the finance view free_tier_economics for the billing period (at
-- most one row; none when no customer has cost in the period).
SELECT
  f.free_trial_accounts,
  f.free_cost,
  f.trial_cost,
  f.free_trial_cost,
  f.customer_cost,
  f.share_of_customer_cost,
  f.top_10pct_accounts,
  f.top_10pct_share,
  f.top_20pct_accounts,
  f.top_20pct_share
FROM ${free_tier_economics} AS f
WHERE f.billing_period = ${billing_period}
