-- Weights of fixed splits (docs/attribution.md section 4): on every day with a pool of the split, each
-- customer it names weighs its share, whatever the customer's activity that day. ${fixed_shares} lists
-- (driver, customer_id, share) as written in the rules. The run refuses an id the customer dimension
-- lacks before attributing (checkFixedCustomers); should one get this far, its share is unattributed
-- (customer_id NULL: unknown_tenant) rather than given to a customer that does not exist; so is a share on
-- a day before the customer's first version (docs/attribution.md 1.3).
SELECT d.usage_date, s.driver, c.customer_id, s.share AS weight
FROM ${pool_days} AS d
JOIN ${fixed_shares} AS s ON s.driver = d.driver
LEFT JOIN (SELECT DISTINCT customer_id, valid_from, valid_to FROM ${customer_periods}) AS c
  ON c.customer_id = s.customer_id
  AND c.valid_from <= d.usage_date
  AND d.usage_date < c.valid_to
