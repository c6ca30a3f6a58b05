import { type BillingColumn, optional, required } from './types.ts';

/** The expressions line_items_cur.sql uses twice each (BillingFormat.fragments), for CUR 2.0 and legacy CUR. */
export const CUR_FRAGMENTS: Readonly<Record<string, string>> = {
  line_item_cost: 'attribution/cur_line_item_cost.sql',
  split_weight: 'attribution/cur_split_weight.sql',
};

/** Columns CUR 2.0 and legacy CUR (Athena integration) share, by the same names. */
export const CUR_COLUMNS: readonly BillingColumn[] = [
  required('line_item_usage_start_date', 'timestamp'),
  required('bill_billing_period_start_date', 'timestamp'),
  required('line_item_line_item_type', 'varchar'),
  required('line_item_product_code', 'varchar'),
  required('line_item_unblended_cost', 'double'),
  optional('line_item_usage_account_id', 'varchar'),
  optional('line_item_usage_type', 'varchar'),
  optional('line_item_resource_id', 'varchar'),
  optional('product_region_code', 'varchar'),
  optional('line_item_net_unblended_cost', 'double'),
  optional('savings_plan_savings_plan_effective_cost', 'double'),
  optional('savings_plan_net_savings_plan_effective_cost', 'double'),
  optional('savings_plan_total_commitment_to_date', 'double'),
  optional('savings_plan_used_commitment', 'double'),
  optional('reservation_reservation_a_r_n', 'varchar'),
  optional('reservation_effective_cost', 'double'),
  optional('reservation_net_effective_cost', 'double'),
  optional('reservation_unused_amortized_upfront_fee_for_billing_period', 'double'),
  optional('reservation_net_unused_amortized_upfront_fee_for_billing_period', 'double'),
  optional('reservation_unused_recurring_fee', 'double'),
  optional('reservation_net_unused_recurring_fee', 'double'),
  // NULL or '' means USD (1.1).
  optional('line_item_currency_code', 'varchar'),
  // Tells a Savings Plan upfront-fee refund ('Refund for one-time fee ...') from other refunds.
  optional('line_item_line_item_description', 'varchar'),
  // Split cost allocation data (2.2): absent in exports without it, so no row is a split row.
  optional('split_line_item_parent_resource_id', 'varchar'),
  optional('split_line_item_split_cost', 'double'),
  optional('split_line_item_unused_cost', 'double'),
  optional('split_line_item_net_split_cost', 'double'),
  optional('split_line_item_net_unused_cost', 'double'),
];
