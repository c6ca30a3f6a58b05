/*
 * MRR from Stripe (docs/aws-pipeline.md "Stripe MRR"): the subscriptions the Stripe API lists, normalised
 * to monthly revenue per customer of the customer dimension, and the customer versions that follow from
 * them. Pure: the scheduled function that pages through the API and writes the versions feeds it. Only the
 * fields read are typed, as the API returns them (amounts in the currency's minor unit).
 */

import { CUSTOMER_COLUMNS } from '../catalog/glue-schemas.ts';
import type { CustomerTenant } from '../inputs/customers.ts';

/** A recurring price of a subscription item. */
export interface StripePrice {
  readonly unit_amount: number | null;
  readonly currency: string;
  readonly recurring: {
    readonly interval: 'day' | 'week' | 'month' | 'year';
    readonly interval_count: number;
    /** `metered` prices are billed for usage after the fact: not recurring revenue. */
    readonly usage_type?: 'licensed' | 'metered';
  } | null;
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface StripeCoupon {
  /** Only a `forever` coupon lowers recurring revenue; `once` and `repeating` ones end. */
  readonly duration: 'forever' | 'once' | 'repeating';
  readonly percent_off: number | null;
  /** In the minor unit, off each invoice. */
  readonly amount_off: number | null;
}

export interface StripeSubscription {
  readonly id: string;
  readonly status:
    | 'active'
    | 'past_due'
    | 'trialing'
    | 'canceled'
    | 'incomplete'
    | 'incomplete_expired'
    | 'unpaid'
    | 'paused';
  readonly customer: { readonly id: string; readonly metadata?: Readonly<Record<string, string>> };
  readonly items: { readonly data: readonly { readonly quantity?: number; readonly price: StripePrice }[] };
  /** The subscription's discount (one coupon), if any. */
  readonly discount?: { readonly coupon: StripeCoupon } | null;
}

/** Currencies without a minor unit: Stripe's amounts in them are whole units. */
const ZERO_DECIMAL = new Set([
  'bif',
  'clp',
  'djf',
  'gnf',
  'jpy',
  'kmf',
  'krw',
  'mga',
  'pyg',
  'rwf',
  'ugx',
  'vnd',
  'vuv',
  'xaf',
  'xof',
  'xpf',
]);

/** Months per billing interval of `count` units: a week is 12/52 of a month. */
function monthsPerInterval(interval: 'day' | 'week' | 'month' | 'year', count: number): number {
  switch (interval) {
    case 'day':
      return (count * 12) / 365;
    case 'week':
      return (count * 12) / 52;
    case 'month':
      return count;
    case 'year':
      return count * 12;
  }
}

/**
 * The monthly recurring revenue of one subscription in its currency's major unit: the sum over its
 * licensed items of quantity x unit amount per month (week x 52/12 / interval_count, month /
 * interval_count, year / (12 x interval_count)), less a forever coupon. A trialing subscription, metered
 * items and free prices bring nothing; Stripe's unit amounts exclude tax.
 */
export function monthlyRevenue(subscription: StripeSubscription): number {
  if (subscription.status !== 'active' && subscription.status !== 'past_due') return 0;
  let gross = 0;
  let currency = '';
  for (const item of subscription.items.data) {
    const { price } = item;
    if (price.recurring === null || price.recurring.usage_type === 'metered') continue;
    if (price.unit_amount === null || price.unit_amount <= 0) continue;
    currency = price.currency.toLowerCase();
    const perInvoice = (item.quantity ?? 1) * price.unit_amount;
    gross += perInvoice / monthsPerInterval(price.recurring.interval, price.recurring.interval_count);
  }
  const coupon = subscription.discount?.coupon;
  let net = gross;
  if (coupon?.duration === 'forever') {
    if (coupon.percent_off !== null) net = gross * (1 - coupon.percent_off / 100);
    else if (coupon.amount_off !== null) {
      // amount_off is off each invoice: spread over the months of the first item's interval.
      const recurring = subscription.items.data.find((i) => i.price.recurring !== null)?.price.recurring;
      const months = recurring ? monthsPerInterval(recurring.interval, recurring.interval_count) : 1;
      net = Math.max(0, gross - coupon.amount_off / months);
    }
  }
  return ZERO_DECIMAL.has(currency) ? net : net / 100;
}

/** What the customer dimension says of a customer today (its version in force). */
export interface CustomerNow {
  readonly customerId: string;
  readonly tier: string;
  readonly planStatus: 'paid' | 'trial' | 'free';
  readonly mrr: number;
}

/** A new version of a customer, in force from `effectiveFrom`. */
export interface CustomerChange {
  readonly customerId: string;
  readonly effectiveFrom: string;
  readonly tier: string;
  readonly planStatus: 'paid' | 'trial' | 'free';
  /** Rounded to cents (the customers file's precision). */
  readonly mrr: number;
}

/** The Stripe customers no customer id maps to, and the subscriptions of unknown customer ids. */
export interface StripeSync {
  readonly changes: readonly CustomerChange[];
  /** Stripe customer ids without the `cpc_customer_id` metadata field. */
  readonly unmapped: readonly string[];
  /** `cpc_customer_id` values the customer dimension does not have. */
  readonly unknown: readonly string[];
}

/**
 * The versions to write on `today`: per customer id (the Stripe customer's `cpc_customer_id` metadata),
 * its MRR summed over its subscriptions, its plan status (`paid` when a subscription is active or past
 * due, `trial` when one is trialing, `free` otherwise) and its tier (a price's `cpc_tier` metadata, else
 * the current tier); a version only when one of them changed, so an unchanged Stripe account writes
 * nothing. A customer of the dimension with no subscription left is not touched: its end is the
 * customer file's to say.
 */
export function stripeSync(
  subscriptions: readonly StripeSubscription[],
  customers: readonly CustomerNow[],
  today: string,
): StripeSync {
  const known = new Map(customers.map((c) => [c.customerId, c]));
  const unmapped = new Set<string>();
  const unknown = new Set<string>();
  const totals = new Map<string, { mrr: number; paid: boolean; trial: boolean; tier: string | undefined }>();
  for (const subscription of subscriptions) {
    const customerId = subscription.customer.metadata?.cpc_customer_id?.trim();
    if (!customerId) {
      unmapped.add(subscription.customer.id);
      continue;
    }
    if (!known.has(customerId)) {
      unknown.add(customerId);
      continue;
    }
    const total = totals.get(customerId) ?? { mrr: 0, paid: false, trial: false, tier: undefined };
    total.mrr += monthlyRevenue(subscription);
    total.paid ||= subscription.status === 'active' || subscription.status === 'past_due';
    total.trial ||= subscription.status === 'trialing';
    total.tier ??= subscription.items.data.map((i) => i.price.metadata?.cpc_tier).find((t) => t);
    totals.set(customerId, total);
  }
  const changes: CustomerChange[] = [];
  for (const [customerId, total] of [...totals].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const now = known.get(customerId) as CustomerNow;
    const planStatus = total.paid ? 'paid' : total.trial ? 'trial' : 'free';
    const mrr = planStatus === 'paid' ? Math.round(total.mrr * 100) / 100 : 0;
    const tier = total.tier ?? now.tier;
    if (mrr !== now.mrr || planStatus !== now.planStatus || tier !== now.tier) {
      changes.push({ customerId, effectiveFrom: today, tier, planStatus, mrr });
    }
  }
  return { changes, unmapped: [...unmapped].sort(), unknown: [...unknown].sort() };
}

/**
 * The version of each customer in force on `today` (YYYY-MM-DD): its latest version with no
 * `effective_from` or one on or before `today`. Customers whose versions all start later are left out.
 */
export function customersInForce(tenants: readonly CustomerTenant[], today: string): CustomerNow[] {
  const latest = new Map<string, CustomerTenant>();
  for (const tenant of tenants) {
    if (tenant.effectiveFrom !== null && tenant.effectiveFrom > today) continue;
    const held = latest.get(tenant.customerId);
    if (held === undefined || (held.effectiveFrom ?? '') < (tenant.effectiveFrom ?? '')) {
      latest.set(tenant.customerId, tenant);
    }
  }
  return [...latest.values()].map((t) => ({
    customerId: t.customerId,
    tier: t.tier,
    planStatus: t.planStatus,
    mrr: t.mrr,
  }));
}

/** A CSV field: quoted when it holds a comma, a quote or a line break, as the Glue table's SerDe reads it. */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function rowOf(t: CustomerTenant, change?: CustomerChange): string {
  const fields = [
    t.customerId,
    t.tenantId,
    t.name,
    change?.tier ?? t.tier,
    change?.planStatus ?? t.planStatus,
    String(change?.mrr ?? t.mrr),
    t.startDate ?? '',
    t.endDate ?? '',
    t.ownerTeam ?? '',
    change?.effectiveFrom ?? t.effectiveFrom ?? '',
  ];
  return fields.map(csvField).join(',');
}

/**
 * The customers file with the changes as new versions: every row it had (a file without
 * `effective_from` gets the column, empty: in force from the beginning), then for each change one row
 * per tenant of the customer's version in force on the change's day, with its tier, plan status and MRR,
 * `effective_from` that day (replacing a version of that same day). Every other field is the version's own.
 */
export function customersWithVersions(
  tenants: readonly CustomerTenant[],
  changes: readonly CustomerChange[],
): string {
  // A second sync on the same day replaces that day's version instead of adding a conflicting one.
  const replaced = (t: CustomerTenant) =>
    changes.some((c) => c.customerId === t.customerId && c.effectiveFrom === t.effectiveFrom);
  const rows = tenants.filter((t) => !replaced(t)).map((t) => rowOf(t));
  for (const change of changes) {
    const inForce = tenants.filter(
      (t) =>
        t.customerId === change.customerId &&
        (t.effectiveFrom === null || t.effectiveFrom <= change.effectiveFrom),
    );
    const from = inForce.reduce<string | null>(
      (latest, t) => (latest === null || (t.effectiveFrom ?? '') > latest ? (t.effectiveFrom ?? '') : latest),
      null,
    );
    for (const t of inForce.filter((t) => (t.effectiveFrom ?? '') === from)) rows.push(rowOf(t, change));
  }
  return `${[CUSTOMER_COLUMNS.map((column) => column.name).join(','), ...rows].join('\n')}\n`;
}
