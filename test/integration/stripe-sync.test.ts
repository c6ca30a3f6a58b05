import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monthlyRevenue, type StripeSubscription } from '../../lib/pipeline/stripe-mrr.ts';
import { subscriptionOf, syncStripeMrr } from '../../lib/pipeline/stripe-sync.ts';

// The Stripe sync against a local fake Stripe API (the `stripe` package pointed at it with its host, port
// and protocol settings) and a local S3 (s3rver) for the data bucket.
const BUCKET = 'cpc-data-local';
const API_KEY = 'rk_test_cpc';

const customer = (id: string, cpcCustomerId?: string) => ({
  id,
  object: 'customer',
  metadata: cpcCustomerId === undefined ? {} : { cpc_customer_id: cpcCustomerId },
});
const item = (
  unitAmount: number | null,
  interval: string,
  options: { quantity?: number; count?: number; usage?: string; tier?: string } = {},
) => ({
  id: `si_${Math.random().toString(36).slice(2)}`,
  object: 'subscription_item',
  quantity: options.quantity ?? 1,
  price: {
    id: 'price_x',
    object: 'price',
    unit_amount: unitAmount,
    currency: 'usd',
    recurring: { interval, interval_count: options.count ?? 1, usage_type: options.usage ?? 'licensed' },
    metadata: options.tier === undefined ? {} : { cpc_tier: options.tier },
  },
});
const coupon = (duration: string, percentOff: number | null, amountOff: number | null) => ({
  id: 'di_x',
  object: 'discount',
  source: {
    type: 'coupon',
    coupon: { id: 'co_x', object: 'coupon', duration, percent_off: percentOff, amount_off: amountOff },
  },
});
const subscription = (
  id: string,
  status: string,
  cus: unknown,
  items: unknown[],
  discounts: unknown[] = [],
) => ({
  id,
  object: 'subscription',
  status,
  customer: cus,
  discounts,
  items: { object: 'list', data: items, has_more: false },
});

// What the fake account holds, by status (the API's order: newest first; ids are what pages start after).
const SUBSCRIPTIONS: Record<string, unknown[]> = {
  active: [
    // acme: 3 seats at $50.00 a month (150) and $1,200.00 a year (100), 20% off forever: 200.
    subscription(
      'sub_acme',
      'active',
      customer('cus_acme', 'acme'),
      [item(5000, 'month', { quantity: 3 }), item(120_000, 'year')],
      [coupon('forever', 20, null)],
    ),
    // hooli: $99.00 every 3 months = 33 a month, on a growth price; a metered item brings nothing.
    subscription('sub_hooli', 'active', customer('cus_hooli', 'hooli'), [
      item(9900, 'month', { count: 3, tier: 'growth' }),
      item(3, 'month', { usage: 'metered' }),
    ]),
    // No cpc_customer_id; and an id the customers file does not have.
    subscription('sub_anon', 'active', customer('cus_anon'), [item(1000, 'month')]),
    subscription('sub_ghost', 'active', customer('cus_ghost', 'nobody'), [item(1000, 'month')]),
  ],
  // initech: $10.00 a week = 10 x 52 / 12 = 43.33; the 50% coupon is `once`: no effect.
  past_due: [
    subscription(
      'sub_initech',
      'past_due',
      customer('cus_initech', 'initech'),
      [item(1000, 'week')],
      [coupon('once', 50, null)],
    ),
  ],
  // globex: still on its trial.
  trialing: [
    subscription('sub_globex', 'trialing', customer('cus_globex', 'globex'), [item(50_000, 'month')]),
  ],
};

const PAGE = 2;
const requests: URL[] = [];
const authorizations = new Set<string>();
const stripeServer: Server = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://stripe.local');
  requests.push(url);
  authorizations.add(String(request.headers.authorization));
  if (request.method !== 'GET' || url.pathname !== '/v1/subscriptions') {
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: { type: 'invalid_request_error', message: 'no such route' } }));
    return;
  }
  const all = (SUBSCRIPTIONS[url.searchParams.get('status') ?? ''] ?? []) as { id: string }[];
  const after = url.searchParams.get('starting_after');
  const start = after === null ? 0 : all.findIndex((s) => s.id === after) + 1;
  const limit = Math.min(PAGE, Number(url.searchParams.get('limit') ?? PAGE));
  const data = all.slice(start, start + limit);
  response.writeHead(200, { 'content-type': 'application/json', 'request-id': 'req_fake' });
  response.end(
    JSON.stringify({ object: 'list', url: '/v1/subscriptions', has_more: start + limit < all.length, data }),
  );
});

const directory = mkdtempSync(join(tmpdir(), 'cpc-stripe-'));
const s3rver = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  configureBuckets: [{ name: BUCKET }, { name: 'cpc-empty' }],
});
let s3: S3Client;
let stripe: Stripe;

