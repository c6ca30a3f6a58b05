-- The report's daily trend: one row per usage day of the billing period, from daily_summary.
--
-- - attributed_cost = direct_cost + shared_cost (cost that reached a customer).
-- - unattributed_pct is daily_summary's: unattributed / (total - excluded), 0 when that is 0.
-- - conserved: the conservation law read back from the published summary, attributed + unattributed +
--   excluded = total within 1e-6 x max(1, |total|) (the same tolerance as conservation_check.sql). The
--   run refuses to publish when it fails, so false here means the results were altered afterwards.
-- - currency: the run's one currency (every row the same), in which the report writes its money.
SELECT
  CAST(usage_date AS varchar) AS usage_date,
  total_cost,
  direct_cost,
  shared_cost,
  direct_cost + shared_cost AS attributed_cost,
  unattributed_cost,
  excluded_cost,
  unattributed_pct,
  direct_cost + shared_cost + unattributed_cost + excluded_cost - total_cost AS conservation_difference,
  abs(direct_cost + shared_cost + unattributed_cost + excluded_cost - total_cost)
    <= 1e-6 * greatest(1, abs(total_cost)) AS conserved,
  currency
FROM ${daily_summary}
WHERE billing_period = ${billing_period}
ORDER BY usage_date
