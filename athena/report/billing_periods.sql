-- The billing periods (YYYY-MM) that a run's results hold, oldest first. The local run's report shows
-- the latest one. daily_summary has a row for every day with billing data, so no period is missed.
SELECT DISTINCT billing_period AS billing_period
FROM ${daily_summary}
ORDER BY billing_period
