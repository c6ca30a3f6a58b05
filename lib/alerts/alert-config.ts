import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { InputError } from '../inputs/input-error.ts';

const ratio = z.number().finite().nonnegative();

/** The alert configuration: thresholds, routing and renotify period; every field has a default. */
export const alertConfigSchema = z
  .object({
    /** cost_30d / MRR above which a customer is P1 (pages the owner now). */
    costToMrrP1: ratio.default(0.25),
    /** cost_30d / MRR above which a customer is P2 (same-day review). */
    costToMrrP2: ratio.default(0.2),
    /** Week-over-week cost growth above which cost_trend_7d fires... */
    trendGrowth: ratio.default(0.15),
    /** ...provided the weekly cost grew by at least this much money (ignores noise on tiny customers). */
    trendMinIncrease: ratio.default(1),
    /** Share of attributable cost unattributed over 7 days above which unattributed_share fires. */
    unattributedShare: ratio.default(0.05),
    /** Days during which the same alert (type and subject) is not sent again, unless its severity rises. */
    renotifyDays: z.number().int().positive().default(7),
    /** Team for alerts no service owner or customer owner claims. */
    defaultTeam: z.string().min(1).default('finops'),
    /** Owner team of each service (product code), for routing a customer alert to who can act on it. */
    serviceTeams: z.record(z.string(), z.string().min(1)).default({}),
    /** How many of a customer's top services an alert lists. */
    topServices: z.number().int().min(1).max(10).default(3),
  })
  .strict()
  .refine((c) => c.costToMrrP1 >= c.costToMrrP2, { message: 'costToMrrP1 must be at least costToMrrP2' });

export type AlertConfig = z.infer<typeof alertConfigSchema>;
/** An alert configuration as a user writes it: any field may be left out. */
export type AlertConfigInput = z.input<typeof alertConfigSchema>;

/** Validates an alert configuration document; every field has the default of docs/alerts.md. */
export function parseAlertConfig(document: unknown, source: string): AlertConfig {
  const result = alertConfigSchema.safeParse(document);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    throw new InputError(`${where}: ${issue?.message ?? 'invalid alert configuration'}`, {
      file: source,
      column: where,
    });
  }
  return result.data;
}

export const DEFAULT_ALERT_CONFIG: AlertConfig = parseAlertConfig({}, 'defaults');

/** Reads and validates an alert configuration JSON file. */
export function loadAlertConfig(path: string): AlertConfig {
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new InputError(`not valid JSON (${error instanceof Error ? error.message : String(error)})`, {
      file: path,
    });
  }
  return parseAlertConfig(document, path);
}
