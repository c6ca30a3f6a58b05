import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall, type NumberValue, NumberValueImpl } from '@aws-sdk/util-dynamodb';
import * as z from 'zod';

/** An item of the serving table, in DynamoDB's attribute-value form. */
export type ServingItem = Record<string, AttributeValue>;

/** One row of the run's `customer_daily_cost`, as the serving UNLOAD writes it (one JSON object a line). */
export interface CustomerDayRow {
  readonly customerId: string;
  readonly usageDate: string;
  readonly customerName: string | null;
  readonly tier: string | null;
  readonly planStatus: string | null;
  readonly mrr: number | null;
  readonly directCost: number;
  readonly sharedCost: number;
  readonly totalCost: number;
  readonly rulesVersion: string | null;
}

/** The serving data of a run cannot be read: a line that is not a valid row, or a repeated day. */
export class ServingDataError extends Error {
  override readonly name = 'ServingDataError';
}

/** Decimal places money keeps in the serving table (see {@link servingNumber}). */
export const MONEY_DECIMALS = 8;

/**
 * A number as DynamoDB stores it, rounded to {@link MONEY_DECIMALS} places and written without an
 * exponent. Rounding matters for "write only what changed": Athena sums in parallel, in no fixed order,
 * so two runs over the same data may differ in the last bits of a double; without rounding every item
 * would look changed on every run. 1e-8 dollars is far below any cost CUR reports per customer-day.
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

const text = z
  .string()
  .nullish()
  .transform((value) => value ?? null);
const number = z
  .union([z.number(), z.string().regex(/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/)])
  .transform(Number)
  .pipe(z.number().finite());

/** A line of the UNLOAD output. Athena's JSON writer leaves out NULL columns, so they are optional. */
const rowSchema = z.object({
  customer_id: z.string().min(1),
  usage_date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'is not YYYY-MM-DD'),
  customer_name: text,
  tier: text,
  plan_status: text,
  mrr: number.nullish().transform((value) => value ?? null),
  direct_cost: number,
  shared_cost: number,
  total_cost: number,
  rules_version: text,
});

/**
 * Parses one line of the serving UNLOAD.
 * @param where names the file and line in errors
 */
