-- The canonical cost of a CUR line item (docs/attribution.md section 2), one expression spliced into
-- line_items_cur.sql as its line_item_cost placeholder: net_amortized reads each *_net_* column, else its non-net twin.
CASE
  WHEN ${cost_basis} = 'unblended' THEN coalesce(line_item_unblended_cost, 0)
  WHEN line_item_line_item_type = 'SavingsPlanCoveredUsage' THEN coalesce(
    CASE WHEN ${cost_basis} = 'net_amortized' THEN savings_plan_net_savings_plan_effective_cost END,
    savings_plan_savings_plan_effective_cost, 0)
  WHEN line_item_line_item_type = 'SavingsPlanRecurringFee'
    THEN coalesce(savings_plan_total_commitment_to_date, 0) - coalesce(savings_plan_used_commitment, 0)
  WHEN line_item_line_item_type IN ('SavingsPlanNegation', 'SavingsPlanUpfrontFee') THEN 0
  WHEN line_item_line_item_type = 'Refund'
    AND line_item_product_code IN ('ComputeSavingsPlans', 'MachineLearningSavingsPlans')
    AND line_item_line_item_description LIKE 'Refund for one-time fee%' THEN 0
  WHEN line_item_line_item_type = 'DiscountedUsage' THEN coalesce(
    CASE WHEN ${cost_basis} = 'net_amortized' THEN reservation_net_effective_cost END,
    reservation_effective_cost, 0)
  WHEN line_item_line_item_type = 'RIFee' THEN coalesce(
    CASE WHEN ${cost_basis} = 'net_amortized'
      THEN reservation_net_unused_amortized_upfront_fee_for_billing_period END,
    reservation_unused_amortized_upfront_fee_for_billing_period, 0) + coalesce(
    CASE WHEN ${cost_basis} = 'net_amortized' THEN reservation_net_unused_recurring_fee END,
    reservation_unused_recurring_fee, 0)
  WHEN line_item_line_item_type = 'Fee' AND reservation_reservation_a_r_n <> '' THEN 0
  ELSE coalesce(
    CASE WHEN ${cost_basis} = 'net_amortized' THEN line_item_net_unblended_cost END,
    line_item_unblended_cost, 0)
END
