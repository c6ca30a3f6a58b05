import { createHash } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type Stripe from 'stripe';
import { isAwsError } from '../common/aws-errors.ts';
import { CUSTOMERS_KEY, PREFIXES } from '../common/names.ts';
import { parseCustomersCsv } from '../inputs/customers.ts';
import type { RunLogger } from './start-run.ts';
import {
  customersInForce,
  customersWithVersions,
  type StripeCoupon,
  type StripeSubscription,
  stripeSync,
} from './stripe-mrr.ts';

/*
 * The Stripe MRR sync (docs/aws-pipeline.md, "Customer dimension and rules"): reads the subscriptions
 * that make recurring revenue, and uploads the customers file with new versions for the customers whose
 * MRR, tier or plan status changed under `customers/incoming/`, where on-input checks it like any upload
 * before it becomes current and re-runs the open months. Nothing changed: nothing is written.
 */

/** The statuses listed: active and past due bring revenue, trialing makes a trial. */
const LISTED_STATUSES = ['active', 'past_due', 'trialing'] as const;

/**
 * The fields of an API subscription that the normalisation reads. The customer is expanded (its
 * `cpc_customer_id` metadata) and so are the discounts' coupons; a coupon left as an id (not expanded)
 * cannot be read and lowers nothing.
 */
export function subscriptionOf(subscription: Stripe.Subscription): StripeSubscription | undefined {
  const customer = subscription.customer;
  if (typeof customer === 'string' || ('deleted' in customer && customer.deleted)) return undefined;
  const coupons: StripeCoupon[] = [];
  for (const discount of subscription.discounts ?? []) {
    const coupon = typeof discount === 'string' ? null : discount.source?.coupon;
    if (coupon && typeof coupon !== 'string') {
      // A duration this code does not know is taken as one that ends: it lowers nothing.
      const duration: StripeCoupon['duration'] =
        coupon.duration === 'forever' ? 'forever' : coupon.duration === 'repeating' ? 'repeating' : 'once';
      coupons.push({ duration, percent_off: coupon.percent_off, amount_off: coupon.amount_off });
    }
  }
  return {
    id: subscription.id,
    status: subscription.status as StripeSubscription['status'],
    customer: { id: customer.id, metadata: customer.metadata ?? {} },
    items: {
      data: subscription.items.data.map((item) => ({
        ...(item.quantity === undefined ? {} : { quantity: item.quantity }),
        price: {
          unit_amount: item.price.unit_amount,
          currency: item.price.currency,
          recurring: recurringOf(item.price.recurring),
          metadata: item.price.metadata ?? {},
        },
      })),
    },
    // The normalisation takes one coupon: the forever one when there is one (only it lowers MRR).
    discount:
      coupons.length === 0
        ? null
        : { coupon: coupons.find((c) => c.duration === 'forever') ?? (coupons[0] as StripeCoupon) },
  };
}

const INTERVALS = new Set(['day', 'week', 'month', 'year']);

/**
 * A price's recurrence as the normalisation reads it. An interval this code does not know cannot be
 * made monthly, so the item brings nothing (as a one-off price); a usage type it does not know is taken
 * as metered, which brings nothing either: MRR is never guessed upwards.
 */
function recurringOf(
  recurring: Stripe.Price.Recurring | null,
): StripeSubscription['items']['data'][number]['price']['recurring'] {
  if (recurring === null || !INTERVALS.has(recurring.interval)) return null;
  return {
    interval: recurring.interval as 'day' | 'week' | 'month' | 'year',
    interval_count: recurring.interval_count,
    usage_type: recurring.usage_type === 'licensed' ? 'licensed' : 'metered',
  };
}

/** Every subscription of the listed statuses, through every page. */
export async function listSubscriptions(stripe: Stripe): Promise<StripeSubscription[]> {
  const subscriptions: StripeSubscription[] = [];
  for (const status of LISTED_STATUSES) {
    const pages = stripe.subscriptions.list({
      status,
      limit: 100,
      expand: ['data.customer', 'data.discounts.source.coupon'],
    });
    for await (const subscription of pages) {
      const read = subscriptionOf(subscription);
      if (read !== undefined) subscriptions.push(read);
    }
  }
  return subscriptions;
}

export interface StripeSyncOptions {
  readonly stripe: Stripe;
  readonly s3: S3Client;
  readonly dataBucket: string;
  /** The day the new versions are in force from (UTC, YYYY-MM-DD). */
  readonly today: string;
  readonly logger?: RunLogger;
}

export interface StripeSyncResult {
  readonly subscriptions: number;
  /** Customers with a new version. */
  readonly changed: number;
  readonly unmapped: readonly string[];
  readonly unknown: readonly string[];
  /** The upload, when there was a change. */
  readonly upload?: string;
}

/**
 * Syncs MRR from Stripe into the customer dimension: the current customers file, the subscriptions,
 * the versions that changed, and the upload of the file with them to `customers/incoming/`. The upload's
 * name holds the day and a hash of its content, so a retried sync writes the same object.
 * @throws Error when there is no current customers file (a Stripe customer only maps to a known customer)
 */
export async function syncStripeMrr(options: StripeSyncOptions): Promise<StripeSyncResult> {
  const { s3, dataBucket } = options;
  const file = `s3://${dataBucket}/${CUSTOMERS_KEY}`;
  let text: string;
  try {
    const current = await s3.send(new GetObjectCommand({ Bucket: dataBucket, Key: CUSTOMERS_KEY }));
    text = (await current.Body?.transformToString('utf-8')) ?? '';
  } catch (error: unknown) {
    if (!isAwsError(error, 'NoSuchKey')) throw error;
    throw new Error(
      `${file} does not exist: upload the customers file first; Stripe customers map to its ids`,
    );
  }
  const tenants = parseCustomersCsv(text, file);
  const subscriptions = await listSubscriptions(options.stripe);
  const sync = stripeSync(subscriptions, customersInForce(tenants, options.today), options.today);
  const result = {
    subscriptions: subscriptions.length,
    changed: sync.changes.length,
    unmapped: sync.unmapped,
    unknown: sync.unknown,
  };
  if (sync.unmapped.length > 0 || sync.unknown.length > 0) {
    options.logger?.warn('Stripe customers that map to no customer id', {
      withoutCpcCustomerId: sync.unmapped.slice(0, 20),
      unknownCustomerIds: sync.unknown.slice(0, 20),
    });
  }
  if (sync.changes.length === 0) return result;
  const body = customersWithVersions(tenants, sync.changes);
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
  const upload = `${PREFIXES.customersIncoming}stripe-${options.today}-${hash}.csv`;
  await s3.send(
    new PutObjectCommand({ Bucket: dataBucket, Key: upload, Body: body, ContentType: 'text/csv' }),
  );
  options.logger?.info('Customers with new Stripe versions uploaded', {
    upload,
    changed: sync.changes.length,
  });
  return { ...result, upload };
}
