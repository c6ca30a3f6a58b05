-- The conservation law (docs/attribution.md section 5): per day, customers + unattributed + excluded equals
-- the day's total cost of all line items, within 1e-6 x max(1, |total|). Returns only the days that
-- break it; a run with any row here must not publish.
WITH line_item_totals AS (
  SELECT usage_date, sum(cost) AS total_cost
  FROM ${classified_cost}
  GROUP BY usage_date
),
customer_totals AS (
  SELECT usage_date, sum(total_cost) AS customer_cost
  FROM ${customer_daily_cost}
  GROUP BY usage_date
),
other_totals AS (
  SELECT
    usage_date,
    sum(CASE WHEN outcome = 'unattributed' THEN cost ELSE 0 END) AS unattributed_cost,
    sum(CASE WHEN outcome = 'excluded' THEN cost ELSE 0 END) AS excluded_cost
  FROM ${allocated_cost}
  GROUP BY usage_date
),
days AS (
  SELECT
    coalesce(t.usage_date, c.usage_date, o.usage_date) AS usage_date,
    coalesce(t.total_cost, 0) AS total_cost,
    coalesce(c.customer_cost, 0) AS customer_cost,
    coalesce(o.unattributed_cost, 0) AS unattributed_cost,
    coalesce(o.excluded_cost, 0) AS excluded_cost
  FROM line_item_totals AS t
  FULL OUTER JOIN customer_totals AS c ON c.usage_date = t.usage_date
  FULL OUTER JOIN other_totals AS o ON o.usage_date = coalesce(t.usage_date, c.usage_date)
)
SELECT
  usage_date,
  total_cost,
  customer_cost,
  unattributed_cost,
  excluded_cost,
  customer_cost + unattributed_cost + excluded_cost - total_cost AS difference
FROM days
WHERE NOT (
  abs(customer_cost + unattributed_cost + excluded_cost - total_cost)
    <= 1e-6 * greatest(1, abs(total_cost))
)
