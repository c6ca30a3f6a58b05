-- The customer dimension with history (docs/attribution.md 1.3): each row with the dates its version is in
-- force, valid_from inclusive (NULL: from the beginning) to valid_to exclusive (NULL: open), valid_to
-- being the customer's next effective_from. Before its first version a customer does not exist.
-- Stored once per run: the ledger's drivers, customer_daily_cost and customer_daily_usage all read it.
SELECT c.customer_id, c.tenant_id, c.name, c.tier, c.plan_status, c.mrr, c.start_date, c.end_date, v.valid_from,
  v.valid_to
FROM ${customers} AS c
JOIN (
  SELECT customer_id, effective_from AS valid_from,
    lead(effective_from) OVER (PARTITION BY customer_id ORDER BY effective_from NULLS FIRST) AS valid_to
  FROM (SELECT DISTINCT customer_id, effective_from FROM ${customers}) AS d
) AS v ON v.customer_id = c.customer_id AND v.valid_from IS NOT DISTINCT FROM c.effective_from
