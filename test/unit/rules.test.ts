import { describe, expect, it } from 'vitest';
import {
  cur2TagMapKey,
  detectBillingFormat,
  legacyTagColumn,
} from '../../lib/attribution/billing-formats.ts';
import { defaultRules, parseRules, ruleExpressions } from '../../lib/attribution/rules.ts';

describe('allocation rules', () => {
  it('ships the default rules of the spec, in order', () => {
    const rules = defaultRules();
    expect(rules.costBasis).toBe('amortized');
    expect(rules.tenantTagKey).toBe('tenant_id');
    expect(rules.rules.map((r) => [r.id, r.action ?? r.driver])).toEqual([
      ['exclude-tax', 'exclude'],
      ['compute-network', 'requests'],
      ['data-stores', 'storage_bytes'],
      ['everything-else', 'even'],
    ]);
  });

  it('renders matches as quoted literals, first match wins', () => {
    const rules = parseRules(
      {
        version: '1',
        rules: [
          { id: 'a', match: { services: ["X'Y"], usageTypeLike: ['%Out%'] }, driver: 'requests' },
          { id: 'b', match: {}, driver: 'even' },
        ],
      },
      'rules.json',
    );
    const sql = ruleExpressions(rules);
    expect(sql.driver_rule_id?.sql).toBe(
      "CASE WHEN service IN ('X''Y') AND (usage_type LIKE '%Out%') THEN 'a' WHEN TRUE THEN 'b' END",
    );
    expect(sql.exclude_rule_id?.sql).toBe('CAST(NULL AS varchar)');
    expect(sql.rule_driver?.sql).toBe(
      "CASE driver_rule_id WHEN 'a' THEN 'requests' WHEN 'b' THEN 'even' END",
    );
  });

  it('defaults the cost basis and tag key', () => {
    const rules = parseRules({ version: '1', rules: [] }, 'r.json');
    expect([rules.costBasis, rules.tenantTagKey]).toEqual(['amortized', 'tenant_id']);
  });

  it.each([
    [{ version: '1', rules: [], colour: 'red' }, 'Unrecognized key'],
    [{ version: '1', costBasis: 'blended', rules: [] }, 'costBasis'],
    [{ version: '1', rules: [{ id: 'a', match: {} }] }, 'exactly one of'],
    [{ version: '1', rules: [{ id: 'a', match: {}, action: 'exclude', driver: 'even' }] }, 'exactly one of'],
    [{ version: '1', rules: [{ id: 'a', match: { service: ['x'] }, driver: 'even' }] }, 'rules.0.match'],
    [{ version: '1', rules: [{ id: 'direct', match: {}, driver: 'even' }] }, 'reserved'],
    [
      {
        version: '1',
        rules: [
          { id: 'a', match: {}, driver: 'even' },
          { id: 'a', match: {}, driver: 'even' },
        ],
      },
      'duplicate',
    ],
    [{ rules: [] }, 'version'],
  ])('refuses %j', (document, fragment) => {
    expect(() => parseRules(document, 'rules.json')).toThrow(fragment);
    expect(() => parseRules(document, 'rules.json')).toThrow('rules.json');
  });
});

describe('billing formats', () => {
  it('detects the format from the columns', () => {
    expect(detectBillingFormat(['ChargeCategory', 'EffectiveCost', 'BilledCost'])).toBe('focus');
    expect(detectBillingFormat(['line_item_line_item_type', 'resource_tags'])).toBe('cur2');
    expect(detectBillingFormat(['line_item_line_item_type', 'resource_tags_user_tenant_id'])).toBe('legacy');
    expect(detectBillingFormat(['lineItem/LineItemType'])).toBeUndefined();
  });

  it('maps the tenant tag key per format', () => {
    expect(cur2TagMapKey('tenant_id')).toBe('user_tenant_id');
    expect(legacyTagColumn('tenant_id')).toBe('resource_tags_user_tenant_id');
    expect(legacyTagColumn('Tenant-Id')).toBe('resource_tags_user_tenant_id');
  });
});
