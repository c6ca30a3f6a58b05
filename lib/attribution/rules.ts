import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { InputError } from '../inputs/input-error.ts';
import { type SqlFragment, sqlString, sqlStringList, trustedSql } from '../sql/sql-template.ts';
import defaultRulesJson from './default-rules.json' with { type: 'json' };
import { driverSchema } from './drivers.ts';

export const COST_BASES = ['amortized', 'net_amortized', 'unblended'] as const;
export type CostBasis = (typeof COST_BASES)[number];

const nonEmptyStrings = z.array(z.string().min(1)).min(1);

const matchSchema = z
  .object({
    services: nonEmptyStrings.optional(),
    lineItemTypes: nonEmptyStrings.optional(),
    accounts: nonEmptyStrings.optional(),
    usageTypeLike: nonEmptyStrings.optional(),
  })
  .strict();

const ruleSchema = z
  .object({
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, ".", "_" and "-" only')
      .refine((id) => id !== 'direct', '"direct" is reserved for tagged cost'),
    match: matchSchema,
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
    tenantTagKey: z.string().min(1).default('tenant_id'),
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
    const rule = issue ? ruleNamed(document, issue.path) : '';
    throw new InputError(`${where}${rule}: ${issue?.message ?? 'invalid rules file'}`, {
      file: source,
      column: where,
    });
  }
  return result.data;
}

/**
 * ` (rule "<id>")` when an issue's path is inside a rule that has a string id, else empty: a driver
 * error deep in `rules.3.driver.weights` is found by the rule's id, not by counting rules.
 */
function ruleNamed(document: unknown, path: readonly PropertyKey[]): string {
  const [top, index] = path;
  if (top !== 'rules' || typeof index !== 'number' || path.length < 3) return '';
  const rules = (document as { rules?: unknown } | null)?.rules;
  const id = Array.isArray(rules) ? (rules[index] as { id?: unknown } | undefined)?.id : undefined;
  return typeof id === 'string' ? ` (rule "${id}")` : '';
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

/** SQL condition for a rule's match over the canonical line item columns; empty match is TRUE. */
function matchCondition(match: RuleMatch): string {
  const conditions: string[] = [];
  if (match.services) conditions.push(`service IN (${sqlStringList(match.services).sql})`);
  if (match.lineItemTypes) conditions.push(`line_item_type IN (${sqlStringList(match.lineItemTypes).sql})`);
  if (match.accounts) conditions.push(`account_id IN (${sqlStringList(match.accounts).sql})`);
  if (match.usageTypeLike) {
    const likes = match.usageTypeLike.map((pattern) => `usage_type LIKE ${sqlString(pattern).sql}`);
    conditions.push(`(${likes.join(' OR ')})`);
  }
  return conditions.length === 0 ? 'TRUE' : conditions.join(' AND ');
}

/** `CASE WHEN <match> THEN '<rule id>' ... END`, or a typed NULL when there is no rule to test. */
function firstMatchCase(rules: readonly AllocationRule[]): SqlFragment {
  if (rules.length === 0) return trustedSql('CAST(NULL AS varchar)');
  const branches = rules.map((rule) => `WHEN ${matchCondition(rule.match)} THEN ${sqlString(rule.id).sql}`);
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
  return {
    exclude_rule_id: firstMatchCase(excludeRules),
    driver_rule_id: firstMatchCase(driverRules),
    rule_driver: trustedSql(
      driverBranches.length === 0
        ? 'CAST(NULL AS varchar)'
        : `CASE driver_rule_id ${driverBranches.join(' ')} END`,
    ),
  };
}
