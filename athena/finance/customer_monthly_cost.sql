-- customer_monthly_cost (docs/finance.md): what each customer costs to serve in a billing month, against what
-- they pay. One row per (billing_period, customer_id) for every customer with a cost row in the month.
--
-- Definitions:
-- - billing_period: the YYYY-MM label of customer_daily_cost. A usage day that spans two billing periods
--   is already labelled there with one of them (classified_cost.sql), so a day counts in exactly one month.
-- - total_cost, direct_cost, shared_cost: sums of the daily values over the month, unrounded
--   (total_cost = direct_cost + shared_cost).
-- - customer_name, tier, plan_status, mrr: as on the customer's latest usage day in the month (the
--   customer dimension the month's run used). mrr is the monthly figure and is never prorated: in an open
--   month a partial month of cost meets a full month of revenue, which is what is_complete warns about.
-- - cost_to_mrr = total_cost / mrr and margin = 1 - total_cost / mrr (infrastructure gross margin). Both
--   are NULL when mrr is 0 (free and trial customers): there is no revenue to compare with.
-- - days_with_cost: usage days on which the customer has a cost row.
-- - is_complete: true when daily_summary (every day with billing data) has a usage day labelled with this
--   month that is the month's last calendar day or later, or when a later billing month exists. Otherwise
--   the month is still open and must not be compared with full months.
WITH month_status AS (${billing_months}),
customer_months AS (
  SELECT
    billing_period,
    customer_id,
    max_by(customer_name, usage_date) AS customer_name,
    max_by(tier, usage_date) AS tier,
    max_by(plan_status, usage_date) AS plan_status,
    max_by(mrr, usage_date) AS mrr,
    CAST(count(*) AS integer) AS days_with_cost,
    sum(direct_cost) AS direct_cost,
    sum(shared_cost) AS shared_cost,
    sum(total_cost) AS total_cost
  FROM ${customer_daily_cost}
  GROUP BY billing_period, customer_id
)
SELECT
  c.billing_period,
  c.customer_id,
  c.customer_name,
  c.tier,
  c.plan_status,
  c.days_with_cost,
  c.direct_cost,
  c.shared_cost,
  c.total_cost,
  c.mrr,
  c.total_cost / NULLIF(c.mrr, 0) AS cost_to_mrr,
  1 - c.total_cost / NULLIF(c.mrr, 0) AS margin,
  coalesce(m.is_complete, false) AS is_complete
FROM customer_months AS c
LEFT JOIN month_status AS m ON m.billing_period = c.billing_period
