import type { AlertTypeDefinition } from './alert-type.ts';
import { costAnomaly } from './types/cost_anomaly.ts';
import { costToMrr } from './types/cost_to_mrr.ts';
import { costTrend7d } from './types/cost_trend_7d.ts';
import { freemiumCliff } from './types/freemium_cliff.ts';
import { unattributedShare } from './types/unattributed_share.ts';
import { unitCostTarget } from './types/unit_cost_target.ts';

/*
 * The alert types of docs/alerts.md: one module per type in lib/alerts/types/, each with its SQL file in
 * athena/alerts/. Adding a type is its module, its SQL file and one entry below; the configuration
 * schema, the evaluation and the messages take every listed type.
 */

/**
 * The shipped alert types, in the order their fields appear in the alert configuration (the order of
 * alerts is by severity, type name and subject, not by this list).
 */
export const ALERT_TYPES = [
  costToMrr,
  costTrend7d,
  costAnomaly,
  freemiumCliff,
  unattributedShare,
  unitCostTarget,
] as const satisfies readonly AlertTypeDefinition[];

/** The name of a shipped alert type. */
export type ShippedAlertType = (typeof ALERT_TYPES)[number]['name'];

/** The type named `name` in `types`; an alert of a type not in the list is a programming error. */
export function alertTypeNamed(
  name: string,
  types: readonly AlertTypeDefinition[] = ALERT_TYPES,
): AlertTypeDefinition {
  const type = types.find((t) => t.name === name);
  if (type === undefined) throw new Error(`Unknown alert type ${JSON.stringify(name)}`);
  return type;
}
