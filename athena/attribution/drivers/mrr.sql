-- Weights of the mrr driver (docs/attribution.md section 4): each customer active on a day that has an mrr
-- pool (or an mrr part of a blend) weighs its MRR. A customer with MRR 0 still has a row (weight 0), so a
-- day whose active customers all have MRR 0 is told apart (no_revenue) from a day without any active
-- customer (no_active_customers, no row). The MRR comes from ${customer_periods}, one row per customer
-- version with its validity (valid_from inclusive, valid_to exclusive): the MRR and active period of the
-- version in force on the day (docs/attribution.md 1.3).
SELECT DISTINCT d.usage_date, 'mrr' AS driver, cp.customer_id, CAST(coalesce(cp.mrr, 0) AS double) AS weight
FROM (SELECT DISTINCT usage_date FROM ${pool_days} WHERE driver = 'mrr') AS d
JOIN ${customer_periods} AS cp
  ON (cp.start_date IS NULL OR cp.start_date <= d.usage_date)
  AND (cp.end_date IS NULL OR d.usage_date <= cp.end_date)
  AND cp.valid_from <= d.usage_date
  AND d.usage_date < cp.valid_to
