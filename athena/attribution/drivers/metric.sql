-- Weights of metric drivers (docs/attribution.md section 4): each tenant's summed quantity of the metric on
-- the day, over every tenant in the telemetry as the run read and checked it (usage_rows.sql), known or
-- not; customer_id is NULL for a tenant that no customer has, so its share becomes unattributed
-- (unknown_tenant). ${metrics} lists the metrics the
-- rules use; ${tenant_customers} is the ledger's tenant -> customer map, the one in force on the day.
SELECT u.usage_date, u.metric AS driver, t.customer_id, sum(u.quantity) AS weight
FROM ${usage_rows} AS u
LEFT JOIN ${tenant_customers} AS t
  ON t.tenant_id = u.tenant_id
  AND t.valid_from <= u.usage_date
  AND u.usage_date < t.valid_to
WHERE u.metric IN (${metrics})
GROUP BY u.usage_date, u.metric, t.customer_id
