import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { InputError } from '../inputs/input-error.ts';
import { type SqlFragment, sqlString, sqlStringList, trustedSql } from '../sql/sql-template.ts';
import type { RuleTagColumn, TagRequest } from './billing-formats/types.ts';
import defaultRulesJson from './default-rules.json' with { type: 'json' };
import { driverSchema } from './drivers.ts';

export const COST_BASES = ['amortized', 'net_amortized', 'unblended'] as const;
export type CostBasis = (typeof COST_BASES)[number];

const nonEmptyStrings = z.array(z.string().min(1)).min(1);

/** A key or value of the rules file that reaches SQL as a quoted literal: any text but a NUL. */
const sqlText = z
  .string()
  .min(1)
  .refine((text) => !text.includes('\0'), 'must not contain a NUL character');

/**
 * One tag or cost-category condition (docs/attribution.md 1.4): a list of values (the tag has one of
 * them), `"*"` (present and non-empty) or `""` (absent or empty).
 */
const tagConditionSchema = z.union([z.array(sqlText).min(1), z.literal('*'), z.literal('')], {
  error: 'must be a list of values, "*" (present and non-empty) or "" (absent or empty)',
});

/** `{"<key>": condition}`, at least one key; keys are named as `tenantTagKey` is (2.1). */
const tagConditionsSchema = z.record(z.string().min(1), tagConditionSchema).superRefine((conditions, ctx) => {
  const keys = Object.keys(conditions);
  if (keys.length === 0) ctx.addIssue({ code: 'custom', message: 'needs at least one key' });
  for (const key of keys.filter((candidate) => candidate.includes('\0'))) {
    ctx.addIssue({ code: 'custom', path: [key], message: 'a key must not contain a NUL character' });
  }
});

const matchSchema = z
  .object({
    services: nonEmptyStrings.optional(),
    lineItemTypes: nonEmptyStrings.optional(),
    accounts: nonEmptyStrings.optional(),
    usageTypeLike: nonEmptyStrings.optional(),
    resourceIdLike: nonEmptyStrings.optional(),
    regions: nonEmptyStrings.optional(),
    providers: nonEmptyStrings.optional(),
    tags: tagConditionsSchema.optional(),
    costCategories: tagConditionsSchema.optional(),
  })
  .strict();

/** The team a rule's cost belongs to (routing of its alerts; docs/attribution.md 1.4). */
const ownerSchema = z
  .string()
  .regex(/^\S(.*\S)?$/, 'must be a non-empty team name without surrounding spaces')
  .max(128);

/** One tag key, or the keys in order of precedence (the first with a non-empty value gives the tenant). */
const tenantTagKeySchema = z.union([sqlText, z.array(sqlText).min(1)], {
  error: 'must be a tag key or a non-empty list of tag keys',
});

export const TENANT_ID_NORMALIZATIONS = ['none', 'lowercase'] as const;
export type TenantIdNormalization = (typeof TENANT_ID_NORMALIZATIONS)[number];

const ruleSchema = z
  .object({
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, ".", "_" and "-" only')
      .refine((id) => id !== 'direct', '"direct" is reserved for tagged cost'),
    match: matchSchema,
    owner: ownerSchema.optional(),
    action: z.literal('exclude').optional(),
    driver: driverSchema().optional(),
  })
  .strict()
  .refine((rule) => (rule.action === undefined) !== (rule.driver === undefined), {
    message: 'a rule needs exactly one of "action": "exclude" or a "driver"',
  });

const rulesFileSchema = z
  .object({
    version: z.string().min(1),
    costBasis: z.enum(COST_BASES).default('amortized'),
    tenantTagKey: tenantTagKeySchema.default('tenant_id'),
    tenantIdNormalization: z.enum(TENANT_ID_NORMALIZATIONS).default('none'),
    rules: z.array(ruleSchema),
  })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.rules.forEach((rule, index) => {
      if (seen.has(rule.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['rules', index, 'id'],
          message: `duplicate rule id "${rule.id}"`,
        });
      }
      seen.add(rule.id);
    });
  });

export type RuleMatch = z.infer<typeof matchSchema>;
export type AllocationRule = z.infer<typeof ruleSchema>;
export type AllocationRules = z.infer<typeof rulesFileSchema>;

/** Validates a parsed rules document; `source` names it in errors. */
export function parseRules(document: unknown, source: string): AllocationRules {
  const result = rulesFileSchema.safeParse(document);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    throw new InputError(
      `${where}${ruleNamed(document, issue?.path)}: ${issue?.message ?? 'invalid rules file'}`,
      {
        file: source,
        column: where,
      },
    );
  }
  return result.data;
}

/** ` (rule "<id>")` when an issue lies inside a rule that has an id, so the error names the rule. */
function ruleNamed(document: unknown, path: readonly PropertyKey[] | undefined): string {
  if (path === undefined || path[0] !== 'rules' || typeof path[1] !== 'number') return '';
  const rules = (document as { rules?: unknown } | null)?.rules;
  const id = Array.isArray(rules) ? (rules[path[1]] as { id?: unknown } | null)?.id : undefined;
  return typeof id === 'string' ? ` (rule ${JSON.stringify(id)})` : '';
}

/** Reads and validates a rules JSON file. */
export function loadRulesFile(path: string): AllocationRules {
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new InputError(`not valid JSON (${reason})`, { file: path });
  }
  return parseRules(document, path);
}

