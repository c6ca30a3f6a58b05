-- The billing month each usage day counts in, one row per day, spliced into the views that read it
-- (lib/finance/finance-registry.ts, SHARED_FRAGMENTS): the later label of a day whose line items carry
-- two billing periods, as daily_summary gives it, so cost, usage and the bill cover the same days.
SELECT usage_date, max(billing_period) AS billing_period
FROM ${daily_summary}
GROUP BY usage_date
