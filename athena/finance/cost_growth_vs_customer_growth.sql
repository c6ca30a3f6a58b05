-- cost_growth_vs_customer_growth (docs/finance.md): whether infrastructure gets more efficient as the customer
-- base grows. One row per usage_date of daily_summary (every day with billing data).
--
-- Definitions, for a day d:
-- - Daily cost: daily_summary's total_cost - excluded_cost, the cost of running the product (customers'
--   cost plus unattributed cost; excluded line items such as tax are not infrastructure).
-- - cost_90d: daily cost summed over the 90 days d - 89 .. d. prior_cost_90d: over the 90 days before
--   that, d - 179 .. d - 90. A day without billing data inside a window counts as 0.
-- - window_complete: the data starts on or before d - 179, so both windows are fully covered. Before
--   that, the sums are shown as far as the data goes but no growth figure is given.
-- - cost_growth = cost_90d / prior_cost_90d, a ratio (1.10 = the last 90 days cost 10% more than the 90
--   before). NULL unless window_complete, and when prior_cost_90d is 0.
-- - active_customers: distinct customers of the customer dimension active on d (start_date <= d <=
--   end_date, open ends allowed: the rule docs/attribution.md uses for even sharing).
--   active_customers_90d_earlier: the same on d - 90. The dimension only knows start and end dates, so
--   history is as good as those dates.
-- - customer_growth = active_customers / active_customers_90d_earlier (NULL when that is 0).
-- - efficiency = cost_growth / customer_growth: how 90-day cost per active customer changed. 1 = cost grew
--   exactly in step with customers, below 1 = more efficient, above 1 = less. NULL when either is NULL or
--   customer_growth is 0.
WITH days AS (
  SELECT usage_date, total_cost - excluded_cost AS day_cost
  FROM ${daily_summary}
),
data_start AS (
  SELECT min(usage_date) AS first_usage_date FROM days
),
windows AS (
  SELECT
    d.usage_date,
    sum(CASE WHEN s.usage_date > CAST(d.usage_date - INTERVAL '90' DAY AS date) THEN s.day_cost ELSE 0 END)
      AS cost_90d,
    sum(CASE WHEN s.usage_date <= CAST(d.usage_date - INTERVAL '90' DAY AS date) THEN s.day_cost ELSE 0 END)
      AS prior_cost_90d
  FROM days AS d
  JOIN days AS s
    ON s.usage_date BETWEEN CAST(d.usage_date - INTERVAL '179' DAY AS date) AND d.usage_date
  GROUP BY d.usage_date
),
customer_fields AS (
  SELECT DISTINCT customer_id, start_date, end_date FROM ${customers}
),
active AS (
  SELECT
    d.usage_date,
    count(DISTINCT CASE
      WHEN (c.start_date IS NULL OR c.start_date <= d.usage_date)
        AND (c.end_date IS NULL OR d.usage_date <= c.end_date)
      THEN c.customer_id
    END) AS active_customers,
    count(DISTINCT CASE
      WHEN (c.start_date IS NULL OR c.start_date <= CAST(d.usage_date - INTERVAL '90' DAY AS date))
        AND (c.end_date IS NULL OR CAST(d.usage_date - INTERVAL '90' DAY AS date) <= c.end_date)
      THEN c.customer_id
    END) AS active_customers_90d_earlier
  FROM days AS d
  CROSS JOIN customer_fields AS c
  GROUP BY d.usage_date
),
growth AS (
  SELECT
    w.usage_date,
    w.cost_90d,
    w.prior_cost_90d,
    b.first_usage_date <= CAST(w.usage_date - INTERVAL '179' DAY AS date) AS window_complete,
    CAST(coalesce(a.active_customers, 0) AS integer) AS active_customers,
    CAST(coalesce(a.active_customers_90d_earlier, 0) AS integer) AS active_customers_90d_earlier
  FROM windows AS w
  CROSS JOIN data_start AS b
  LEFT JOIN active AS a ON a.usage_date = w.usage_date
),
ratios AS (
  SELECT
    usage_date,
    cost_90d,
    prior_cost_90d,
    window_complete,
    CASE WHEN window_complete THEN cost_90d / NULLIF(prior_cost_90d, 0) END AS cost_growth,
    active_customers,
    active_customers_90d_earlier,
    CAST(active_customers AS double) / NULLIF(CAST(active_customers_90d_earlier AS double), 0)
      AS customer_growth
  FROM growth
)
SELECT
  usage_date,
  cost_90d,
  prior_cost_90d,
  window_complete,
  cost_growth,
  active_customers,
  active_customers_90d_earlier,
  customer_growth,
  cost_growth / NULLIF(customer_growth, 0) AS efficiency
FROM ratios