export function parseServingLine(line: string, where: string): CustomerDayRow {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (error: unknown) {
    throw new ServingDataError(
      `${where}: not JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  const result = rowSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ServingDataError(
      `${where}: ${issue?.path.join('.') ?? '(row)'} ${issue?.message ?? 'invalid'}`,
    );
  }
  const row = result.data;
  return {
    customerId: row.customer_id,
    usageDate: row.usage_date,
    customerName: row.customer_name,
    tier: row.tier,
    planStatus: row.plan_status,
    mrr: row.mrr,
    directCost: row.direct_cost,
    sharedCost: row.shared_cost,
    totalCost: row.total_cost,
    rulesVersion: row.rules_version,
  };
}

/** Attributes that say who wrote an item; they do not count as a change of its values. */
export const PROVENANCE_ATTRIBUTES = ['run_id', 'delivered_at'] as const;

export const customerPk = (customerId: string) => `CUSTOMER#${customerId}`;
export const daySk = (usageDate: string) => `DAY#${usageDate}`;
export const monthSk = (billingPeriod: string) => `MONTH#${billingPeriod}`;
/** gsi1 partition of a period's month-to-date summaries (listed by cost via the numeric gsi1sk). */
export const monthGsiPk = (billingPeriod: string) => `MONTH#${billingPeriod}`;

export interface ServingRun {
  readonly runId: string;
  readonly billingPeriod: string;
  readonly deliveredAt: string;
}

export interface ServingItems {
  readonly daily: ServingItem[];
  readonly summaries: ServingItem[];
  /** Days with cost per customer, to find what an earlier load wrote and this one no longer has. */
  readonly daysByCustomer: ReadonlyMap<string, readonly string[]>;
}

/** Money as DynamoDB stores it: {@link servingNumber}'s text, kept exactly by marshalling a NumberValue. */
const money = (value: number): NumberValue => NumberValueImpl.from(servingNumber(value));

/** A serving item as plain values; NULL dimensions are undefined, and left out when marshalled. */
type PlainItem = Record<string, string | number | NumberValue | readonly string[] | undefined>;
const item = (fields: PlainItem): ServingItem => marshall(fields, { removeUndefinedValues: true });

/**
 * The serving items of one run for one billing period:
 * - per customer and day: pk `CUSTOMER#<id>`, sk `DAY#<YYYY-MM-DD>`;
 * - per customer, month to date: pk `CUSTOMER#<id>`, sk `MONTH#<period>`, gsi1pk `MONTH#<period>`,
 *   gsi1sk = total cost (a number, so the index lists a period's customers by cost), with the days summed
 *   and the list of days that had cost.
 * Every item carries `run_id` and `delivered_at`. NULL values are left out, not stored.
 *
 * @throws ServingDataError when a (customer, day) appears twice, or a day is outside the billing period
 */
export function buildServingItems(rows: readonly CustomerDayRow[], run: ServingRun): ServingItems {
  const byCustomer = new Map<string, CustomerDayRow[]>();
  for (const row of rows) {
    if (!row.usageDate.startsWith(`${run.billingPeriod}-`)) {
      throw new ServingDataError(
        `customer ${row.customerId}: day ${row.usageDate} is outside billing period ${run.billingPeriod}`,
      );
    }
    const list = byCustomer.get(row.customerId) ?? [];
    list.push(row);
    byCustomer.set(row.customerId, list);
  }
  const provenance = { run_id: run.runId, delivered_at: run.deliveredAt };
  const daily: ServingItem[] = [];
  const summaries: ServingItem[] = [];
  const daysByCustomer = new Map<string, string[]>();

  for (const customerId of [...byCustomer.keys()].sort()) {
    // Sorted, so the sums are the same whatever order the UNLOAD files came in.
    const days = (byCustomer.get(customerId) ?? []).sort((a, b) => a.usageDate.localeCompare(b.usageDate));
    const dates: string[] = [];
    let direct = 0;
    let shared = 0;
    let total = 0;
    for (const row of days) {
      if (dates.at(-1) === row.usageDate) {
        throw new ServingDataError(`customer ${customerId} has two rows for ${row.usageDate}`);
      }
      dates.push(row.usageDate);
      direct += row.directCost;
      shared += row.sharedCost;
      total += row.totalCost;
      daily.push(
        item({
          pk: customerPk(customerId),
          sk: daySk(row.usageDate),
          customer_id: customerId,
          usage_date: row.usageDate,
          billing_period: run.billingPeriod,
          direct_cost: money(row.directCost),
          shared_cost: money(row.sharedCost),
          total_cost: money(row.totalCost),
          ...provenance,
          ...dimensions(row),
        }),
      );
    }
    const latest = days.at(-1) as CustomerDayRow;
    summaries.push(
      item({
        pk: customerPk(customerId),
        sk: monthSk(run.billingPeriod),
        gsi1pk: monthGsiPk(run.billingPeriod),
        gsi1sk: money(total),
        customer_id: customerId,
        billing_period: run.billingPeriod,
        direct_cost: money(direct),
        shared_cost: money(shared),
        total_cost: money(total),
        days_with_cost: dates.length,
        usage_dates: dates,
        first_usage_date: dates[0] as string,
        last_usage_date: latest.usageDate,
        ...provenance,
        // The customer's dimension fields as of its latest day (they are one per customer in a run).
        ...dimensions(latest),
      }),
    );
    daysByCustomer.set(customerId, dates);
  }
  return { daily, summaries, daysByCustomer };
}

function dimensions(row: CustomerDayRow): PlainItem {
  return {
    customer_name: row.customerName ?? undefined,
    tier: row.tier ?? undefined,
    plan_status: row.planStatus ?? undefined,
    mrr: row.mrr === null ? undefined : money(row.mrr),
    rules_version: row.rulesVersion ?? undefined,
  };
}

/** Whether two items hold the same values, provenance aside. Numbers compare as numbers. */
export function sameValues(next: ServingItem, stored: ServingItem): boolean {
  const names = (item: ServingItem) =>
    Object.keys(item)
      .filter((name) => !(PROVENANCE_ATTRIBUTES as readonly string[]).includes(name))
      .sort();
  const a = names(next);
  const b = names(stored);
  if (a.length !== b.length || a.some((name, index) => name !== b[index])) return false;
  return a.every((name) => sameAttribute(next[name], stored[name]));
}

function sameAttribute(a: AttributeValue | undefined, b: AttributeValue | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.S !== undefined) return a.S === b.S;
  if (a.N !== undefined) return b.N !== undefined && Number(a.N) === Number(b.N);
  if (a.L !== undefined) {
    return (
      b.L !== undefined &&
      a.L.length === b.L.length &&
      a.L.every((value, index) => sameAttribute(value, b.L?.[index]))
    );
  }
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The stable identity of an item's key. */
export function keyId(item: ServingItem): string {
  return `${item.pk?.S ?? ''}\u0000${item.sk?.S ?? ''}`;
}
