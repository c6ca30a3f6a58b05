-- Canonical line items (docs/attribution.md section 2) from a FOCUS 1.x table. The billing period is carried
-- as its start date and written as YYYY-MM after aggregation (cheaper to group by).
-- Tags may carry the key bare (tenant_id) or with the AWS "user:" prefix (user:tenant_id).
-- FOCUS has no net columns: EffectiveCost already includes negotiated discounts, so net_amortized
-- reads EffectiveCost like amortized does.
SELECT
  CAST(ChargePeriodStart AS date) AS usage_date,
  CAST(BillingPeriodStart AS date) AS billing_period_start,
  coalesce(SubAccountId, BillingAccountId, '') AS account_id,
  coalesce(nullif(x_ServiceCode, ''), ServiceName, '') AS service,
  coalesce(x_UsageType, '') AS usage_type,
  coalesce(ChargeCategory, '') AS line_item_type,
  coalesce(ResourceId, '') AS resource_id,
  coalesce(trim(BOTH ${id_blanks} FROM coalesce(element_at(Tags, ${tenant_tag_key}), element_at(Tags, ${prefixed_tenant_tag_key}))), '') AS tenant,
  coalesce(CASE WHEN ${cost_basis} = 'unblended' THEN BilledCost ELSE EffectiveCost END, 0) AS cost
FROM ${billing_source}
