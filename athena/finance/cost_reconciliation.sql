-- cost_reconciliation (docs/finance.md): the waterfall from the invoice to customer cost. One row per
-- billing_period of daily_summary (every month with billing data).
--
-- Steps, each an amount and its share of bill_total (share = amount / bill_total, NULL when that is 0):
--   bill_total
--   - excluded_cost (tax and whatever else an exclude rule takes out; never customer cost)
--   = attributable_cost
--   - unattributed_cost, by reason: unknown_tenant, no_rule, no_usage_signal, no_active_customers,
--     no_revenue (docs/attribution.md sections 3 and 4), and other_reason for any reason not named here
--   - free_trial_cost (the cost of free and trial customers: the subsidy)
--   = paid_cost (the cost of paid customers)
-- so bill_total = excluded + unattributed + free/trial + paid, and the shares add up to 1.
--
-- Definitions:
-- - Months: every usage day belongs to the billing month daily_summary labels it with (the later label if a day's
--   rows name two); all steps use that label, so a month's steps cover the same days
--   as its bill. (customer_monthly_cost labels a customer's day by that customer's own line items; the two
--   differ only for a customer whose line items of a two-period day are all in the earlier period.)
-- - bill_total and excluded_cost: daily_summary's total_cost (all line items, under the run's cost basis)
--   and excluded_cost. unattributed_cost: the unattributed_cost results table summed over reasons.
--   free_trial_cost and paid_cost: customer_daily_cost, each customer classified by its plan_status of the
--   month (as on its latest usage day with cost in the month, as customer_monthly_cost does).
-- - free_trial_customers, paid_customers: customers with cost in the month in each class.
-- - unreconciled_cost = bill_total - excluded - unattributed - free/trial - paid when that exceeds the
--   conservation tolerance, 1e-6 x max(1, |bill_total|) (docs/attribution.md section 5), else exactly 0:
--   within it the difference is floating-point summation noise, which differs between engines. Every run
--   checks that each day's customers, unattributed and excluded cost make its total, so it is 0 for
--   published results; it is shown so nobody has to take that on trust.
-- - is_complete: as in customer_monthly_cost (false while the billing month is still open).
WITH day_labels AS (${day_labels}),
bill AS (
  SELECT
    billing_period,
    max(usage_date) >= CAST(CAST(concat(billing_period, '-01') AS date) + INTERVAL '1' MONTH - INTERVAL '1' DAY AS date)
      OR billing_period < max(billing_period) OVER () AS is_complete,
    CAST(count(DISTINCT usage_date) AS integer) AS days,
    sum(total_cost) AS bill_total,
    sum(excluded_cost) AS excluded_cost
  FROM ${daily_summary}
  GROUP BY billing_period
),
unattributed AS (
  SELECT
    d.billing_period,
    sum(u.cost) AS unattributed_cost,
    sum(CASE WHEN u.reason = 'unknown_tenant' THEN u.cost ELSE 0 END) AS unknown_tenant_cost,
    sum(CASE WHEN u.reason = 'no_rule' THEN u.cost ELSE 0 END) AS no_rule_cost,
    sum(CASE WHEN u.reason = 'no_usage_signal' THEN u.cost ELSE 0 END) AS no_usage_signal_cost,
    sum(CASE WHEN u.reason = 'no_active_customers' THEN u.cost ELSE 0 END) AS no_active_customers_cost,
    sum(CASE WHEN u.reason = 'no_revenue' THEN u.cost ELSE 0 END) AS no_revenue_cost,
    sum(
      CASE
        WHEN u.reason IN ('unknown_tenant', 'no_rule', 'no_usage_signal', 'no_active_customers', 'no_revenue')
          THEN 0
        ELSE u.cost
      END
    ) AS other_reason_cost
  FROM ${unattributed_cost} AS u
  JOIN day_labels AS d ON d.usage_date = u.usage_date
  GROUP BY d.billing_period
),
customer_months AS (
  SELECT
    d.billing_period,
    c.customer_id,
    max_by(c.plan_status, c.usage_date) AS plan_status,
    sum(c.total_cost) AS total_cost
  FROM ${customer_daily_cost} AS c
  JOIN day_labels AS d ON d.usage_date = c.usage_date
  GROUP BY d.billing_period, c.customer_id
),
customer_classes AS (
  SELECT
    billing_period,
    sum(CASE WHEN plan_status IN ('free', 'trial') THEN total_cost ELSE 0 END) AS free_trial_cost,
    sum(CASE WHEN plan_status IN ('free', 'trial') THEN 0 ELSE total_cost END) AS paid_cost,
    count(CASE WHEN plan_status IN ('free', 'trial') THEN customer_id END) AS free_trial_customers,
    count(CASE WHEN plan_status IN ('free', 'trial') THEN NULL ELSE customer_id END) AS paid_customers
  FROM customer_months
  GROUP BY billing_period
),
steps AS (
  SELECT
    b.billing_period,
    b.days,
    b.bill_total,
    b.excluded_cost,
    coalesce(u.unattributed_cost, 0) AS unattributed_cost,
    coalesce(u.unknown_tenant_cost, 0) AS unknown_tenant_cost,
    coalesce(u.no_rule_cost, 0) AS no_rule_cost,
    coalesce(u.no_usage_signal_cost, 0) AS no_usage_signal_cost,
    coalesce(u.no_active_customers_cost, 0) AS no_active_customers_cost,
    coalesce(u.no_revenue_cost, 0) AS no_revenue_cost,
    coalesce(u.other_reason_cost, 0) AS other_reason_cost,
    coalesce(c.free_trial_cost, 0) AS free_trial_cost,
    CAST(coalesce(c.free_trial_customers, 0) AS integer) AS free_trial_customers,
    coalesce(c.paid_cost, 0) AS paid_cost,
    CAST(coalesce(c.paid_customers, 0) AS integer) AS paid_customers,
    b.is_complete
  FROM bill AS b
  LEFT JOIN unattributed AS u ON u.billing_period = b.billing_period
  LEFT JOIN customer_classes AS c ON c.billing_period = b.billing_period
)
SELECT
  billing_period,
  days,
  bill_total,
  excluded_cost,
  excluded_cost / NULLIF(bill_total, 0) AS excluded_share,
  bill_total - excluded_cost AS attributable_cost,
  (bill_total - excluded_cost) / NULLIF(bill_total, 0) AS attributable_share,
  unattributed_cost,
  unattributed_cost / NULLIF(bill_total, 0) AS unattributed_share,
  unknown_tenant_cost,
  unknown_tenant_cost / NULLIF(bill_total, 0) AS unknown_tenant_share,
  no_rule_cost,
  no_rule_cost / NULLIF(bill_total, 0) AS no_rule_share,
  no_usage_signal_cost,
  no_usage_signal_cost / NULLIF(bill_total, 0) AS no_usage_signal_share,
  no_active_customers_cost,
  no_active_customers_cost / NULLIF(bill_total, 0) AS no_active_customers_share,
  no_revenue_cost,
  no_revenue_cost / NULLIF(bill_total, 0) AS no_revenue_share,
  other_reason_cost,
  other_reason_cost / NULLIF(bill_total, 0) AS other_reason_share,
  free_trial_cost,
  free_trial_cost / NULLIF(bill_total, 0) AS free_trial_share,
  free_trial_customers,
  paid_cost,
  paid_cost / NULLIF(bill_total, 0) AS paid_share,
  paid_customers,
  CASE
    WHEN abs(bill_total - excluded_cost - unattributed_cost - free_trial_cost - paid_cost)
      <= 1e-6 * greatest(1, abs(bill_total))
      THEN 0
    ELSE bill_total - excluded_cost - unattributed_cost - free_trial_cost - paid_cost
  END AS unreconciled_cost,
  is_complete
FROM steps
