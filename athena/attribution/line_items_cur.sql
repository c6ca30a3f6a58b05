-- Canonical line items (docs/attribution.md section 2) from a CUR 2.0 or legacy CUR table. The billing period
-- is carried as its start date and written as YYYY-MM after aggregation (cheaper to group by).
-- The tenant placeholder is the format's tenant expression (the first tenant tag key with a non-empty trimmed value,
-- normalised): element_at(resource_tags, 'user_<key>') for CUR 2.0, the resource_tags_user_<key> column
-- for legacy CUR (2.1). rule_tag_columns adds one column per tag and cost category the rules mention
-- (rule_tag_<n>, rule_cost_category_<n>: trimmed, '' when absent), rule_tag_names carries them out.
-- element_at, never m['k']: Trino's subscript fails the whole query on the first row without the key.
SELECT
  usage_date,
  billing_period_start,
  provider,
  account_id,
  region,
  service,
  usage_type,
  line_item_type,
  resource_id,
  tenant${rule_tag_names},
  CASE
    WHEN cost_basis = 'unblended' THEN coalesce(unblended_cost, 0)
    WHEN line_item_type = 'SavingsPlanCoveredUsage' THEN coalesce(savings_plan_effective_cost, 0)
    WHEN line_item_type = 'SavingsPlanRecurringFee'
      THEN coalesce(savings_plan_total_commitment_to_date, 0) - coalesce(savings_plan_used_commitment, 0)
    WHEN line_item_type IN ('SavingsPlanNegation', 'SavingsPlanUpfrontFee') THEN 0
    WHEN line_item_type = 'DiscountedUsage' THEN coalesce(reservation_effective_cost, 0)
    WHEN line_item_type = 'RIFee'
      THEN coalesce(reservation_unused_upfront_fee, 0) + coalesce(reservation_unused_recurring_fee, 0)
    WHEN line_item_type = 'Fee' AND reservation_arn <> '' THEN 0
    ELSE coalesce(amortized_usage_cost, 0)
  END AS cost
FROM (
  SELECT
    ${cost_basis} AS cost_basis,
    CAST(line_item_usage_start_date AS date) AS usage_date,
    CAST(bill_billing_period_start_date AS date) AS billing_period_start,
    'AWS' AS provider,
    coalesce(line_item_usage_account_id, '') AS account_id,
    coalesce(product_region_code, '') AS region,
    coalesce(line_item_product_code, '') AS service,
    coalesce(line_item_usage_type, '') AS usage_type,
    coalesce(line_item_line_item_type, '') AS line_item_type,
    coalesce(line_item_resource_id, '') AS resource_id,
    ${tenant} AS tenant${rule_tag_columns},
    coalesce(reservation_reservation_a_r_n, '') AS reservation_arn,
    line_item_unblended_cost AS unblended_cost,
    savings_plan_total_commitment_to_date,
    savings_plan_used_commitment,
    -- net_amortized reads each *_net_* column, falling back to its non-net twin when null.
    CASE WHEN ${cost_basis} = 'net_amortized'
      THEN coalesce(line_item_net_unblended_cost, line_item_unblended_cost)
      ELSE line_item_unblended_cost END AS amortized_usage_cost,
    CASE WHEN ${cost_basis} = 'net_amortized'
      THEN coalesce(savings_plan_net_savings_plan_effective_cost, savings_plan_savings_plan_effective_cost)
      ELSE savings_plan_savings_plan_effective_cost END AS savings_plan_effective_cost,
    CASE WHEN ${cost_basis} = 'net_amortized'
      THEN coalesce(reservation_net_effective_cost, reservation_effective_cost)
      ELSE reservation_effective_cost END AS reservation_effective_cost,
    CASE WHEN ${cost_basis} = 'net_amortized'
      THEN coalesce(
        reservation_net_unused_amortized_upfront_fee_for_billing_period,
        reservation_unused_amortized_upfront_fee_for_billing_period
      )
      ELSE reservation_unused_amortized_upfront_fee_for_billing_period END AS reservation_unused_upfront_fee,
    CASE WHEN ${cost_basis} = 'net_amortized'
      THEN coalesce(reservation_net_unused_recurring_fee, reservation_unused_recurring_fee)
      ELSE reservation_unused_recurring_fee END AS reservation_unused_recurring_fee
  FROM ${billing_source}
) AS cur_line_items
