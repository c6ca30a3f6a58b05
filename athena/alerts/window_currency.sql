-- The currencies of the billing data over the alert window [D-29, D] (docs/alerts.md: money is written
-- in the run's currency). One row for the results of one run, which refuses mixed currencies; deployed,
-- the window reads the visible runs of up to two billing periods, and these must agree too. No row: no
-- billing data in the window.
SELECT DISTINCT currency AS window_currency
FROM ${daily_summary}
WHERE usage_date BETWEEN ${window_start} AND ${as_of}
ORDER BY window_currency
