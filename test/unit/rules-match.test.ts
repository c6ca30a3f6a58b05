import { describe, expect, it } from 'vitest';
import { BILLING_FORMATS, cur2TagMapKey, legacyTagColumn } from '../../lib/attribution/billing-formats.ts';
import { parseRules, ruleExpressions, tagRequest } from '../../lib/attribution/rules.ts';
import { InputError } from '../../lib/inputs/input-error.ts';

const withMatch = (match: unknown, extra: Record<string, unknown> = {}) => ({
  version: '1',
  ...extra,
  rules: [{ id: 'search-pool', match, driver: 'requests' }],
});

function errorOf(document: unknown): string {
  try {
    parseRules(document, 'rules.json');
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as Error).message;
  }
  throw new Error('expected the rules to be refused');
}

describe('rules v2 match fields', () => {
  it('renders tag, cost category, region, provider and resource id conditions as quoted literals', () => {
    const rules = parseRules(
      withMatch({
        tags: { component: ["O'Brien", 'search'], 'aws:eks:namespace': '*', env: '' },
        costCategories: { Team: ['x'] },
        regions: ['eu-west-1'],
        providers: ['AWS'],
        resourceIdLike: ["%'; DROP TABLE x; --%"],
      }),
      'rules.json',
    );
    expect(ruleExpressions(rules).driver_rule_id?.sql).toBe(
      "CASE WHEN (resource_id LIKE '%''; DROP TABLE x; --%') AND region IN ('eu-west-1')" +
        " AND provider IN ('AWS') AND rule_tag_1 IN ('O''Brien', 'search') AND rule_tag_2 <> ''" +
        " AND rule_tag_3 = '' AND rule_cost_category_1 IN ('x') THEN 'search-pool' END",
    );
  });

  it('carries only the tags and cost categories the rules mention, each once', () => {
    const rules = parseRules(
      {
        version: '1',
        tenantTagKey: ['tenant_id', 'aws:eks:namespace'],
        rules: [
          { id: 'a', match: { tags: { component: '*' } }, driver: 'even' },
          {
            id: 'b',
            match: { tags: { component: ['x'], team: '' }, costCategories: { Env: '*' } },
            driver: 'even',
          },
        ],
      },
      'rules.json',
    );
    expect(tagRequest(rules)).toEqual({
      tenantTagKeys: ['tenant_id', 'aws:eks:namespace'],
      lowercaseTenants: false,
      tags: [
        { key: 'component', column: 'rule_tag_1' },
        { key: 'team', column: 'rule_tag_2' },
      ],
      costCategories: [{ key: 'Env', column: 'rule_cost_category_1' }],
    });
    // Legacy CUR reads one column per tag: the tenant keys', the rule tags' and the cost category's.
    const legacyTags = BILLING_FORMATS.legacy
      .columns(tagRequest(rules))
      .map((column) => column.name)
      .filter((name) => name.startsWith('resource_tags') || name.startsWith('cost_category'));
    expect(legacyTags).toEqual([
      'resource_tags_user_tenant_id',
      'resource_tags_aws_eks_namespace',
      'resource_tags_user_component',
      'resource_tags_user_team',
      'cost_category_env',
    ]);
  });

  it('adds no tag column to the line items when the rules mention no tag', () => {
    const rules = parseRules(withMatch({ services: ['AmazonES'] }), 'rules.json');
    for (const format of Object.values(BILLING_FORMATS)) {
      const values = format.placeholders(tagRequest(rules));
      expect([values.rule_tag_columns?.sql, values.rule_tag_names?.sql]).toEqual(['', '']);
    }
    const tagged = parseRules(withMatch({ tags: { component: '*' } }), 'rules.json');
    expect(BILLING_FORMATS.cur2.placeholders(tagRequest(tagged)).rule_tag_names?.sql).toBe(', rule_tag_1');
  });

  it('names tag keys per format (2.1), AWS-generated keys without the user prefix', () => {
    expect(cur2TagMapKey('tenant-id')).toBe('user_tenant_id');
    expect(cur2TagMapKey('aws:eks:namespace')).toBe('aws_eks_namespace');
    expect(legacyTagColumn('Tenant.Id')).toBe('resource_tags_user_tenant_id');
    expect(legacyTagColumn('aws:eks:namespace')).toBe('resource_tags_aws_eks_namespace');
    const focus = BILLING_FORMATS.focus.placeholders(['aws:eks:namespace', 'tenant_id']).tenant?.sql ?? '';
    expect(focus).toContain("element_at(Tags, 'aws:eks:namespace')");
    expect(focus).not.toContain("'user:aws:eks:namespace'");
    expect(focus).toContain("element_at(Tags, 'user:tenant_id')");
    // The first key is tried first.
    expect(focus.indexOf("'aws:eks:namespace'")).toBeLessThan(focus.indexOf("'tenant_id'"));
  });

  it('keeps a rule owner and the tenant id normalisation', () => {
    const rules = parseRules(
      {
        version: '1',
        tenantIdNormalization: 'lowercase',
        rules: [{ id: 'a', match: {}, driver: 'even', owner: 'platform-team' }],
      },
      'rules.json',
    );
    expect(rules.rules[0]?.owner).toBe('platform-team');
    expect(rules.tenantIdNormalization).toBe('lowercase');
    expect(tagRequest(rules).lowercaseTenants).toBe(true);
    expect(parseRules({ version: '1', rules: [] }, 'r.json').tenantIdNormalization).toBe('none');
  });

  it.each([
    [
      withMatch({ tags: { component: 'search' } }),
      'rules.0.match.tags.component (rule "search-pool"): must be a list of values, "*" (present and non-empty) or "" (absent or empty)',
    ],
    [
      withMatch({ tags: { component: [] } }),
      'rules.0.match.tags.component (rule "search-pool"): Too small: expected array to have >=1 items',
    ],
    [withMatch({ tags: {} }), 'rules.0.match.tags (rule "search-pool"): needs at least one key'],
    [
      withMatch({ costCategories: { Team: 3 } }),
      'rules.0.match.costCategories.Team (rule "search-pool"): must be',
    ],
    [withMatch({ regions: [] }), 'rules.0.match.regions (rule "search-pool"):'],
    [withMatch({ resourceIdLike: [''] }), 'rules.0.match.resourceIdLike.0 (rule "search-pool"):'],
    [withMatch({ region: ['eu-west-1'] }), 'rules.0.match (rule "search-pool"): Unrecognized key: "region"'],
    [
      withMatch({ tags: { 'a\u0000b': '*' } }),
      'rules.0.match.tags.a\u0000b (rule "search-pool"): a key must not contain a NUL character',
    ],
    [
      withMatch({}, { tenantTagKey: [] }),
      'column "tenantTagKey": tenantTagKey: Too small: expected array to have >=1 items',
    ],
    [
      withMatch({}, { tenantTagKey: ['tenant_id', ''] }),
      'tenantTagKey.1: Too small: expected string to have >=1 characters',
    ],
    [withMatch({}, { tenantIdNormalization: 'upper' }), 'tenantIdNormalization: Invalid option'],
  ])('refuses a bad match or tenant setting with the rule and field named (%#)', (document, message) => {
    expect(errorOf(document)).toContain(message);
  });

  it('refuses an owner that is not a team name, naming the rule', () => {
    const document = { version: '1', rules: [{ id: 'pool', match: {}, driver: 'even', owner: ' ops ' }] };
    expect(errorOf(document)).toBe(
      'rules.json, column "rules.0.owner": rules.0.owner (rule "pool"): must be a non-empty team name without surrounding spaces',
    );
  });
});
