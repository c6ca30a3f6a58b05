-- Line items that cannot be attributed: no parseable usage or billing period date, or a cost that is
-- not a finite number. Checked on the aggregated groups (a NaN or infinity survives any sum), so the
-- check costs nothing on good data; the engine then locates the offending file, column and row.
SELECT count(*) AS invalid_groups
FROM ${classified_cost}
WHERE usage_date IS NULL OR billing_period IS NULL OR NOT is_finite(cost)
