import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { InputError } from '../inputs/input-error.ts';
import type { AlertTypeDefinition } from './alert-type.ts';
import { ALERT_TYPES } from './alert-types.ts';

/** Weekday names as `digestWeekday` takes them, Sunday first (JavaScript's `getUTCDay()` order). */
export const WEEKDAYS = [
  'sunday',
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** The fields every alert type shares: routing and the renotify period. */
const commonFields = {
  /** Days during which the same alert (type and subject) is not sent again, unless its severity rises. */
  renotifyDays: z.number().int().positive().default(7),
  /** Team for alerts no service owner or customer owner claims. */
  defaultTeam: z.string().min(1).default('finops'),
  /** Owner team of each service (product code), for routing a customer alert to who can act on it. */
  serviceTeams: z.record(z.string(), z.string().min(1)).default({}),
  /** How many of a customer's top services an alert lists. */
  topServices: z.number().int().min(1).max(10).default(3),
  /** The day of the week the WARNING digest goes out (the first run on or after it, once a week). */
  digestWeekday: z.enum(WEEKDAYS).default('monday'),
  /** How many alerts a digest lists before "and N more". */
  digestMaxAlerts: z.number().int().min(1).max(100).default(15),
  /** The most messages one run publishes; past that, one held-back summary per team (within the cap). */
  maxMessagesPerRun: z.number().int().min(1).max(1000).default(20),
};

type ShapeOf<T> = T extends AlertTypeDefinition<string, infer Shape> ? Shape : never;
type Intersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;
/** The fields of all `Types` together, with the common fields. */
export type AlertConfigShape<Types extends readonly AlertTypeDefinition[]> = Intersection<
  ShapeOf<Types[number]>
> &
  typeof commonFields;

/**
 * The alert configuration schema for a list of types: each type's threshold fields, in list order, then
 * the common fields; unknown keys are refused and each type's refinements apply. A field name two types
 * (or a type and the common part) both claim is an error at composition.
 */
export function alertConfigSchemaFor<const Types extends readonly AlertTypeDefinition[]>(types: Types) {
  const shape: Record<string, z.core.$ZodType> = {};
  for (const fields of [...types.map((type) => type.thresholds), commonFields]) {
    for (const [key, field] of Object.entries(fields)) {
      if (key in shape) throw new Error(`Alert configuration field ${key} is claimed twice`);
      shape[key] = field;
    }
  }
  let schema = z.object(shape as AlertConfigShape<Types>).strict();
  for (const refinement of types.flatMap((type) => type.refinements ?? [])) {
    schema = schema.refine((config) => refinement.check(config), { message: refinement.message });
  }
  return schema;
}

/** The alert configuration: thresholds of every shipped type, routing and renotify period; all defaulted. */
export const alertConfigSchema = alertConfigSchemaFor(ALERT_TYPES);

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
