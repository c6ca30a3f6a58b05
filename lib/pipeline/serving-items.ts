import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall, type NumberValue, NumberValueImpl } from '@aws-sdk/util-dynamodb';
import * as z from 'zod';

/*
 * The serving table's versioned items (lambdas/README.md, "Serving items"): what one line of the
 * serving UNLOADs becomes. Every key carries the run's serving version (period-pointer.ts
 * `servingVersion`), so a run only ever writes its own items; readers pick the version through the
 * period pointer (serving-reader.ts).
 */

/** An item of the serving table, in DynamoDB's attribute-value form. */
export type ServingItem = Record<string, AttributeValue>;

/** The serving data of a run cannot be read: a line that is not a valid row, or a day outside the period. */
export class ServingDataError extends Error {
  override readonly name = 'ServingDataError';
}

/** Decimal places money keeps in the serving table (see {@link servingNumber}). */
export const MONEY_DECIMALS = 8;

/**
 * A number as DynamoDB stores it, rounded to {@link MONEY_DECIMALS} places and written without an
 * exponent. Rounding matters for "write only what changed": Athena sums in parallel, in no fixed order,
 * so two runs over the same data may differ in the last bits of a double; the serving diff compares
 * values rounded the same way (serving-unload.ts), so such a day is not rewritten.
 */
export function servingNumber(value: number): string {
  if (!Number.isFinite(value)) throw new ServingDataError(`not a finite number: ${value}`);
  const rounded = Number(value.toFixed(MONEY_DECIMALS));
  if (rounded === 0) return '0';
  const text = String(rounded);
  if (!/e/i.test(text)) return text;
  // Tiny values print with an exponent (1e-7); DynamoDB numbers are written plainly here.
  return rounded.toFixed(MONEY_DECIMALS).replace(/\.?0+$/, '');
}

/** The dimension fields of a customer-day, as the run's customer_daily_cost has them. */
export interface CustomerDimensions {
  readonly customerName: string | null;
  readonly tier: string | null;
  readonly planStatus: string | null;
  readonly mrr: number | null;
  readonly rulesVersion: string | null;
}

/** A customer-day whose written values are new or changed in this run. */
export interface CustomerDayRow extends CustomerDimensions {
  readonly deleted: false;
  readonly customerId: string;
  readonly usageDate: string;
  readonly directCost: number;
  readonly sharedCost: number;
  readonly totalCost: number;
}

/** A customer-day the visible run has and this run does not: written as a tombstone. */
export interface CustomerDayTombstone {
  readonly deleted: true;
  readonly customerId: string;
  readonly usageDate: string;
}

/** One line of the day UNLOAD. */
export type CustomerDayChange = CustomerDayRow | CustomerDayTombstone;

/** One line of the month UNLOAD: a customer's month to date in this run. */
export interface CustomerMonthRow extends CustomerDimensions {
  readonly customerId: string;
  readonly directCost: number;
  readonly sharedCost: number;
  readonly totalCost: number;
  readonly daysWithCost: number;
  readonly firstUsageDate: string;
  readonly lastUsageDate: string;
}

const text = z
  .string()
  .nullish()
  .transform((value) => value ?? null);
const number = z
  .union([z.number(), z.string().regex(/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/)])
  .transform(Number)
  .pipe(z.number().finite());
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'is not YYYY-MM-DD');
const dimensionFields = {
  customer_name: text,
  tier: text,
  plan_status: text,
  mrr: number.nullish().transform((value) => value ?? null),
  rules_version: text,
};

// Athena's JSON writer leaves out NULL columns, so every nullable column is optional.
const dayLineSchema = z.union([
  z.object({ customer_id: z.string().min(1), usage_date: date, deleted: z.literal(true) }),
  z.object({
    customer_id: z.string().min(1),
    usage_date: date,
    deleted: z.literal(false).optional(),
    direct_cost: number,
    shared_cost: number,
    total_cost: number,
    ...dimensionFields,
  }),
]);

const monthLineSchema = z.object({
  customer_id: z.string().min(1),
  direct_cost: number,
  shared_cost: number,
  total_cost: number,
  days_with_cost: number.pipe(z.number().int().positive()),
  first_usage_date: date,
  last_usage_date: date,
  ...dimensionFields,
});