/** The shipped default rules (docs/attribution.md section 1.4). */
export function defaultRules(): AllocationRules {
  return parseRules(defaultRulesJson, 'default-rules.json');
}

/** The tenant tag keys of the rules, in order of precedence. */
export function tenantTagKeys(rules: Pick<AllocationRules, 'tenantTagKey'>): readonly string[] {
  return typeof rules.tenantTagKey === 'string' ? [rules.tenantTagKey] : rules.tenantTagKey;
}

/** Keys of one kind the rules' matches name, each once, in order of first mention. */
function mentionedKeys(rules: AllocationRules, field: 'tags' | 'costCategories'): string[] {
  return [...new Set(rules.rules.flatMap((rule) => Object.keys(rule.match[field] ?? {})))];
}

/**
 * What the canonical line items must carry for these rules (docs/attribution.md 2): the tenant (from
 * the tenant tag keys, normalised) and one column per tag and cost category a rule mentions, and no
 * other: `rule_tag_<n>` and `rule_cost_category_<n>`, numbered in order of first mention, so the
 * column names never depend on the keys' text.
 */
export function tagRequest(rules: AllocationRules): TagRequest {
  const columns = (keys: readonly string[], prefix: string): RuleTagColumn[] =>
    keys.map((key, index) => ({ key, column: `${prefix}_${index + 1}` }));
  return {
    tenantTagKeys: tenantTagKeys(rules),
    lowercaseTenants: rules.tenantIdNormalization === 'lowercase',
    tags: columns(mentionedKeys(rules, 'tags'), 'rule_tag'),
    costCategories: columns(mentionedKeys(rules, 'costCategories'), 'rule_cost_category'),
  };
}

/** `(column LIKE 'a' OR column LIKE 'b')`. */
function anyLike(column: string, patterns: readonly string[]): string {
  return `(${patterns.map((pattern) => `${column} LIKE ${sqlString(pattern).sql}`).join(' OR ')})`;
}

/** One tag condition over the column carrying the tag (trimmed, '' when absent). */
function tagCondition(column: string, condition: readonly string[] | '*' | ''): string {
  if (condition === '*') return `${column} <> ''`;
  if (condition === '') return `${column} = ''`;
  return `${column} IN (${sqlStringList(condition).sql})`;
}

/** SQL condition for a rule's match over the canonical line item columns; empty match is TRUE. */
function matchCondition(match: RuleMatch, request: TagRequest): string {
  const conditions: string[] = [];
  if (match.services) conditions.push(`service IN (${sqlStringList(match.services).sql})`);
  if (match.lineItemTypes) conditions.push(`line_item_type IN (${sqlStringList(match.lineItemTypes).sql})`);
  if (match.accounts) conditions.push(`account_id IN (${sqlStringList(match.accounts).sql})`);
  if (match.usageTypeLike) conditions.push(anyLike('usage_type', match.usageTypeLike));
  if (match.resourceIdLike) conditions.push(anyLike('resource_id', match.resourceIdLike));
  if (match.regions) conditions.push(`region IN (${sqlStringList(match.regions).sql})`);
  if (match.providers) conditions.push(`provider IN (${sqlStringList(match.providers).sql})`);
  const keyed = (
    conditionsOf: Record<string, readonly string[] | '*' | ''>,
    columns: readonly RuleTagColumn[],
  ) => {
    for (const [key, condition] of Object.entries(conditionsOf)) {
      const column = columns.find((candidate) => candidate.key === key)?.column;
      if (column === undefined) throw new Error(`No line item column for the key ${JSON.stringify(key)}`);
      conditions.push(tagCondition(column, condition));
    }
  };
  if (match.tags) keyed(match.tags, request.tags);
  if (match.costCategories) keyed(match.costCategories, request.costCategories);
  return conditions.length === 0 ? 'TRUE' : conditions.join(' AND ');
}

/** `CASE WHEN <match> THEN '<rule id>' ... END`, or a typed NULL when there is no rule to test. */
function firstMatchCase(rules: readonly AllocationRule[], request: TagRequest): SqlFragment {
  if (rules.length === 0) return trustedSql('CAST(NULL AS varchar)');
  const branches = rules.map(
    (rule) => `WHEN ${matchCondition(rule.match, request)} THEN ${sqlString(rule.id).sql}`,
  );
  return trustedSql(`CASE ${branches.join(' ')} END`);
}

/**
 * The rules as SQL expressions over a canonical line item: `exclude_rule_id` (the first matching
 * exclude rule) and `driver_rule_id` (the first matching rule with a driver); `rule_driver` maps a
 * `driver_rule_id` to its driver, so it can run after aggregation. Values are quoted literals, so a
 * rules file can never inject SQL.
 */
export function ruleExpressions(rules: AllocationRules): Record<string, SqlFragment> {
  const excludeRules = rules.rules.filter((rule) => rule.action === 'exclude');
  const driverRules = rules.rules.filter((rule) => rule.driver !== undefined);
  const driverBranches = driverRules.map(
    (rule) => `WHEN ${sqlString(rule.id).sql} THEN ${sqlString(rule.driver ?? '').sql}`,
  );
  const request = tagRequest(rules);
  return {
    exclude_rule_id: firstMatchCase(excludeRules, request),
    driver_rule_id: firstMatchCase(driverRules, request),
    rule_driver: trustedSql(
      driverBranches.length === 0
        ? 'CAST(NULL AS varchar)'
        : `CASE driver_rule_id ${driverBranches.join(' ')} END`,
    ),
  };
}
