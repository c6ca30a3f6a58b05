-- cost_outliers (docs/finance.md): paid customers whose cost-to-revenue ratio is above the normal range of
-- their tier in a billing month. One row per (billing_period, customer_id) that is an outlier.
--
-- Definitions:
-- - Population: per (billing_period, tier), the paid customers of customer_monthly_cost, meaning mrr > 0
--   (a ratio to revenue needs revenue). ratio = cost_to_mrr = total_cost / mrr.
-- - q1, q3: the 25th and 75th percentiles of the ratios by linear interpolation, the definition of
--   numpy's default and of quantile_cont: sort the n ratios, h = (n - 1) x p, and
--   q = v[floor(h)] + (h - floor(h)) x (v[ceil(h)] - v[floor(h)]) with 0-based positions. Exact and
--   portable with row_number and lead (no approx_percentile, no quantile_cont).
-- - iqr = q3 - q1, upper_fence = q3 + 1.5 x iqr (Tukey). A customer is an outlier when ratio > upper_fence
--   (strictly: a ratio equal to the fence is not one).
-- - paid_customers: n, the size of the group the fence comes from. With n <= 3 no value can exceed the
--   fence, so small tiers never produce outliers.
-- - is_complete: as in customer_monthly_cost. In an open month every ratio is partial cost over a full
--   month of MRR, so all ratios are low alike and the comparison within the tier still holds.
WITH paid AS (
  SELECT billing_period, tier, customer_id, customer_name, plan_status, total_cost, mrr, cost_to_mrr, is_complete
  FROM ${customer_monthly_cost}
  WHERE mrr > 0
),
ranked AS (
  SELECT
    billing_period,
    tier,
    cost_to_mrr,
    lead(cost_to_mrr) OVER (PARTITION BY billing_period, tier ORDER BY cost_to_mrr, customer_id) AS next_ratio,
    row_number() OVER (PARTITION BY billing_period, tier ORDER BY cost_to_mrr, customer_id) - 1 AS idx,
    CAST(count(*) OVER (PARTITION BY billing_period, tier) - 1 AS double) AS last_idx
  FROM paid
),
quartiles AS (
  SELECT
    billing_period,
    tier,
    CAST(max(last_idx) + 1 AS integer) AS paid_customers,
    sum(
      CASE WHEN idx = floor(last_idx * 0.25)
        THEN cost_to_mrr + (last_idx * 0.25 - idx) * (coalesce(next_ratio, cost_to_mrr) - cost_to_mrr)
      END
    ) AS q1,
    sum(
      CASE WHEN idx = floor(last_idx * 0.75)
        THEN cost_to_mrr + (last_idx * 0.75 - idx) * (coalesce(next_ratio, cost_to_mrr) - cost_to_mrr)
      END
    ) AS q3
  FROM ranked
  GROUP BY billing_period, tier
)
SELECT
  p.billing_period,
  p.customer_id,
  p.customer_name,
  p.tier,
  p.plan_status,
  p.total_cost,
  p.mrr,
  p.cost_to_mrr,
  q.q1,
  q.q3,
  q.q3 - q.q1 AS iqr,
  q.q3 + 1.5 * (q.q3 - q.q1) AS upper_fence,
  q.paid_customers,
  p.is_complete
FROM paid AS p
JOIN quartiles AS q ON q.billing_period = p.billing_period AND q.tier = p.tier
WHERE p.cost_to_mrr > q.q3 + 1.5 * (q.q3 - q.q1)