function parseJsonLine<T extends z.ZodType>(schema: T, line: string, where: string): z.infer<T> {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (error: unknown) {
    throw new ServingDataError(
      `${where}: not JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  // A union reports its branches' issues; the one of the non-tombstone branch says what is missing.
  const issues = result.error.issues.flatMap((issue) =>
    issue.code === 'invalid_union' ? (issue.errors.at(-1) ?? []) : [issue],
  );
  const issue = issues[0];
  throw new ServingDataError(`${where}: ${issue?.path.join('.') || '(row)'} ${issue?.message ?? 'invalid'}`);
}

interface DimensionColumns {
  readonly customer_name: string | null;
  readonly tier: string | null;
  readonly plan_status: string | null;
  readonly mrr: number | null;
  readonly rules_version: string | null;
}

function dimensionsOf(row: DimensionColumns): CustomerDimensions {
  return {
    customerName: row.customer_name,
    tier: row.tier,
    planStatus: row.plan_status,
    mrr: row.mrr,
    rulesVersion: row.rules_version,
  };
}

/**
 * Parses one line of the day UNLOAD.
 * @param where names the file and line in errors
 * @throws ServingDataError when the line is not a valid row or tombstone
 */
export function parseDayLine(line: string, where: string): CustomerDayChange {
  const row = parseJsonLine(dayLineSchema, line, where);
  if (row.deleted === true) return { deleted: true, customerId: row.customer_id, usageDate: row.usage_date };
  return {
    deleted: false,
    customerId: row.customer_id,
    usageDate: row.usage_date,
    directCost: row.direct_cost,
    sharedCost: row.shared_cost,
    totalCost: row.total_cost,
    ...dimensionsOf(row),
  };
}

/**
 * Parses one line of the month UNLOAD.
 * @throws ServingDataError when the line is not a valid month row
 */
export function parseMonthLine(line: string, where: string): CustomerMonthRow {
  const row = parseJsonLine(monthLineSchema, line, where);
  return {
    customerId: row.customer_id,
    directCost: row.direct_cost,
    sharedCost: row.shared_cost,
    totalCost: row.total_cost,
    daysWithCost: row.days_with_cost,
    firstUsageDate: row.first_usage_date,
    lastUsageDate: row.last_usage_date,
    ...dimensionsOf(row),
  };
}

export const customerPk = (customerId: string) => `CUSTOMER#${customerId}`;
/** Every version of a customer's day sorts together, oldest version first. */
export const daySk = (usageDate: string, version: string) => `DAY#${usageDate}#${version}`;
export const monthSk = (billingPeriod: string, version: string) => `MONTH#${billingPeriod}#${version}`;
/** gsi1 partition of one version's month summaries (listed by cost via the numeric gsi1sk). */
export const monthGsiPk = (billingPeriod: string, version: string) => `MONTH#${billingPeriod}#${version}`;

/** The version a load writes, and what every item of it carries. */
export interface ServingVersionContext {
  readonly runId: string;
  readonly billingPeriod: string;
  readonly deliveredAt: string;
  /** `servingVersion(deliveredAt, runId)`. */
  readonly version: string;
  /** TTL of every item written (epoch seconds). */
  readonly expiresAt: number;
}

/** Money as DynamoDB stores it: {@link servingNumber}'s text, kept exactly by marshalling a NumberValue. */
const money = (value: number): NumberValue => NumberValueImpl.from(servingNumber(value));

/** A serving item as plain values; NULL dimensions are undefined, and left out when marshalled. */
type PlainItem = Record<string, string | number | boolean | NumberValue | undefined>;
const item = (fields: PlainItem): ServingItem => marshall(fields, { removeUndefinedValues: true });

function provenance(context: ServingVersionContext): PlainItem {
  return {
    billing_period: context.billingPeriod,
    version: context.version,
    run_id: context.runId,
    delivered_at: context.deliveredAt,
    expires_at: context.expiresAt,
  };
}

function dimensions(row: CustomerDimensions): PlainItem {
  return {
    customer_name: row.customerName ?? undefined,
    tier: row.tier ?? undefined,
    plan_status: row.planStatus ?? undefined,
    mrr: row.mrr === null ? undefined : money(row.mrr),
    rules_version: row.rulesVersion ?? undefined,
  };
}

/**
 * The day item of a changed customer-day: pk `CUSTOMER#<id>`, sk `DAY#<date>#<version>`, the money
 * rounded by {@link servingNumber}, NULL dimensions left out; a tombstone carries `deleted: true` and
 * no values.
 * @throws ServingDataError when the day is outside the billing period
 */
export function dayItem(change: CustomerDayChange, context: ServingVersionContext): ServingItem {
  if (!change.usageDate.startsWith(`${context.billingPeriod}-`)) {
    throw new ServingDataError(
      `customer ${change.customerId}: day ${change.usageDate} is outside billing period ${context.billingPeriod}`,
    );
  }
  const key = {
    pk: customerPk(change.customerId),
    sk: daySk(change.usageDate, context.version),
    customer_id: change.customerId,
    usage_date: change.usageDate,
  };
  if (change.deleted) return item({ ...key, deleted: true, ...provenance(context) });
  return item({
    ...key,
    direct_cost: money(change.directCost),
    shared_cost: money(change.sharedCost),
    total_cost: money(change.totalCost),
    ...dimensions(change),
    ...provenance(context),
  });
}

/**
 * The month item of a customer: pk `CUSTOMER#<id>`, sk `MONTH#<period>#<version>`, gsi1pk
 * `MONTH#<period>#<version>`, gsi1sk the month-to-date total (a number, so the index lists the
 * version's customers by cost); dimension fields as of the customer's latest day.
 * @throws ServingDataError when a usage date is outside the billing period
 */
export function monthItem(row: CustomerMonthRow, context: ServingVersionContext): ServingItem {
  for (const day of [row.firstUsageDate, row.lastUsageDate]) {
    if (!day.startsWith(`${context.billingPeriod}-`)) {
      throw new ServingDataError(
        `customer ${row.customerId}: day ${day} is outside billing period ${context.billingPeriod}`,
      );
    }
  }
  return item({
    pk: customerPk(row.customerId),
    sk: monthSk(context.billingPeriod, context.version),
    gsi1pk: monthGsiPk(context.billingPeriod, context.version),
    gsi1sk: money(row.totalCost),
    customer_id: row.customerId,
    direct_cost: money(row.directCost),
    shared_cost: money(row.sharedCost),
    total_cost: money(row.totalCost),
    days_with_cost: row.daysWithCost,
    first_usage_date: row.firstUsageDate,
    last_usage_date: row.lastUsageDate,
    ...dimensions(row),
    ...provenance(context),
  });
}
