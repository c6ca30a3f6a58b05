-- Canonical line items (docs/attribution.md section 2) from a CUR 2.0 or legacy CUR table. The billing period
-- is carried as its start date and written as YYYY-MM after aggregation (cheaper to group by).
-- The tenant placeholder is the format's tenant expression (the first tenant tag key with a non-empty trimmed value,
-- normalised): element_at(resource_tags, 'user_<key>') for CUR 2.0 (or the newer tags map,
-- 'resourceTags/<key>'), the resource_tags_user_<key> column for legacy CUR (2.1). rule_tag_columns adds one
-- column per tag and cost category the rules mention (rule_tag_<n>, rule_cost_category_<n>: trimmed, ''
-- when absent), rule_tag_names carries them out.
-- element_at, never m['k']: Trino's subscript fails the whole query on the first row without the key.
--
-- Split cost allocation data (2.2): a split row (non-empty split_line_item_parent_resource_id) of parent
-- instance p and usage slot s gets C(p,s) x w / W, C(p,s) the canonical cost of p's own rows of s, w its
-- split cost plus unused cost (net variants under net_amortized), W the sum of w over the split rows of
-- (p,s); p's own rows of s then cost 0. W = 0, or no row of p in s: split rows 0, p keeps its cost.
-- Done with two small aggregates joined back (split_slots, parent_cost), not a window over every row:
-- without split rows both are empty and the joins cost next to nothing. The costed line items are
-- written out twice (the main FROM and parent_cost) instead of as a CTE read twice: DuckDB materialises
-- a CTE read twice (every line item held in memory, four times the peak memory at 2M line items), Trino
-- inlines it either way. Both copies are identical (test/unit/line-items-cur-sql.test.ts checks it).
WITH split_slots AS (
  -- W per (parent, slot), from the split rows alone.
  SELECT
    coalesce(split_line_item_parent_resource_id, '') AS parent,
    line_item_usage_start_date AS slot,
    sum(
      CASE WHEN ${cost_basis} = 'net_amortized'
        THEN coalesce(split_line_item_net_split_cost, split_line_item_split_cost, 0)
          + coalesce(split_line_item_net_unused_cost, split_line_item_unused_cost, 0)
        ELSE coalesce(split_line_item_split_cost, 0) + coalesce(split_line_item_unused_cost, 0)
      END
    ) AS split_total
  FROM ${billing_source}
  WHERE split_line_item_parent_resource_id <> ''
  GROUP BY coalesce(split_line_item_parent_resource_id, ''), line_item_usage_start_date
),
-- C per (parent, slot): the parent's own rows of a slot that has split rows.
parent_cost AS (
  SELECT i.resource_id AS parent, i.usage_start AS slot, sum(i.base_cost) AS parent_total
  FROM (
  -- costed line items, copy 1 of 2 (keep identical)
    SELECT
      usage_start,
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
      currency,
      split_parent,
      split_weight,
      CASE
        WHEN cost_basis = 'unblended' THEN coalesce(unblended_cost, 0)
        WHEN line_item_type = 'SavingsPlanCoveredUsage' THEN coalesce(savings_plan_effective_cost, 0)
        WHEN line_item_type = 'SavingsPlanRecurringFee'
          THEN coalesce(savings_plan_total_commitment_to_date, 0) - coalesce(savings_plan_used_commitment, 0)
        WHEN line_item_type IN ('SavingsPlanNegation', 'SavingsPlanUpfrontFee') THEN 0
        -- The refund of a Savings Plan's upfront fee is amortized away like the fee itself (1.1).
        WHEN line_item_type = 'Refund'
          AND service IN ('ComputeSavingsPlans', 'MachineLearningSavingsPlans')
          AND description LIKE 'Refund for one-time fee%' THEN 0
        WHEN line_item_type = 'DiscountedUsage' THEN coalesce(reservation_effective_cost, 0)
        WHEN line_item_type = 'RIFee'
          THEN coalesce(reservation_unused_upfront_fee, 0) + coalesce(reservation_unused_recurring_fee, 0)
        WHEN line_item_type = 'Fee' AND reservation_arn <> '' THEN 0
        ELSE coalesce(amortized_usage_cost, 0)
      END AS base_cost
    FROM (
      SELECT
        ${cost_basis} AS cost_basis,
        line_item_usage_start_date AS usage_start,
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
        coalesce(nullif(line_item_currency_code, ''), 'USD') AS currency,
        coalesce(line_item_line_item_description, '') AS description,
        coalesce(split_line_item_parent_resource_id, '') AS split_parent,
        CASE WHEN ${cost_basis} = 'net_amortized'
          THEN coalesce(split_line_item_net_split_cost, split_line_item_split_cost, 0)
            + coalesce(split_line_item_net_unused_cost, split_line_item_unused_cost, 0)
          ELSE coalesce(split_line_item_split_cost, 0) + coalesce(split_line_item_unused_cost, 0)
        END AS split_weight,
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
    ) AS cur_columns
  -- end of copy 1
  ) AS i
  JOIN split_slots AS s ON i.resource_id = s.parent AND i.usage_start = s.slot
  WHERE i.split_parent = ''
  GROUP BY i.resource_id, i.usage_start
)
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
  currency,
  CASE
    WHEN s.parent IS NULL THEN i.base_cost
    WHEN i.split_parent <> ''
      THEN CASE WHEN s.split_total > 0 AND p.parent IS NOT NULL
        THEN p.parent_total * i.split_weight / NULLIF(s.split_total, 0) ELSE 0 END
    WHEN s.split_total > 0 THEN 0
    ELSE i.base_cost
  END AS cost
