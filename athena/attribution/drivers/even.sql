-- Weights of the even driver (docs/attribution.md section 4): 1 for every customer active on a day that has
-- an even pool (or an even part of a blend), so each of them gets an equal share. ${customer_periods}
-- holds each customer version's active period and validity (valid_from inclusive, valid_to exclusive):
-- the version in force on the day decides; a customer with several tenants counts once.
SELECT DISTINCT d.usage_date, 'even' AS driver, cp.customer_id, CAST(1 AS double) AS weight
FROM (SELECT DISTINCT usage_date FROM ${pool_days} WHERE driver = 'even') AS d
JOIN ${customer_periods} AS cp
  ON (cp.start_date IS NULL OR cp.start_date <= d.usage_date)
  AND (cp.end_date IS NULL OR d.usage_date <= cp.end_date)
  AND cp.valid_from <= d.usage_date
  AND d.usage_date < cp.valid_to
