import * as z from 'zod';
import { formatMoney, formatPercent, formatUnitCost } from '../common/money.ts';
import type { Row } from '../engine/query-engine.ts';
import type { SqlFragment, SqlSource } from '../sql/sql-template.ts';
import type { Alert, Severity } from './alert.ts';
import type { SafeText } from './safe-text.ts';

/*
 * What an alert type is: everything that differs from one type to the next, in one object per type
 * (lib/alerts/types/), listed by the registry (lib/alerts/alert-types.ts). What all types share (the
 * evaluation windows, top services, routing, the message layout) stays in evaluate-alerts.ts and
 * alert-message.ts. Free of the file system and of DuckDB, like the rest of lib/alerts, so a Lambda
 * bundles it.
 */

/**
 * How an alert's value and threshold are written for people: a ratio as a percent, money, or a unit cost
 * (money that may be a fraction of a cent).
 */
export type AlertUnit = 'ratio' | 'money' | 'unit_cost';

/** `12.5%` for a ratio of 0.125, `$1,234.50` for 1234.5 USD, `$0.00184` as a unit cost (lib/common/money.ts). */
export function formatAlertFigure(unit: AlertUnit, value: number, currency: string): string {
  if (unit === 'ratio') return formatPercent(value);
  return unit === 'money' ? formatMoney(value, currency) : formatUnitCost(value, currency);
}

/** The customer a customer alert is about, from its type's SQL row. */
export interface AlertCustomer {
  readonly customerId: string;
  /** The customer's name, or its id when it has none. */
  readonly customerName: string;
  readonly tier: string | null;
  readonly planStatus: string | null;
  readonly mrr: number;
  /** Cost over [D-29, D], scaled to 30 days when fewer days have billing data. */
  readonly cost30d: number;
  /** The customer's owner team: where the alert goes when no service owner claims it. */
  readonly ownerTeam: string | null;
}

/**
 * What one of a type's rows says. evaluateAlerts turns it into an {@link Alert}: it adds the day, and for
 * a customer alert the top services and the team they route it to.
 */
export interface AlertFinding {
  readonly severity: Severity;
  /** With the type, the dedup key: a customer id for a customer alert, else e.g. `account`. */
  readonly subject: string;
  readonly value: number;
  readonly threshold: number;
  /** One line in plain words. */
  readonly explanation: string;
  /** The customer a customer alert is about; null for an alert about a segment or the whole account. */
  readonly customer: AlertCustomer | null;
  /** {@link Alert.moneyAtStake}: what a digest ranks by. */
  readonly moneyAtStake: number;
  /** The figures only some types carry ({@link Alert.revenueGrowth} and the anomaly's). */
  readonly details?: Pick<Alert, 'revenueGrowth' | 'baselineMedian' | 'impact' | 'risingServices'>;
  /** The team the alert goes to when its type decides (a unit-cost target's own team). */
  readonly team?: string;
}

/** The thresholds a type's schema fields parse to. */
export type Thresholds<Shape extends z.ZodRawShape> = z.output<z.ZodObject<Shape>>;

/** What a type's {@link AlertTypeDefinition.findings} gets besides its rows. */
export interface FindingContext<T> {
  /** Evaluation day D, YYYY-MM-DD. */
  readonly asOf: string;
  /** The type's own thresholds, validated, with their defaults. */
  readonly thresholds: T;
  /** The currency money is written in (see lib/common/money.ts). */
  readonly currency: string;
}

/** A rule over a type's own thresholds that the configuration must satisfy, with the error it reports. */
export interface ThresholdRefinement<T> {
  check(thresholds: T): boolean;
  readonly message: string;
}

/**
 * One alert type. `Shape` is the zod fields it owns in the alert configuration (each with its default);
 * the configuration schema is composed from every listed type's fields (lib/alerts/alert-config.ts).
 * Functions are declared as methods so that any type is an `AlertTypeDefinition` of the default
 * parameters, whatever its fields, and a list can hold types of different shapes.
 */
export interface AlertTypeDefinition<
  Name extends string = string,
  Shape extends z.ZodRawShape = z.ZodRawShape,
> {
  /** `Alert.type` of the alerts it raises; snake_case, unique in a list. */
  readonly name: Name;
  /**
   * One SELECT over the results tables, run as of day D with the common placeholders (evaluate-alerts.ts,
   * `alertPlaceholderValues`) and the type's own ({@link placeholders}). It should return only rows that
   * fire, so evaluation stays one small result whatever the number of customers.
   */
  /** Where its SQL comes from (shipped types: one file each, `athena/alerts/<type>.sql`). */
  readonly sql: SqlSource;
  /** The configuration fields the type owns; names unique across types and the common fields. */
  readonly thresholds: Shape;
  /** Rules across its fields (e.g. P1 at least P2), checked when the configuration is parsed. */
  readonly refinements?: readonly ThresholdRefinement<Thresholds<Shape>>[];
  /**
   * Values of the type's own placeholders, from its thresholds and the evaluation day D (YYYY-MM-DD),
   * through sqlNumber, sqlDate and the like only.
   */
  placeholders?(thresholds: Thresholds<Shape>, asOf: string): Record<string, SqlFragment>;
  /**
   * Whether there is anything to evaluate (unit_cost_target without targets has not): a type that says
   * no is not queried. @default always
   */
  evaluates?(thresholds: Thresholds<Shape>): boolean;
  /** The alerts its rows raise (a type may check a threshold here rather than in SQL). */
  findings(rows: readonly Row[], context: FindingContext<Thresholds<Shape>>): AlertFinding[];
  /**
   * The headline of the notification. Every data value in it (a customer name, a tier) goes through
   * `text`, the channel's safe-text function (lib/alerts/safe-text.ts), so a name cannot mention, link or
   * format in Slack; the type's own words do not.
   */
  title(alert: Alert, text: SafeText, currency: string): string;
  /**
   * The explanation as a message writes it: {@link Alert.explanation} with every data value through
   * `text`. A type whose explanation holds no data value may leave it out: the message then treats the
   * whole explanation as data (escaped and stripped of markdown, not cut), safe whatever it says.
   */
  explain?(alert: Alert, text: SafeText, currency: string): string;
  /**
   * Lines of the type's own figures a message lists after the measured one (a trend's revenue growth,
   * an anomaly's median and rising services); data values through `text`. @default none
   */
  facts?(alert: Alert, text: SafeText, currency: string): string[];
  /** What the receiving team should do, one step per item. */
  readonly nextSteps: readonly string[];
  /** How {@link Alert.value} and {@link Alert.threshold} are written. */
  readonly unit: AlertUnit;
}

/** A threshold field: a finite number, 0 or more (add `.default(...)`). */
export const nonNegative = () => z.number().finite().nonnegative();

/** A text cell, or null when empty. */
export function optionalText(value: Row[string] | undefined): string | null {
  return value === null || value === undefined || value === '' ? null : String(value);
}

/**
 * The customer of a customer alert row: the columns `customer_id`, `name`, `tier`, `plan_status`, `mrr`,
 * `cost_30d` and `owner_team`, which every customer alert query selects.
 */
export function customerOfRow(row: Row): AlertCustomer {
  const customerId = String(row.customer_id);
  return {
    customerId,
    customerName: String(row.name || customerId),
    tier: optionalText(row.tier),
    planStatus: optionalText(row.plan_status),
    mrr: Number(row.mrr),
    cost30d: Number(row.cost_30d),
    ownerTeam: optionalText(row.owner_team),
  };
}
