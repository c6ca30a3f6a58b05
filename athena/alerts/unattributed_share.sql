-- Share of attributable cost that reached no customer over the last 7 days [D-6, D] (docs/alerts.md).
SELECT
  sum(unattributed_cost) AS unattributed_cost,
  sum(total_cost) - sum(excluded_cost) AS attributable_cost,
  coalesce(sum(unattributed_cost) / NULLIF(sum(total_cost) - sum(excluded_cost), 0), 0) AS unattributed_share
FROM ${daily_summary}
WHERE usage_date BETWEEN ${current_start} AND ${as_of}
