-- The services that cost the most to each given customer over [D-29, D], for alert routing and context.
SELECT customer_id, service, cost, service_rank
FROM (
  SELECT
    customer_id,
    service,
    sum(cost) AS cost,
    row_number() OVER (PARTITION BY customer_id ORDER BY sum(cost) DESC, service) AS service_rank
  FROM ${customer_daily_service_cost}
  WHERE usage_date BETWEEN ${window_start} AND ${as_of} AND customer_id IN (${customer_ids})
  GROUP BY customer_id, service
) AS ranked
WHERE service_rank <= ${top_count}
