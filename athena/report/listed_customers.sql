-- The customers the report lists for a billing period, spliced into the report's queries as a subquery: the
-- customers with cost in the month, from the finance view customer_monthly_cost (cost over the month; MRR
-- and plan as on the customer's latest usage day; cost_to_mrr NULL when MRR is 0). They are the
-- max_customers costliest (the report shows the rest of each tier as one block, from tier_margin's
-- totals), and also the worst_margins customers with the highest cost / MRR, so that a small customer that
-- costs more than it pays is named in the worst-margins table even when it is far from the costliest.
-- Filtered outside the view so that is_complete keeps the view's meaning; the filter on billing_period
-- still reaches the table scan (both engines push it through the view's GROUP BY billing_period).
WITH ranked AS (
  SELECT
    c.*,
    row_number() OVER (ORDER BY c.total_cost DESC, c.customer_id) AS cost_rank,
    row_number() OVER (
      ORDER BY CASE WHEN c.cost_to_mrr IS NULL THEN 1 ELSE 0 END, c.cost_to_mrr DESC, c.customer_id
    ) AS margin_rank
  FROM ${customer_monthly_cost} AS c
  WHERE c.billing_period = ${billing_period}
)
SELECT
  r.customer_id,
  r.customer_name,
  r.tier,
  r.plan_status,
  r.mrr,
  r.days_with_cost,
  r.direct_cost,
  r.shared_cost,
  r.total_cost,
  r.cost_to_mrr,
  r.is_complete
FROM ranked AS r
WHERE r.cost_rank <= ${max_customers} OR (r.margin_rank <= ${worst_margins} AND r.cost_to_mrr IS NOT NULL)
