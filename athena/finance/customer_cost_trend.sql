-- customer_cost_trend (docs/finance.md): whether a customer's cost grows faster than their revenue. One row
-- per (billing_period, customer_id) of customer_monthly_cost.
--
-- Definitions:
-- - previous_cost, previous_mrr: the customer's total_cost and mrr in the previous calendar month
--   (lag over the customer's months, kept only when the lagged month is exactly the month before).
--   NULL when the customer has no cost row in that month, including in the first month of the data.
-- - cost_growth = total_cost / previous_cost - 1 (0.25 = +25% month over month); NULL when previous_cost
--   is NULL or 0. mrr_growth = mrr / previous_mrr - 1, the same way (NULL for free and trial months,
--   whose MRR is 0).
-- - cost_outgrows_mrr = cost_growth > mrr_growth; NULL when either is NULL.
-- - is_complete: as in customer_monthly_cost, for this month. The previous month of a month in the data is
--   always complete (a later month exists), so only an open current month makes a growth figure partial:
--   compare it only once is_complete is true.
WITH months AS (
  SELECT
    billing_period,
    customer_id,
    customer_name,
    tier,
    plan_status,
    total_cost,
    mrr,
    is_complete,
    substr(CAST(CAST(CAST(concat(billing_period, '-01') AS date) - INTERVAL '1' MONTH AS date) AS varchar), 1, 7)
      AS month_before,
    lag(billing_period) OVER (PARTITION BY customer_id ORDER BY billing_period) AS lag_period,
    lag(total_cost) OVER (PARTITION BY customer_id ORDER BY billing_period) AS lag_cost,
    lag(mrr) OVER (PARTITION BY customer_id ORDER BY billing_period) AS lag_mrr
  FROM ${customer_monthly_cost}
),
with_previous AS (
  SELECT
    billing_period,
    customer_id,
    customer_name,
    tier,
    plan_status,
    total_cost,
    CASE WHEN lag_period = month_before THEN lag_cost END AS previous_cost,
    mrr,
    CASE WHEN lag_period = month_before THEN lag_mrr END AS previous_mrr,
    is_complete
  FROM months
)
SELECT
  billing_period,
  customer_id,
  customer_name,
  tier,
  plan_status,
  total_cost,
  previous_cost,
  total_cost / NULLIF(previous_cost, 0) - 1 AS cost_growth,
  mrr,
  previous_mrr,
  mrr / NULLIF(previous_mrr, 0) - 1 AS mrr_growth,
  total_cost / NULLIF(previous_cost, 0) - 1 > mrr / NULLIF(previous_mrr, 0) - 1 AS cost_outgrows_mrr,
  is_complete
FROM with_previous
