-- The customer dimension with history (docs/attribution.md 1.3): each row with the dates its version is in
-- force, valid_from inclusive to valid_to exclusive, valid_to being the customer's next effective_from.
-- Before its first version a customer does not exist. The bounds are never NULL (a version without
-- effective_from starts on 1900-01-01, the last one ends on 9999-12-31) so that every reader joins on
-- the tenant or customer and two plain comparisons: an OR in a LEFT JOIN's condition makes DuckDB loop
-- over every pair of rows instead of hashing (13 s instead of a fraction of one on 2M line items).
-- 1900, not year 1: Parquet readers rebase dates before 1582 between calendars.
-- Stored once per run: the ledger's drivers, customer_daily_cost and customer_daily_usage all read it.
SELECT c.customer_id, c.tenant_id, c.name, c.tier, c.plan_status, c.mrr, c.start_date, c.end_date,
  coalesce(v.valid_from, DATE '1900-01-01') AS valid_from, coalesce(v.valid_to, DATE '9999-12-31') AS valid_to
FROM ${customers} AS c
JOIN (
  SELECT customer_id, effective_from AS valid_from,
    lead(effective_from) OVER (PARTITION BY customer_id ORDER BY effective_from NULLS FIRST) AS valid_to
  FROM (SELECT DISTINCT customer_id, effective_from FROM ${customers}) AS d
) AS v ON v.customer_id = c.customer_id AND v.valid_from IS NOT DISTINCT FROM c.effective_from