beforeAll(async () => {
  await new Promise<void>((resolve) => stripeServer.listen(0, '127.0.0.1', resolve));
  const { port } = stripeServer.address() as AddressInfo;
  stripe = new Stripe(API_KEY, { host: '127.0.0.1', port, protocol: 'http', maxNetworkRetries: 0 });
  const address = await s3rver.run();
  s3 = new S3Client({
    endpoint: `http://127.0.0.1:${address.port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
});

afterAll(async () => {
  s3.destroy();
  await s3rver.close();
  await new Promise((resolve) => stripeServer.close(resolve));
  rmSync(directory, { recursive: true, force: true });
});

const CURRENT = [
  'customer_id,tenant_id,name,tier,plan_status,mrr,start_date,end_date,owner_team',
  'acme,acme-eu,Acme,enterprise,paid,180,2026-01-01,,team-data',
  'acme,acme-us,Acme,enterprise,paid,180,2026-01-01,,team-data',
  'hooli,,Hooli,free,free,0,,,',
  'initech,,Initech,starter,paid,43.33,,,',
  'globex,,Globex,growth,trial,0,,,',
].join('\n');

const text = async (key: string) =>
  (await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body?.transformToString()) ?? '';
const incoming = async () =>
  (
    (await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'customers/incoming/' }))).Contents ??
    []
  ).map((object) => object.Key);

describe('the Stripe MRR sync', () => {
  it('uploads new versions for the customers whose MRR, tier or plan status changed, through every page', async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'customers/current/customers.csv', Body: CURRENT }),
    );
    const result = await syncStripeMrr({ stripe, s3, dataBucket: BUCKET, today: '2026-12-03' });

    expect(result).toMatchObject({
      subscriptions: 6,
      changed: 2,
      unmapped: ['cus_anon'],
      unknown: ['nobody'],
    });
    expect(result.upload).toMatch(/^customers\/incoming\/stripe-2026-12-03-[0-9a-f]{12}\.csv$/);
    // acme 180 -> 200, from today, on both its tenants; hooli free -> paid 33 on the growth tier.
    // initech (43.33, unchanged) and globex (still a trial) get no version.
    expect(await text(result.upload as string)).toBe(
      [
        'customer_id,tenant_id,name,tier,plan_status,mrr,start_date,end_date,owner_team,effective_from',
        'acme,acme-eu,Acme,enterprise,paid,180,2026-01-01,,team-data,',
        'acme,acme-us,Acme,enterprise,paid,180,2026-01-01,,team-data,',
        'hooli,hooli,Hooli,free,free,0,,,,',
        'initech,initech,Initech,starter,paid,43.33,,,,',
        'globex,globex,Globex,growth,trial,0,,,,',
        'acme,acme-eu,Acme,enterprise,paid,200,2026-01-01,,team-data,2026-12-03',
        'acme,acme-us,Acme,enterprise,paid,200,2026-01-01,,team-data,2026-12-03',
        'hooli,hooli,Hooli,growth,paid,33,,,,2026-12-03',
        '',
      ].join('\n'),
    );
    // The key was sent as the API's bearer token; each status was listed, with the customer and the
    // discounts' coupons expanded; the active list took two pages.
    expect([...authorizations]).toEqual([`Bearer ${API_KEY}`]);
    const lists = requests.map((url) => [
      url.searchParams.get('status'),
      url.searchParams.get('starting_after'),
    ]);
    expect(lists).toEqual([
      ['active', null],
      ['active', 'sub_hooli'],
      ['past_due', null],
      ['trialing', null],
    ]);
    const expand = [...(requests[0] as URL).searchParams.entries()].filter(([name]) =>
      name.startsWith('expand'),
    );
    expect(expand.map(([, value]) => value)).toEqual(['data.customer', 'data.discounts.source.coupon']);
  });

  it('writes nothing when nothing changed', async () => {
    const [upload] = await incoming();
    // The upload became current (on-input's part): syncing again finds every version in force.
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'customers/current/customers.csv',
        Body: await text(upload as string),
      }),
    );
    const result = await syncStripeMrr({ stripe, s3, dataBucket: BUCKET, today: '2026-12-04' });
    expect(result).toMatchObject({ subscriptions: 6, changed: 0 });
    expect(result.upload).toBeUndefined();
    expect(await incoming()).toEqual([upload]);
  });

  it('refuses to run without a current customers file, before calling Stripe', async () => {
    const before = requests.length;
    await expect(syncStripeMrr({ stripe, s3, dataBucket: 'cpc-empty', today: '2026-12-03' })).rejects.toThrow(
      's3://cpc-empty/customers/current/customers.csv does not exist: upload the customers file first',
    );
    expect(requests).toHaveLength(before);
  });
});

describe('a Stripe subscription as the normalisation reads it', () => {
  const base = subscription('sub_1', 'active', customer('cus_1', 'acme'), [item(1000, 'month')]) as never;

  it('skips a deleted customer, and one the API did not expand', () => {
    expect(
      subscriptionOf({
        ...(base as object),
        customer: { id: 'cus_1', object: 'customer', deleted: true },
      } as never),
    ).toBeUndefined();
    expect(subscriptionOf({ ...(base as object), customer: 'cus_1' } as never)).toBeUndefined();
  });

  it('makes nothing monthly of an interval it does not know, nor of an unknown usage type', () => {
    const read = subscriptionOf({
      ...(base as object),
      items: { data: [item(1000, 'fortnight'), item(1000, 'month', { usage: 'tiered_usage' })] },
    } as never);
    expect(read?.items.data.map((i) => i.price.recurring)).toEqual([
      null,
      { interval: 'month', interval_count: 1, usage_type: 'metered' },
    ]);
    expect(monthlyRevenue(read as StripeSubscription)).toBe(0);
  });

  it('takes the forever coupon of several, and none when the coupon was not expanded', () => {
    const two = subscriptionOf({
      ...(base as object),
      discounts: [coupon('once', 50, null), coupon('forever', 10, null)],
    } as never);
    expect(two?.discount?.coupon).toEqual({ duration: 'forever', percent_off: 10, amount_off: null });
    // $10.00 a month, 10% off forever: 9.
    expect(monthlyRevenue(two as StripeSubscription)).toBe(9);
    const unexpanded = subscriptionOf({
      ...(base as object),
      discounts: [{ id: 'di_1', object: 'discount', source: { type: 'coupon', coupon: 'co_1' } }, 'di_2'],
    } as never);
    expect(unexpanded?.discount).toBeNull();
  });
});
