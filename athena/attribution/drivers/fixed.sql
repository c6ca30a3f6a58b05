-- Weights of fixed splits (docs/attribution.md section 4): on every day with a pool of the split, each
-- customer it names weighs its share, whatever the customer's activity that day. ${fixed_shares} lists
-- (driver, customer_id, share) as written in the rules; the run has checked that every id is a customer.
SELECT d.usage_date, s.driver, s.customer_id, s.share AS weight
FROM ${pool_days} AS d
JOIN ${fixed_shares} AS s ON s.driver = d.driver
