-- The billing periods (YYYY-MM) that a run's results hold, oldest first, each with its number of days of
-- billing data. The local run's report opens on the latest one with at least 7 days of data (a period
-- that holds only a stray late line is named, not shown). daily_summary has a row for every day with
-- billing data, so no period is missed.
SELECT billing_period, count(DISTINCT usage_date) AS days
FROM ${daily_summary}
GROUP BY billing_period
ORDER BY billing_period
