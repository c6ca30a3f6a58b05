import { describe, expect, it } from 'vitest';
import { athenaColumnName } from '../../lib/local/local-sources.ts';

describe('legacy CUR CSV header -> Athena column name', () => {
  it.each([
    ['lineItem/UsageStartDate', 'line_item_usage_start_date'],
    ['reservation/ReservationARN', 'reservation_reservation_a_r_n'],
    ['resourceTags/user:tenant_id', 'resource_tags_user_tenant_id'],
    ['savingsPlan/SavingsPlanEffectiveCost', 'savings_plan_savings_plan_effective_cost'],
    ['line_item_usage_start_date', 'line_item_usage_start_date'],
  ])('%s -> %s', (header, column) => {
    expect(athenaColumnName(header)).toBe(column);
  });
});
