-- The customers active on day D, with their fields (a fragment every customer rule reads, spliced in as
-- the active_customers placeholder): the version of each customer in force on D (docs/attribution.md
-- 1.3: the greatest effective_from <= D, NULL being the beginning; a customer whose first version is
-- after D does not exist yet), kept when D lies within its start_date and end_date (open ends allowed).
-- One row per customer: a customer's fields agree on the rows of its tenants.
SELECT DISTINCT c.customer_id, c.name, c.tier, c.plan_status, c.mrr, c.owner_team
FROM ${customers} AS c
JOIN (
  SELECT customer_id, max(effective_from) AS effective_from
  FROM ${customers}
  WHERE effective_from IS NULL OR effective_from <= ${as_of}
  GROUP BY customer_id
) AS v
  ON v.customer_id = c.customer_id AND v.effective_from IS NOT DISTINCT FROM c.effective_from
WHERE (c.start_date IS NULL OR c.start_date <= ${as_of}) AND (c.end_date IS NULL OR ${as_of} <= c.end_date)
