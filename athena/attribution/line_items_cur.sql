-- Canonical line items (docs/attribution.md section 2) from a CUR 2.0 or legacy CUR table. The billing period
-- is carried as its start date and written as YYYY-MM after aggregation (cheaper to group by).
-- The tenant placeholder is the format's tenant expression (the first tenant tag key with a non-empty trimmed
-- value, normalised): element_at(resource_tags, 'user_<key>') or the tags map's 'resourceTags/...' for CUR 2.0,
-- the resource_tags_user_<key> column for legacy CUR (2.1). rule_tag_columns adds one column per tag and
-- cost category the rules mention ('' when absent), rule_tag_names carries them out.
-- element_at, never m['k']: Trino's subscript fails the whole query on the first row without the key.
-- The line_item_cost placeholder (cur_line_item_cost.sql: the cost of section 2) and split_weight
-- (cur_split_weight.sql) are each spliced in twice: in the small aggregates and in the line items.
--
-- Split cost allocation (2.2): a split row (split_line_item_parent_resource_id non-empty) of parent p and slot
-- s (line_item_usage_start_date) costs C(p,s) x w / W: C the cost of p's own rows of s, w split + unused cost
-- (net under net_amortized), W their sum over (p,s); p's rows of s then cost 0. W = 0 or p absent: split rows
-- 0, p keeps its cost. Two small aggregates, combined into one table joined back once, not a window or a
-- CTE over all line items (DuckDB holds those in memory, so the billing source is named three times);
-- without split rows they are empty.
WITH split_slots AS (
  SELECT split_line_item_parent_resource_id AS parent, line_item_usage_start_date AS slot, sum(
    ${split_weight}) AS split_total
  FROM ${billing_source}
  WHERE split_line_item_parent_resource_id <> ''
  GROUP BY split_line_item_parent_resource_id, line_item_usage_start_date
),
parent_cost AS (
  SELECT line_item_resource_id AS parent, line_item_usage_start_date AS slot, sum(
    ${line_item_cost}
  ) AS parent_total
  FROM ${billing_source}
  JOIN split_slots ON line_item_resource_id = parent AND line_item_usage_start_date = slot
  WHERE coalesce(split_line_item_parent_resource_id, '') = ''
  GROUP BY line_item_resource_id, line_item_usage_start_date
),
-- Both aggregates in one small table, so the line items take one join, not two (a probe of every line
-- item is the cost here: 0.8 s of 12.5M line items each).
split_costs AS (
  SELECT s.parent, s.slot, s.split_total, p.parent_total, p.parent IS NOT NULL AS has_parent
  FROM split_slots AS s
  LEFT JOIN parent_cost AS p ON p.parent = s.parent AND p.slot = s.slot
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
    WHEN i.split_parent <> '' THEN CASE WHEN s.split_total > 0 AND s.has_parent
      THEN s.parent_total * i.split_weight / NULLIF(s.split_total, 0) ELSE 0 END
    WHEN s.split_total > 0 THEN 0
    ELSE i.base_cost
  END AS cost
FROM (
  SELECT
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
    -- NULL or '' means USD (1.1).
    coalesce(nullif(line_item_currency_code, ''), 'USD') AS currency,
    coalesce(split_line_item_parent_resource_id, '') AS split_parent,
    ${split_weight} AS split_weight,
    ${line_item_cost}
    AS base_cost
  FROM ${billing_source}
) AS i
LEFT JOIN split_costs AS s
  ON s.parent = CASE WHEN i.split_parent <> '' THEN i.split_parent ELSE i.resource_id END
  AND s.slot = i.usage_start
