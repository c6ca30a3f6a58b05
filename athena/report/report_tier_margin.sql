-- The report's margin by tier and plan status: the finance view tier_margin for the billing period, the
-- attributed margin (1 - total cost / total MRR) and the fully loaded one (with the tier's MRR-weighted
-- share of unattributed cost and of the free/trial subsidy); both NULL for rows without revenue.
SELECT
  t.tier,
  t.plan_status,
  t.customers,
  t.total_cost,
  t.total_mrr,
  t.mean_cost_per_customer,
  t.median_cost_per_customer,
  t.cost_to_mrr,
  t.margin,
  t.fully_loaded_cost,
  t.fully_loaded_margin
FROM ${tier_margin} AS t
WHERE t.billing_period = ${billing_period}
ORDER BY t.tier, t.plan_status