FROM (
  -- costed line items, copy 2 of 2 (keep identical)
    SELECT
      usage_start,
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
      currency,
      split_parent,
      split_weight,
      CASE
        WHEN cost_basis = 'unblended' THEN coalesce(unblended_cost, 0)
        WHEN line_item_type = 'SavingsPlanCoveredUsage' THEN coalesce(savings_plan_effective_cost, 0)
        WHEN line_item_type = 'SavingsPlanRecurringFee'
          THEN coalesce(savings_plan_total_commitment_to_date, 0) - coalesce(savings_plan_used_commitment, 0)
        WHEN line_item_type IN ('SavingsPlanNegation', 'SavingsPlanUpfrontFee') THEN 0
        -- The refund of a Savings Plan's upfront fee is amortized away like the fee itself (1.1).
        WHEN line_item_type = 'Refund'
          AND service IN ('ComputeSavingsPlans', 'MachineLearningSavingsPlans')
          AND description LIKE 'Refund for one-time fee%' THEN 0
        WHEN line_item_type = 'DiscountedUsage' THEN coalesce(reservation_effective_cost, 0)
        WHEN line_item_type = 'RIFee'
          THEN coalesce(reservation_unused_upfront_fee, 0) + coalesce(reservation_unused_recurring_fee, 0)
        WHEN line_item_type = 'Fee' AND reservation_arn <> '' THEN 0
        ELSE coalesce(amortized_usage_cost, 0)
      END AS base_cost
    FROM (
      SELECT
        ${cost_basis} AS cost_basis,
        line_item_usage_start_date AS usage_start,
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
        coalesce(nullif(line_item_currency_code, ''), 'USD') AS currency,
        coalesce(line_item_line_item_description, '') AS description,
        coalesce(split_line_item_parent_resource_id, '') AS split_parent,
        CASE WHEN ${cost_basis} = 'net_amortized'
          THEN coalesce(split_line_item_net_split_cost, split_line_item_split_cost, 0)
            + coalesce(split_line_item_net_unused_cost, split_line_item_unused_cost, 0)
          ELSE coalesce(split_line_item_split_cost, 0) + coalesce(split_line_item_unused_cost, 0)
        END AS split_weight,
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
    ) AS cur_columns
  -- end of copy 2
) AS i
LEFT JOIN split_slots AS s
  ON s.parent = CASE WHEN i.split_parent <> '' THEN i.split_parent ELSE i.resource_id END
  AND s.slot = i.usage_start
LEFT JOIN parent_cost AS p
  ON p.parent = s.parent AND p.slot = s.slot
