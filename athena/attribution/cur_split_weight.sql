-- The weight of a split cost allocation row (docs/attribution.md 2.2): split cost + unused cost, their net
-- variants under net_amortized. One expression spliced into line_items_cur.sql as split_weight.
CASE WHEN ${cost_basis} = 'net_amortized'
  THEN coalesce(split_line_item_net_split_cost, split_line_item_split_cost, 0)
    + coalesce(split_line_item_net_unused_cost, split_line_item_unused_cost, 0)
  ELSE coalesce(split_line_item_split_cost, 0) + coalesce(split_line_item_unused_cost, 0)
END
