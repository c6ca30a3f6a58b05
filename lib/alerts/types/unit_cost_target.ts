import * as z from 'zod';
import { formatUnitCost } from '../../common/money.ts';
import { type SqlFragment, sqlNumber, sqlString, trustedSql } from '../../sql/sql-template.ts';
import { type AlertTypeDefinition, nonNegative, optionalText } from '../alert-type.ts';

/** What a unit-cost target measures: the cost of one rule's pool, or of one service, to customers. */
const scopeSchema = z.union([
  z.object({ rule: z.string().min(1) }).strict(),
  z.object({ service: z.string().min(1) }).strict(),
]);

const targetSchema = z
  .object({
    /** With the type, the dedup key of its alert. */
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, ".", "_" and "-" only'),
    scope: scopeSchema,
    /** Per active customer, or per `unit` of a telemetry metric (e.g. 1000 requests). */
    per: z.union([
      z.literal('customer'),
      z.object({ metric: z.string().min(1), unit: z.number().finite().positive() }).strict(),
    ]),
    /** The unit cost not to exceed, in the run's currency. */
    target: nonNegative(),
    /** Who owns the cost; @default the configuration's defaultTeam */
    team: z.string().min(1).optional(),
  })
  .strict();

export type UnitCostTarget = z.infer<typeof targetSchema>;

const thresholds = {
  /** The engineering-facing unit-cost targets (docs/alerts.md "Unit-cost targets"). */
  unitCostTargets: z
    .array(targetSchema)
    .default([])
    .refine(
      (targets) => new Set(targets.map((t) => t.id)).size === targets.length,
      'target ids must be unique',
    ),
};

/**
 * The VALUES rows of the targets, every value a literal of its own type on both engines (also the report's
 * unit-cost targets, athena/report/report_unit_targets.sql).
 */
export function targetRows(targets: readonly UnitCostTarget[]): SqlFragment {
  const text = (value: string | null) =>
    value === null ? 'CAST(NULL AS varchar)' : `CAST(${sqlString(value).sql} AS varchar)`;
  const double = (value: number) => `CAST(${sqlNumber(value).sql} AS double)`;
  const rows = targets.map((t) => {
    const [scopeKind, scopeValue] = 'rule' in t.scope ? ['rule', t.scope.rule] : ['service', t.scope.service];
    const metric = t.per === 'customer' ? null : t.per.metric;
    const unit = t.per === 'customer' ? 1 : t.per.unit;
    return `(${[text(t.id), text(scopeKind), text(scopeValue), text(metric), double(unit), double(t.target), text(t.team ?? null)].join(', ')})`;
  });
  return trustedSql(rows.join(',\n    '));
}

/** `1,000` for 1000: a metric unit as people write it. */
const count = new Intl.NumberFormat('en-US', { maximumFractionDigits: 6 });

interface TargetFigures {
  readonly scope: string;
  readonly metric: string | null;
  readonly unit: number;
  readonly value: number;
  readonly target: number;
}

// No explain(): the scope and metric are not on the alert, so a message treats the whole explanation as
// data (escaped and stripped of markdown), as it does for any type without one.
function explanation(f: TargetFigures, currency: string): string {
  const measured = formatUnitCost(f.value, currency);
  const target = formatUnitCost(f.target, currency);
  return f.metric === null
    ? `${f.scope} adds ${measured} a month to the cost of serving each customer; the target is ${target}.`
    : `${f.scope} costs ${measured} per ${count.format(f.unit)} ${f.metric}; the target is ${target}.`;
}

/**
 * **unit_cost_target** (docs/alerts.md): a configured unit cost (a rule's pool or a service, per active
 * customer or per unit of a metric) is above its target over [D-29, D]. P2, to the target's team; ranked
 * in a digest by the excess times the active customers.
 */
export const unitCostTarget: AlertTypeDefinition<'unit_cost_target', typeof thresholds> = {
  name: 'unit_cost_target',
  sql: { path: 'alerts/unit_cost_target.sql' },
  thresholds,
  evaluates: (t) => t.unitCostTargets.length > 0,
  placeholders: (t) => ({ targets: targetRows(t.unitCostTargets) }),
  findings: (rows, { currency }) =>
    rows.map((row) => {
      const value = Number(row.measured);
      const threshold = Number(row.threshold);
      const figures = {
        scope: String(row.scope_value),
        metric: optionalText(row.metric),
        unit: Number(row.per_unit),
        value,
        target: threshold,
      };
      const team = optionalText(row.team);
      return {
        severity: 'P2',
        subject: String(row.target_id),
        value,
        threshold,
        explanation: explanation(figures, currency),
        customer: null,
        moneyAtStake: (value - threshold) * Number(row.active_customers),
        ...(team === null ? {} : { team }),
      };
    }),
  title: (a, text, currency) =>
    `Unit cost ${text(a.subject)} is ${formatUnitCost(a.value, currency)}, above its target of ${formatUnitCost(a.threshold, currency)}`,
  nextSteps: [
    'Look at the scope in customer_daily_service_cost (or the unit_cost view) for what drives it.',
    'Agree with the owning team whether to optimise the pool or move the target.',
  ],
  unit: 'unit_cost',
};
