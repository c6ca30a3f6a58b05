-- What contributed most to each given customer's cost over [D-29, D]: the (rule, service) of the service
-- breakdown with the greatest cost, for routing the customer's alerts to the rule's owner, else to the
-- service's team (docs/alerts.md "Routing"). Ties go to the first rule id, then service, in sort order.
SELECT customer_id, rule_id, service
FROM (
  SELECT
    customer_id,
    rule_id,
    service,
    row_number() OVER (PARTITION BY customer_id ORDER BY sum(cost) DESC, rule_id, service) AS contributor_rank
  FROM ${customer_daily_service_cost}
  WHERE usage_date BETWEEN ${window_start} AND ${as_of} AND customer_id IN (${customer_ids})
  GROUP BY customer_id, rule_id, service
) AS ranked
WHERE contributor_rank = 1
