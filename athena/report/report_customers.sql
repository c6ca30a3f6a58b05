-- The report's customers: the customers with cost in the billing period, from the finance view
-- customer_monthly_cost (cost over the month; MRR and plan as on the customer's latest usage day;
-- cost_to_mrr NULL when MRR is 0), highest cost first, at most max_customers of them (the report shows
-- the rest of each tier as one block, from tier_margin's totals). Filtered outside the view so that
-- is_complete keeps the view's meaning; the filter on billing_period still reaches the table scan (both
-- engines push it through the view's GROUP BY billing_period).
SELECT
  c.customer_id,
  c.customer_name,
  c.tier,
  c.plan_status,
  c.mrr,
  c.days_with_cost,
  c.direct_cost,
  c.shared_cost,
  c.total_cost,
  c.cost_to_mrr,
  c.is_complete
FROM ${customer_monthly_cost} AS c
WHERE c.billing_period = ${billing_period}
ORDER BY c.total_cost DESC, c.customer_id
LIMIT ${max_customers}
