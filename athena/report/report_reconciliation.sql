-- The report's reconciliation waterfall for the billing period: the finance view cost_reconciliation
-- (bill total -> excluded -> unattributed, by reason -> free/trial customers -> paid customers), at most one
-- row. The steps after the bill add up to it; unreconciled_cost is 0 unless the results were altered.
SELECT
  r.bill_total,
  r.excluded_cost,
  r.unattributed_cost,
  r.unknown_tenant_cost,
  r.no_rule_cost,
  r.no_usage_signal_cost,
  r.no_active_customers_cost,
  r.no_revenue_cost,
  r.other_reason_cost,
  r.free_trial_cost,
  r.free_trial_customers,
  r.paid_cost,
  r.paid_customers,
  r.unreconciled_cost
FROM ${cost_reconciliation} AS r
WHERE r.billing_period = ${billing_period}
