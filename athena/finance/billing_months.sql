-- The billing months of the results, one row each, spliced into the views that read them
-- (lib/finance/finance-registry.ts, renderFinanceView):
-- - is_complete: true when daily_summary (every day with billing data) has a usage day labelled with the
--   month that is its last calendar day or later, or when a later billing month exists. Otherwise the
--   month is still open and must not be compared with full months.
-- - days_in_month: the month's calendar days (what a GB-month divides by).
SELECT
  billing_period,
  max(usage_date) >= CAST(CAST(concat(billing_period, '-01') AS date) + INTERVAL '1' MONTH - INTERVAL '1' DAY AS date)
    OR billing_period < max(billing_period) OVER () AS is_complete,
  extract(DAY FROM CAST(CAST(concat(billing_period, '-01') AS date) + INTERVAL '1' MONTH - INTERVAL '1' DAY AS date))
    AS days_in_month
FROM ${daily_summary}
GROUP BY billing_period
