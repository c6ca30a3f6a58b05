-- The report's top movers: the customers whose cost changed most from the previous calendar month
-- (previous_period) to the billing period, from the finance view customer_monthly_cost. A full outer join,
-- so that a customer new this month (previous cost 0) and one with cost only last month (cost 0 now) are
-- movers too, which customer_cost_trend (rows of months with cost only) would not show. Ranked by the size
-- of the change, either way; the report queries it only when the run holds the previous month.
WITH this_month AS (
  SELECT customer_id, customer_name, tier, plan_status, total_cost, mrr
  FROM ${customer_monthly_cost}
  WHERE billing_period = ${billing_period}
),
last_month AS (
  SELECT customer_id, customer_name, tier, plan_status, total_cost, mrr
  FROM ${customer_monthly_cost}
  WHERE billing_period = ${previous_period}
),
changes AS (
  SELECT
    coalesce(t.customer_id, l.customer_id) AS customer_id,
    coalesce(t.customer_name, l.customer_name) AS customer_name,
    coalesce(t.tier, l.tier) AS tier,
    coalesce(t.plan_status, l.plan_status) AS plan_status,
    coalesce(t.total_cost, 0) AS total_cost,
    coalesce(l.total_cost, 0) AS previous_cost,
    coalesce(t.total_cost, 0) - coalesce(l.total_cost, 0) AS cost_change,
    t.mrr,
    l.mrr AS previous_mrr
  FROM this_month AS t
  FULL OUTER JOIN last_month AS l ON l.customer_id = t.customer_id
)
SELECT
  customer_id,
  customer_name,
  tier,
  plan_status,
  total_cost,
  previous_cost,
  cost_change,
  cost_change / NULLIF(previous_cost, 0) AS cost_growth,
  mrr,
  previous_mrr
FROM changes
ORDER BY abs(cost_change) DESC, customer_id
LIMIT ${top_movers}
