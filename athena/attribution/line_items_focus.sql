-- Canonical line items (docs/attribution.md section 2) from a FOCUS 1.x table. The billing period is carried
-- as its start date and written as YYYY-MM after aggregation (cheaper to group by).
-- Tags may carry a user tag's key bare (tenant_id) or with the AWS "user:" prefix (user:tenant_id); an
-- AWS-generated tag (aws:eks:namespace) under its own key. The tenant and rule tag columns are as in
-- line_items_cur.sql; cost categories come from x_CostCategories when the file has it.
-- provider: ProviderName; a file without it is AWS when it has x_ServiceCode (AWS's own FOCUS export), else
-- ''. A file lacking a column reads it as NULL, so this is decided per row: a row of a file with
-- x_ServiceCode whose x_ServiceCode is NULL gives ''. A ProviderName of '' stays '' (stated, not absent).
-- currency: BillingCurrency, NULL or '' meaning USD (1.1).
-- FOCUS has no net columns: EffectiveCost already includes negotiated discounts, so net_amortized
-- reads EffectiveCost like amortized does.
SELECT
  CAST(ChargePeriodStart AS date) AS usage_date,
  CAST(BillingPeriodStart AS date) AS billing_period_start,
  coalesce(ProviderName, CASE WHEN x_ServiceCode IS NOT NULL THEN 'AWS' ELSE '' END) AS provider,
  coalesce(SubAccountId, BillingAccountId, '') AS account_id,
  coalesce(RegionId, '') AS region,
  coalesce(nullif(x_ServiceCode, ''), ServiceName, '') AS service,
  coalesce(x_UsageType, '') AS usage_type,
  coalesce(ChargeCategory, '') AS line_item_type,
  coalesce(ResourceId, '') AS resource_id,
  ${tenant} AS tenant${rule_tag_columns},
  coalesce(nullif(BillingCurrency, ''), 'USD') AS currency,
  coalesce(CASE WHEN ${cost_basis} = 'unblended' THEN BilledCost ELSE EffectiveCost END, 0) AS cost
FROM ${billing_source}
