import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import {
  DEFAULT_METRIC_SHAPE,
  FIXED_NAMES,
  METRIC_SHAPES,
  NAME_PREFIXES,
  NAME_SUFFIXES,
  RESERVATIONS,
  type ResourceStyle,
  UNKNOWN_TAG_TENANTS,
  UNKNOWN_TELEMETRY_TENANTS,
  USAGE_KINDS,
} from './catalog.ts';
import {
  sqlBigint,
  sqlBoolList,
  sqlDouble,
  sqlDoubleList,
  sqlIntList,
  sqlString,
  sqlStringList,
} from './sql-literals.ts';

export { UNKNOWN_TENANT_IDS } from './catalog.ts';

/** Options of {@link generateSyntheticMonth}. */
export interface SyntheticMonthOptions {
  /** Output directory; created if missing. */
  outDir: string;
  /** Billing month, 'YYYY-MM'. */
  month: string;
  /** Same seed and options give byte-identical files. */
  seed: number;
  /** Target number of CUR line items (met within a fraction of a percent), 100 .. 10,000,000 and more. */
  lineItems: number;
  /** Number of customers, 5 .. 100,000. */
  customers: number;
  /** Telemetry metric names; default requests, storage_bytes, compute_seconds, active_users. */
  metrics?: string[];
  /** Tenant cost allocation tag key; default 'tenant_id', which CUR 2.0 shows as map key 'user_tenant_id'. */
  tenantTagKey?: string;
  /** DuckDB worker threads; default 2. */
  threads?: number;
}

/** Paths of the files {@link generateSyntheticMonth} wrote (absolute). */
export interface SyntheticMonthFiles {
  /** CUR 2.0 Parquet parts under `<outDir>/cur/data/BILLING_PERIOD=YYYY-MM/`, in order. */
  curFiles: string[];
  /** `<outDir>/telemetry/usage-YYYY-MM.parquet`. */
  telemetryFiles: string[];
  /** `<outDir>/customers.csv`. */
  customersFile: string;
}

/** CUR 2.0 columns the generator writes, in file order, with their DuckDB types. */
export const CUR_COLUMNS: readonly (readonly [name: string, type: string])[] = [
  ['bill_billing_period_start_date', 'TIMESTAMP'],
  ['bill_billing_period_end_date', 'TIMESTAMP'],
  ['bill_payer_account_id', 'VARCHAR'],
  ['line_item_usage_account_id', 'VARCHAR'],
  ['line_item_line_item_type', 'VARCHAR'],
  ['line_item_usage_start_date', 'TIMESTAMP'],
  ['line_item_usage_end_date', 'TIMESTAMP'],
  ['line_item_product_code', 'VARCHAR'],
  ['line_item_usage_type', 'VARCHAR'],
  ['line_item_operation', 'VARCHAR'],
  ['line_item_resource_id', 'VARCHAR'],
  ['line_item_usage_amount', 'DOUBLE'],
  ['line_item_currency_code', 'VARCHAR'],
  ['line_item_unblended_cost', 'DOUBLE'],
  ['line_item_net_unblended_cost', 'DOUBLE'],
  ['resource_tags', 'MAP(VARCHAR, VARCHAR)'],
  ['savings_plan_savings_plan_a_r_n', 'VARCHAR'],
  ['savings_plan_savings_plan_effective_cost', 'DOUBLE'],
  ['savings_plan_net_savings_plan_effective_cost', 'DOUBLE'],
  ['savings_plan_total_commitment_to_date', 'DOUBLE'],
  ['savings_plan_used_commitment', 'DOUBLE'],
  ['reservation_reservation_a_r_n', 'VARCHAR'],
  ['reservation_effective_cost', 'DOUBLE'],
  ['reservation_net_effective_cost', 'DOUBLE'],
  ['reservation_unused_amortized_upfront_fee_for_billing_period', 'DOUBLE'],
  ['reservation_net_unused_amortized_upfront_fee_for_billing_period', 'DOUBLE'],
  ['reservation_unused_recurring_fee', 'DOUBLE'],
  ['reservation_net_unused_recurring_fee', 'DOUBLE'],
];

const DEFAULT_METRICS = ['requests', 'storage_bytes', 'compute_seconds', 'active_users'];

/** Share of all line items that carry a tenant tag. */
const TAGGED_SHARE = 0.6;
/** Every 8th usage event is Savings Plan covered, which makes the row count exact (each adds a negation). */
const SP_PERIOD = 8;
const SP_PHASE = 3;
/** Share of the remaining usage events that a reservation covers (only RI-eligible kinds). */
const RI_SHARE = 0.07;
/** Share of tagged events whose tenant id is unknown to the customer file. */
const UNKNOWN_TAG_SHARE = 0.01;
/** Usage events per CUR file, so no file exceeds ~2M rows with the negation rows added. */
const EVENTS_PER_FILE = 1_750_000;
/** Size of each kind lookup table; weights are resolved to 1/1024 granularity. */
const LUT_SIZE = 1024;
/** Distinct shared-infrastructure resources per usage kind. */
const SHARED_SLOTS = 40;
/** Usage amount multiplier of shared infrastructure relative to a mid-size tenant. */
const SHARED_SCALE = 3;
/** Net (after the EDP discount) over non-net cost. */
const NET = 0.98;
const SP_RATE = 0.7;
const SP_NET_RATE = 0.68;
const RI_RATE = 0.62;
const TAX_RATE = 0.08;
/** Cost sums in the aggregate pass are integers of this many units per USD so they add up exactly. */
const MICROS = 1_000_000;

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;
const HOUR_US = 3_600_000_000;
const DAY_US = 24 * HOUR_US;

const STYLE_CODES: Readonly<Record<ResourceStyle, number>> = {
  hex: 0,
  'arn-name': 1,
  'arn-hex': 2,
  name: 3,
  none: 4,
};

interface MonthFacts {
  readonly start: string;
  readonly next: string;
  readonly days: number;
  readonly startUs: number;
}

interface Plan {
  readonly month: MonthFacts;
  readonly customers: number;
  readonly metrics: readonly string[];
  readonly tagKey: string;
  /** Usage events (line items before negation rows are added). */
  readonly events: number;
  /** Events [0, taggedEvents) are tenant tagged; the rest are shared infrastructure. */
  readonly taggedEvents: number;
  readonly accounts: readonly string[];
  readonly payer: string;
  readonly spArn: string;
  readonly riArns: readonly string[];
}

/**
 * Writes one synthetic month of a SaaS company's AWS bill: CUR 2.0 Parquet parts, per-tenant daily
 * telemetry and the customer dimension CSV. Everything is computed in DuckDB SQL from `range()` and
 * `hash(..., seed)`, so the same seed and options give byte-identical files, and ten million line items
 * take well under a minute on two cores.
 */
export async function generateSyntheticMonth(o: SyntheticMonthOptions): Promise<SyntheticMonthFiles> {
  const month = monthFacts(o.month);
  validate(o);
  const outDir = path.resolve(o.outDir);
  const curDir = path.join(outDir, 'cur', 'data', `BILLING_PERIOD=${o.month}`);
  const telemetryDir = path.join(outDir, 'telemetry');
  mkdirSync(curDir, { recursive: true });
  mkdirSync(telemetryDir, { recursive: true });
  // Parts of an earlier, bigger run would otherwise be read as part of this month.
  for (const name of readdirSync(curDir)) {
    if (/^cost-per-customer-\d{5}\.parquet$/.test(name)) rmSync(path.join(curDir, name));
  }

  const threads = o.threads ?? 2;
  // Spills, if any, go to a private directory rather than DuckDB's default ./.tmp in the caller's cwd.
  const spillDir = mkdtempSync(path.join(os.tmpdir(), 'cpc-generator-'));
  const instance = await DuckDBInstance.create(':memory:', {
    threads: String(threads),
    temp_directory: spillDir,
  });
  const con = await instance.connect();
  try {
    await setUp(con, o.seed);
    const ids = await accountIds(con);
    const plan = makePlan(o, month, ids);

    await con.run(customersSql(plan));
    await con.run(tenantsSql());
    await con.run(tenantDaysSql(plan));

    const customersFile = path.join(outDir, 'customers.csv');
    await con.run(
      `COPY (${customersCsvSql()}) TO ${sqlString(customersFile)} (FORMAT csv, HEADER true, DELIMITER ',')`,
    );

    const aggregate = await con.runAndReadAll(
      `${eventsSql(plan, 0, plan.events)}
       SELECT d, acct, cls, kind, CAST(sum(CAST(round(od * ${MICROS}) AS BIGINT)) AS VARCHAR) AS od_micros
       FROM o GROUP BY ALL ORDER BY ALL`,
    );
    for (const statement of fixedRowsSql(plan, aggregate.getRowObjectsJson() as unknown as AggregateRow[])) {
      await con.run(statement);
    }

    const parts = Math.max(1, Math.ceil(plan.events / EVENTS_PER_FILE));
    const curFiles = Array.from({ length: parts }, (_, part) =>
      path.join(curDir, `cost-per-customer-${String(part + 1).padStart(5, '0')}.parquet`),
    );
    // Expanding one part's tenant-days is mostly one pipeline, so parts run side by side on their own
    // connections; each part is a separate COPY, so its bytes do not depend on which runs when.
    let next = 0;
    const writeParts = async (): Promise<void> => {
      const worker = await instance.connect();
      try {
        for (let part = next++; part < parts; part = next++) {
          const from = part * EVENTS_PER_FILE;
          const to = Math.min(plan.events, from + EVENTS_PER_FILE);
          const fixed = part === parts - 1 ? 'UNION ALL SELECT * FROM fixed_rows' : '';
          await worker.run(
            `COPY (${curRowsSql(plan, from, to)} ${fixed}) TO ${sqlString(curFiles[part] ?? '')} (FORMAT parquet, COMPRESSION zstd)`,
          );
        }
      } finally {
        worker.closeSync();
      }
    };
    // allSettled: the instance must not close under a worker that is still writing.
    const settled = await Promise.allSettled(Array.from({ length: Math.min(threads, parts) }, writeParts));
    for (const outcome of settled) if (outcome.status === 'rejected') throw outcome.reason;

    const telemetryFile = path.join(telemetryDir, `usage-${o.month}.parquet`);
    await con.run(telemetrySourceSql(plan));
    await con.run(
      `COPY (${telemetrySql(plan)}) TO ${sqlString(telemetryFile)} (FORMAT parquet, COMPRESSION zstd)`,
    );

    return { curFiles, telemetryFiles: [telemetryFile], customersFile };
  } finally {
    con.closeSync();
    instance.closeSync();
    rmSync(spillDir, { recursive: true, force: true });
  }
}

function monthFacts(month: string): MonthFacts {
  const match = MONTH.exec(month);
  if (!match) throw new Error(`month must be YYYY-MM, got "${month}"`);
  const year = Number(match[1]);
  const index = Number(match[2]) - 1;
  const startMs = Date.UTC(year, index, 1);
  const nextMs = Date.UTC(year, index + 1, 1);
  return {
    start: new Date(startMs).toISOString().slice(0, 10),
    next: new Date(nextMs).toISOString().slice(0, 10),
    days: Math.round((nextMs - startMs) / 86_400_000),
    startUs: startMs * 1000,
  };
}

function validate(o: SyntheticMonthOptions): void {
  const integer = (name: string, value: number, min: number, max: number): void => {
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new Error(`${name} must be an integer in ${min}..${max}, got ${value}`);
    }
  };
  integer('seed', o.seed, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  integer('lineItems', o.lineItems, 100, 1_000_000_000);
  integer('customers', o.customers, 5, 100_000);
  integer('threads', o.threads ?? 2, 1, 1024);
  const metrics = o.metrics ?? DEFAULT_METRICS;
  if (metrics.length === 0 || new Set(metrics).size !== metrics.length || metrics.some((m) => m === '')) {
    throw new Error('metrics must be a non-empty list of distinct, non-empty names');
  }
  if ((o.tenantTagKey ?? 'tenant_id') === '') throw new Error('tenantTagKey must not be empty');
}

async function setUp(con: DuckDBConnection, seed: number): Promise<void> {
  await con.run('SET preserve_insertion_order = true');
  const icu = await con.runAndReadAll(
    "SELECT count(*)::INTEGER AS n FROM duckdb_extensions() WHERE extension_name = 'icu' AND loaded",
  );
  if (icu.getRowObjectsJson()[0]?.n === 1) await con.run("SET TimeZone = 'UTC'");
  const s = sqlBigint(seed);
  // u01: a hash as a uniform double in [0, 1); its top 53 bits are exactly representable.
  await con.run(`CREATE MACRO u01(h) AS CAST(h >> 11 AS DOUBLE) / CAST(9007199254740992 AS DOUBLE)`);
  await con.run(`CREATE MACRO pick(h, n) AS CAST(h % CAST(n AS UBIGINT) AS BIGINT)`);
  await con.run(`CREATE MACRO hex16(h) AS lpad(lower(to_hex(h)), 16, '0')`);
  // hash(a, b, ...) combines the argument hashes linearly, so hashes that differ only in the salt are
  // XOR-shifted copies of each other (strongly correlated uniforms); re-hashing the result mixes them.
  await con.run(`CREATE MACRO hs(a, b) AS hash(hash(a, ${s}, b))`);
  await con.run(`CREATE MACRO hs3(a, b, c) AS hash(hash(a, b, ${s}, c))`);
}

interface AccountIds {
  readonly payer: string;
  readonly accounts: string[];
  readonly spSuffix: string;
  readonly riSuffixes: string[];
}

async function accountIds(con: DuckDBConnection): Promise<AccountIds> {
  const digits = (salt: string) =>
    `CAST(100000000000 + pick(hs(${sqlString(salt)}, 0), 900000000000) AS VARCHAR)`;
  const hex = (salt: string) => `hex16(hs(${sqlString(salt)}, 1))`;
  const result = await con.runAndReadAll(
    `SELECT ${digits('payer')} AS payer, ${digits('acct-1')} AS a1, ${digits('acct-2')} AS a2,
            ${digits('acct-3')} AS a3, ${hex('sp')} AS sp, ${hex('ri-1')} AS r1, ${hex('ri-2')} AS r2,
            ${hex('ri-3')} AS r3`,
  );
  const row = result.getRowObjectsJson()[0] as Record<string, string> | undefined;
  if (!row) throw new Error('account id query returned no row');
  const get = (key: string): string => {
    const value = row[key];
    if (typeof value !== 'string') throw new Error(`account id query lacks ${key}`);
    return value;
  };
  return {
    payer: get('payer'),
    accounts: [get('a1'), get('a2'), get('a3')],
    spSuffix: get('sp'),
    riSuffixes: [get('r1'), get('r2'), get('r3')],
  };
}

function makePlan(o: SyntheticMonthOptions, month: MonthFacts, ids: AccountIds): Plan {
  const fixedRows = fixedRowCount(month);
  // rows = events + ceil-ish(events / 8) negations + fixed rows; search the event count that lands closest.
  const rowsFor = (events: number): number => events + negations(events) + fixedRows;
  let events = Math.max(1, Math.round(((o.lineItems - fixedRows) * SP_PERIOD) / (SP_PERIOD + 1)));
  while (events > 1 && rowsFor(events) > o.lineItems) events -= 1;
  while (rowsFor(events + 1) <= o.lineItems) events += 1;
  const wantedTagged = Math.round((TAGGED_SHARE * o.lineItems * SP_PERIOD) / (SP_PERIOD + 1));
  const taggedEvents = Math.min(wantedTagged, Math.floor(events * 0.9));
  const owner = ids.accounts[0] ?? ids.payer;
  return {
    month,
    customers: o.customers,
    metrics: o.metrics ?? DEFAULT_METRICS,
    tagKey: `user_${o.tenantTagKey ?? 'tenant_id'}`,
    events,
    taggedEvents,
    accounts: ids.accounts,
    payer: ids.payer,
    spArn: `arn:aws:savingsplans::${owner}:savingsplan/${uuidLike(ids.spSuffix + ids.riSuffixes.join(''))}`,
    riArns: RESERVATIONS.map(
      (r, i) => r.arn.replace('{account}', owner) + (ids.riSuffixes[i] ?? '').slice(0, 12),
    ),
  };
}

/** Savings Plan recurring fee per day, one RIFee per reservation, three Tax rows and two Credits. */
function fixedRowCount(month: MonthFacts): number {
  return month.days + RESERVATIONS.length + 3 + 2;
}

/** Number of events e in [0, events) with e % SP_PERIOD = SP_PHASE. */
function negations(events: number): number {
  return Math.floor((events + SP_PERIOD - 1 - SP_PHASE) / SP_PERIOD);
}

function uuidLike(hex: string): string {
  const h = hex.padEnd(32, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * Customers with tier, plan, MRR, active period and owner. The first five are pinned so even a tiny
 * demo has every tier and plan status, a two-tenant customer, a mid-month start and a mid-month end.
 */
function customersSql(p: Plan): string {
  const days = p.month.days;
  const start = `DATE ${sqlString(p.month.start)}`;
  const fixedNames = Object.entries(FIXED_NAMES)
    .map(([i, name]) => `WHEN i = ${Number(i)} THEN ${sqlString(name)}`)
    .join(' ');
  return `
  CREATE TABLE customers AS
  WITH b AS (
    SELECT i,
      u01(hs(i, 101)) AS u_tier, u01(hs(i, 102)) AS u_plan, u01(hs(i, 103)) AS u_mrr,
      u01(hs(i, 104)) AS u_start, u01(hs(i, 105)) AS u_sday, u01(hs(i, 106)) AS u_end,
      u01(hs(i, 107)) AS u_eday, u01(hs(i, 108)) AS u_multi, u01(hs(i, 109)) AS u_tid,
      u01(hs(i, 110)) AS u_team, u01(hs(i, 111)) AS u_w, u01(hs(i, 112)) AS u_amt, hs(i, 113) AS h_name
    FROM range(1, ${p.customers + 1}) r(i)
  ), t AS (
    SELECT *, CASE
        WHEN i = 1 THEN 'enterprise' WHEN i = 2 THEN 'growth' WHEN i <= 5 THEN 'self-serve'
        WHEN u_tier < 0.05 THEN 'enterprise' WHEN u_tier < 0.30 THEN 'growth' ELSE 'self-serve' END AS tier
    FROM b
  ), s AS (
    SELECT *, CASE
        WHEN i = 3 THEN 'trial' WHEN i = 4 THEN 'free' WHEN i <= 5 OR tier <> 'self-serve' THEN 'paid'
        WHEN u_plan < 0.143 THEN 'trial' WHEN u_plan < 0.357 THEN 'free' ELSE 'paid' END AS plan_status,
      CASE WHEN i = 5 THEN 11
        WHEN i > 5 AND u_start < 0.05 THEN 1 + pick(hs(i, 114), ${days - 4})
        ELSE 0 END AS sd,
      CASE WHEN i = 5 OR (i > 5 AND u_start < 0.05) THEN 'mid'
        WHEN u_start < 0.5 THEN 'open' ELSE 'old' END AS start_kind
    FROM t
  ), e AS (
    SELECT *, CASE WHEN i = 3 THEN 19
        WHEN i > 5 AND start_kind <> 'mid' AND u_end < 0.03 THEN 4 + pick(hs(i, 115), ${days - 8})
        ELSE ${days - 1} END AS ed
    FROM s
  )
  SELECT i,
    printf('cust-%05d', i) AS customer_id,
    CASE ${fixedNames} ELSE
      ${sqlStringList(NAME_PREFIXES)}[1 + pick(h_name, ${NAME_PREFIXES.length})] || ' ' ||
      ${sqlStringList(NAME_SUFFIXES)}[1 + pick(h_name >> 24, ${NAME_SUFFIXES.length})] || ' ' || i
    END AS name,
    tier, plan_status,
    printf('%.2f', CASE WHEN plan_status <> 'paid' THEN 0.0
      WHEN tier = 'enterprise' THEN 8000 + u_mrr * 52000
      WHEN tier = 'growth' THEN 800 + u_mrr * 5200
      ELSE 49 + u_mrr * 451 END) AS mrr,
    CASE start_kind
      WHEN 'mid' THEN CAST(${start} + CAST(sd AS INTEGER) AS VARCHAR)
      WHEN 'old' THEN CAST(${start} - CAST(1 + pick(hs(i, 116), 1500) AS INTEGER) AS VARCHAR)
    END AS start_date,
    CASE WHEN ed < ${days - 1} THEN CAST(${start} + CAST(ed AS INTEGER) AS VARCHAR) END AS end_date,
    CASE
      WHEN tier = 'enterprise' THEN CASE WHEN u_team < 0.75 THEN 'team-enterprise' WHEN u_team < 0.9 THEN 'team-platform' END
      WHEN tier = 'growth' THEN CASE WHEN u_team < 0.5 THEN 'team-growth' WHEN u_team < 0.7 THEN 'team-data'
        WHEN u_team < 0.85 THEN 'team-platform' END
      ELSE CASE WHEN u_team < 0.4 THEN 'team-growth' WHEN u_team < 0.5 THEN 'team-platform' END
    END AS owner_team,
    tier = 'enterprise' AND (i = 1 OR (i > 5 AND u_multi < 0.4)) AS multi,
    i = 2 OR (i <> 3 AND u_tid < 0.5) AS explicit_tenant,
    sd, ed,
    -- Relative line items per day: enterprise >> growth >> self-serve > trial > free.
    CASE WHEN tier = 'enterprise' THEN 2000 + 4000 * u_w WHEN tier = 'growth' THEN 400 + 800 * u_w
      WHEN plan_status = 'paid' THEN 60 + 140 * u_w WHEN plan_status = 'trial' THEN 30 + 50 * u_w
      ELSE 10 + 30 * u_w END AS w,
    -- Usage per line item: bigger customers also run bigger resources.
    CASE WHEN tier = 'enterprise' THEN 3 + 3 * u_amt WHEN tier = 'growth' THEN 1.5 + 1.5 * u_amt
      WHEN plan_status = 'paid' THEN 0.6 + 0.6 * u_amt ELSE 0.3 + 0.3 * u_amt END AS amt,
    CASE WHEN tier = 'enterprise' THEN 8 WHEN tier = 'growth' THEN 4
      WHEN plan_status = 'paid' THEN 2 ELSE 1 END AS nslots
  FROM e
  ORDER BY i`;
}

/** One row per tenant; a two-tenant customer's second tenant runs in the second (EU) account. */
function tenantsSql(): string {
  return `
  CREATE TABLE tenants AS
  WITH x AS (SELECT *, unnest(CASE WHEN multi THEN [0, 1] ELSE [0] END) AS k FROM customers)
  SELECT i, k, i * 2 + k AS tidx, customer_id,
    CASE WHEN k = 0 THEN customer_id ELSE customer_id || '-eu' END AS tenant,
    CASE WHEN multi OR explicit_tenant THEN (CASE WHEN k = 0 THEN customer_id ELSE customer_id || '-eu' END) END
      AS tenant_id_column,
    name, tier, plan_status, mrr, start_date, end_date, owner_team, sd, ed,
    CASE WHEN k = 0 THEN w ELSE w * 0.5 END AS w, amt, nslots,
    CASE WHEN k = 1 OR pick(hs(i, 117), 4) = 0 THEN 2 ELSE 1 END AS acct
  FROM x
  ORDER BY i, k`;
}

/**
 * Active tenant-days with an integer weight each and the slice [lo, hi) of tagged event numbers they
 * own; integer cumulative sums make the split exact and independent of thread scheduling.
 */
function tenantDaysSql(p: Plan): string {
  const start = `DATE ${sqlString(p.month.start)}`;
  return `
  CREATE TABLE tenant_days AS
  WITH x AS (
    SELECT tidx, tenant, w, amt, nslots, acct, unnest(range(sd, ed + 1)) AS d FROM tenants
  ), y AS (
    SELECT *, 1 + CAST(round(w
        * CASE WHEN isodow(${start} + CAST(d AS INTEGER)) >= 6 THEN 0.65 ELSE 1.0 END
        * (0.85 + 0.3 * u01(hs3(tidx, d, 120)))) AS BIGINT) AS wd
    FROM x
  ), z AS (
    SELECT *, sum(wd) OVER (ORDER BY d, tidx ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum FROM y
  ), tot AS (SELECT sum(wd) AS total FROM y)
  SELECT d, tidx, tenant, w, wd, amt, nslots, acct,
    CAST(${p.taggedEvents}::HUGEINT * (cum - wd) // total AS BIGINT) AS lo,
    CAST(${p.taggedEvents}::HUGEINT * cum // total AS BIGINT) AS hi
  FROM z, tot
  ORDER BY d, tidx`;
}

function customersCsvSql(): string {
  return `SELECT customer_id, tenant_id_column AS tenant_id, name, tier, plan_status, mrr, start_date, end_date,
    owner_team FROM tenants ORDER BY i, k`;
}

/**
 * Kind lookup tables: for each (class, tagged) a block of LUT_SIZE kind numbers in proportion to the
 * kinds' weights, so picking a kind is one list index instead of a CASE over 36 kinds.
 */
function kindLookup(): number[] {
  const lut: number[] = [];
  for (const cls of [0, 1, 2]) {
    for (const tagged of [false, true]) {
      const weights = USAGE_KINDS.map((kind) => {
        const eligible = cls === 0 || (cls === 1 ? kind.savingsPlan : kind.reservation > 0);
        if (!eligible) return 0;
        const weight = tagged ? kind.tagWeight : kind.sharedWeight;
        // Reservations and Savings Plans cover shared and tenant compute alike.
        return cls === 0 ? weight : Math.max(weight, 1);
      });
      lut.push(...apportion(weights, LUT_SIZE));
    }
  }
  return lut;
}

/** LUT_SIZE 1-based kind numbers, each positive weight at least once (largest remainder method). */
function apportion(weights: readonly number[], size: number): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const positive = weights.filter((w) => w > 0).length;
  const spare = size - positive;
  const counts = weights.map((w) => (w > 0 ? 1 + Math.floor((w / total) * spare) : 0));
  const order = weights
    .map((w, i) => ({ i, rest: w > 0 ? (w / total) * spare - Math.floor((w / total) * spare) : -1 }))
    .sort((a, b) => b.rest - a.rest || a.i - b.i);
  let missing = size - counts.reduce((a, b) => a + b, 0);
  for (const { i } of order) {
    if (missing <= 0) break;
    counts[i] = (counts[i] ?? 0) + 1;
    missing -= 1;
  }
  return counts.flatMap((count, i) => Array.from({ length: count }, () => i + 1));
}

/**
 * The usage events with numbers in [from, to) as CTEs ending in `o`: tenant-tagged events expand the
 * tenant-day slices, shared events are spread over the days by hash. One event is one line item, except
 * that a Savings Plan covered event later gains its negation row.
 */
function eventsSql(p: Plan, from: number, to: number): string {
  const kinds = USAGE_KINDS;
  const tagFrom = Math.min(from, p.taggedEvents);
  const tagTo = Math.min(to, p.taggedEvents);
  const sharedFrom = Math.max(from, p.taggedEvents);
  const sharedTo = Math.max(to, p.taggedEvents);
  return `
  WITH tag AS (
    SELECT unnest(range(greatest(lo, ${tagFrom}), least(hi, ${tagTo}))) AS e, d, tidx, tenant, amt, nslots, acct
    FROM tenant_days WHERE lo < ${tagTo} AND hi > ${tagFrom}
  ), shr AS (
    SELECT range AS e, pick(hs(range, 201), ${p.month.days}) AS d, CAST(NULL AS BIGINT) AS tidx,
      CAST(NULL AS VARCHAR) AS tenant, CAST(${SHARED_SCALE} AS DOUBLE) AS amt, CAST(${SHARED_SLOTS} AS BIGINT) AS nslots,
      [1, 1, 2, 3][1 + pick(hs(range, 202), 4)] AS acct
    FROM range(${sharedFrom}, ${sharedTo})
  ), ev AS (
    SELECT * FROM tag UNION ALL SELECT * FROM shr
  ), c AS (
    SELECT *, tenant IS NOT NULL AS tagged,
      CASE WHEN e % ${SP_PERIOD} = ${SP_PHASE} THEN 1 WHEN u01(hs(e, 203)) < ${RI_SHARE} THEN 2 ELSE 0 END AS cls
    FROM ev
  ), k AS (
    SELECT e, d, amt, nslots, acct, tagged, cls,
      ${sqlIntList(kindLookup())}[1 + (cls * 2 + CAST(tagged AS BIGINT)) * ${LUT_SIZE} + pick(hs(e, 204), ${LUT_SIZE})]
        AS kind,
      CASE WHEN tagged AND u01(hs(e, 205)) < ${UNKNOWN_TAG_SHARE}
        THEN ${sqlStringList(UNKNOWN_TAG_TENANTS)}[1 + pick(hs(e, 206), ${UNKNOWN_TAG_TENANTS.length})]
        ELSE tenant END AS tenant
    FROM c
  ), m AS (
    SELECT *,
      CASE WHEN ${sqlBoolList(kinds.map((x) => x.hourly))}[kind] THEN pick(hs(e, 207), 24) ELSE 0 END AS hr,
      ${sqlDoubleList(kinds.map((x) => x.base))}[kind] * amt * (0.4 + 1.2 * u01(hs(e, 208))) AS raw_amount,
      pick(hs(e, 209), nslots) AS slot
    FROM k
  ), n AS (
    SELECT *, CASE WHEN ${sqlBoolList(kinds.map((x) => x.integral))}[kind] THEN greatest(1.0, round(raw_amount))
      ELSE round(raw_amount, 6) END AS amount
    FROM m
  ), o AS (
    SELECT *, amount * ${sqlDoubleList(kinds.map((x) => x.price))}[kind] AS od FROM n
  )`;
}

/** CUR rows for the events [from, to): the event rows plus a negation row after each covered one. */
function curRowsSql(p: Plan, from: number, to: number): string {
  const kinds = USAGE_KINDS;
  const kindList = (f: (k: (typeof kinds)[number]) => string) => `${sqlStringList(kinds.map(f))}[kind]`;
  const accounts = sqlStringList(p.accounts);
  const envTag = p.tagKey === 'user_environment' ? '' : `, 'user_environment': 'prod'`;
  const name = `coalesce(tenant, 'shared') || '-' || ${kindList((k) => k.word)} || '-' || slot`;
  const hex = `hex16(hs3(coalesce(tenant, 'shared'), kind * 1000 + slot, 211))`;
  const head = kindList((k) => k.head);
  const tail = kindList((k) => k.tail);
  const exprs: Record<string, string> = {
    bill_billing_period_start_date: `TIMESTAMP ${sqlString(`${p.month.start} 00:00:00`)}`,
    bill_billing_period_end_date: `TIMESTAMP ${sqlString(`${p.month.next} 00:00:00`)}`,
    bill_payer_account_id: sqlString(p.payer),
    line_item_usage_account_id: `${accounts}[acct]`,
    line_item_line_item_type: `CASE WHEN cls = 0 THEN 'Usage' WHEN cls = 2 THEN 'DiscountedUsage'
      WHEN r = 0 THEN 'SavingsPlanCoveredUsage' ELSE 'SavingsPlanNegation' END`,
    line_item_usage_start_date: 'make_timestamp(start_us)',
    line_item_usage_end_date: `make_timestamp(start_us + CASE WHEN hr_kind THEN ${HOUR_US} ELSE ${DAY_US} END)`,
    line_item_product_code: kindList((k) => k.product),
    line_item_usage_type: kindList((k) => k.usageType),
    line_item_operation: kindList((k) => k.operation),
    line_item_resource_id: `CASE ${sqlIntList(kinds.map((k) => STYLE_CODES[k.style]))}[kind]
      WHEN 0 THEN ${head} || ${hex}
      WHEN 1 THEN ${head} || ${accounts}[acct] || ${tail} || ${name}
      WHEN 2 THEN ${head} || ${accounts}[acct] || ${tail} || ${hex}
      WHEN 3 THEN ${head} || ${name}
      ELSE '' END`,
    line_item_usage_amount: 'amount',
    line_item_currency_code: `'USD'`,
    line_item_unblended_cost: 'unblended',
    line_item_net_unblended_cost: `unblended * ${NET}`,
    resource_tags: `CASE WHEN NOT tagged THEN MAP {}::MAP(VARCHAR, VARCHAR)
      WHEN env THEN MAP {${sqlString(p.tagKey)}: tenant${envTag}}
      ELSE MAP {${sqlString(p.tagKey)}: tenant} END`,
    savings_plan_savings_plan_a_r_n: `CASE WHEN cls = 1 THEN ${sqlString(p.spArn)} END`,
    savings_plan_savings_plan_effective_cost: `CASE WHEN cls = 1 AND r = 0 THEN od * ${SP_RATE} END`,
    savings_plan_net_savings_plan_effective_cost: `CASE WHEN cls = 1 AND r = 0 THEN od * ${SP_NET_RATE} END`,
    savings_plan_total_commitment_to_date: 'CAST(NULL AS DOUBLE)',
    savings_plan_used_commitment: 'CAST(NULL AS DOUBLE)',
    reservation_reservation_a_r_n: `CASE WHEN cls = 2 THEN ${sqlStringList(p.riArns)}[${sqlIntList(
      kinds.map((k) => Math.max(k.reservation, 1)),
    )}[kind]] END`,
    reservation_effective_cost: `CASE WHEN cls = 2 THEN od * ${RI_RATE} END`,
    reservation_net_effective_cost: `CASE WHEN cls = 2 THEN od * ${RI_RATE} * ${NET} END`,
    reservation_unused_amortized_upfront_fee_for_billing_period: 'CAST(NULL AS DOUBLE)',
    reservation_net_unused_amortized_upfront_fee_for_billing_period: 'CAST(NULL AS DOUBLE)',
    reservation_unused_recurring_fee: 'CAST(NULL AS DOUBLE)',
    reservation_net_unused_recurring_fee: 'CAST(NULL AS DOUBLE)',
  };
  return `${eventsSql(p, from, to)}
  , rows AS (
    SELECT *, unnest(CASE WHEN cls = 1 THEN [0, 1] ELSE [0] END) AS r FROM o
  ), f AS (
    SELECT *,
      ${sqlBoolList(kinds.map((x) => x.hourly))}[kind] AS hr_kind,
      ${p.month.startUs} + d * ${DAY_US} + hr * ${HOUR_US} AS start_us,
      CASE WHEN cls = 0 THEN od WHEN cls = 2 THEN 0.0 WHEN r = 0 THEN od ELSE -od END AS unblended,
      u01(hs(e, 210)) < 0.85 AS env
    FROM rows
  )
  SELECT ${CUR_COLUMNS.map(([column, type]) => `CAST(${exprs[column] ?? missing(column)} AS ${type}) AS ${column}`).join(',\n    ')}
  FROM f`;
}

function missing(column: string): never {
  throw new Error(`no expression for CUR column ${column}`);
}

interface AggregateRow {
  d: number;
  acct: number;
  cls: number;
  kind: number;
  od_micros: string;
}

/**
 * Fee, tax and credit rows, derived from the month's actual usage so the Savings Plan commitment sits
 * just above what was used, reservations have a little unused time, and tax is 8% of each account's spend.
 */
function fixedRowsSql(p: Plan, aggregate: readonly AggregateRow[]): string[] {
  const days = p.month.days;
  const owner = p.accounts[0] ?? p.payer;
  const spUsed = new Array<number>(days).fill(0);
  const riUsed = new Array<number>(RESERVATIONS.length).fill(0);
  const spend = new Array<number>(p.accounts.length).fill(0);
  const productSpend = p.accounts.map(() => new Map<string, number>());
  for (const row of aggregate) {
    const od = Number(row.od_micros) / MICROS;
    const kind = USAGE_KINDS[Number(row.kind) - 1];
    if (!kind) throw new Error(`aggregate row has unknown kind ${row.kind}`);
    const d = Number(row.d);
    const a = Number(row.acct) - 1;
    if (Number(row.cls) === 1) spUsed[d] = (spUsed[d] ?? 0) + od * SP_RATE;
    if (Number(row.cls) === 2)
      riUsed[kind.reservation - 1] = (riUsed[kind.reservation - 1] ?? 0) + od * RI_RATE;
    if (Number(row.cls) === 0) {
      spend[a] = (spend[a] ?? 0) + od;
      const products = productSpend[a];
      products?.set(kind.product, (products.get(kind.product) ?? 0) + od);
    }
  }
  const round6 = (x: number) => Math.round(x * 1e6) / 1e6;
  const ts = (dayOffset: number) => {
    const ms = p.month.startUs / 1000 + dayOffset * 86_400_000;
    return `TIMESTAMP ${sqlString(new Date(ms).toISOString().slice(0, 19).replace('T', ' '))}`;
  };
  const rows: string[] = [];
  const row = (r: FixedRow) => {
    const num = (x: number | undefined) => (x === undefined ? 'NULL' : sqlDouble(round6(x)));
    const str = (x: string | undefined) => (x === undefined ? 'NULL' : sqlString(x));
    rows.push(
      `(${[
        ts(0),
        ts(days),
        sqlString(p.payer),
        sqlString(r.account),
        sqlString(r.type),
        ts(r.fromDay),
        ts(r.toDay),
        sqlString(r.product),
        sqlString(r.usageType),
        sqlString(r.operation),
        "''",
        num(r.amount),
        "'USD'",
        num(r.unblended),
        num(r.unblended * NET),
        'MAP {}::MAP(VARCHAR, VARCHAR)',
        str(r.spArn),
        'NULL',
        'NULL',
        num(r.commitment),
        num(r.used),
        str(r.riArn),
        'NULL',
        'NULL',
        num(r.unusedUpfront),
        num(r.unusedUpfront === undefined ? undefined : r.unusedUpfront * NET),
        num(r.unusedRecurring),
        num(r.unusedRecurring === undefined ? undefined : r.unusedRecurring * NET),
      ].join(', ')})`,
    );
  };

  let ownerFees = 0;
  for (let d = 0; d < days; d += 1) {
    const used = round6(spUsed[d] ?? 0);
    // Commitment 3-7% above use, so every day leaves a little unused commitment to allocate.
    const commitment = Math.max(1, Math.ceil(used * (1.03 + ((d * 37) % 11) / 250) * 100) / 100);
    ownerFees += commitment;
    row({
      account: owner,
      type: 'SavingsPlanRecurringFee',
      fromDay: d,
      toDay: d + 1,
      product: 'ComputeSavingsPlans',
      usageType: 'ComputeSP:1yrNoUpfront',
      operation: '',
      amount: 24,
      unblended: commitment,
      spArn: p.spArn,
      commitment,
      used,
    });
  }
  const unusedShare = [0.05, 0.08, 0.04];
  RESERVATIONS.forEach((reservation, j) => {
    const used = riUsed[j] ?? 0;
    // A reservation nobody used this month is still paid for.
    const unused = used > 0 ? used * (unusedShare[j] ?? 0.05) : 25;
    // Partial upfront: half of the cost is the amortized upfront fee, half the recurring fee (the unblended cost).
    const recurring = (used + unused) / 2;
    ownerFees += recurring;
    row({
      account: owner,
      type: 'RIFee',
      fromDay: 0,
      toDay: days,
      product: reservation.product,
      usageType: reservation.usageType,
      operation: reservation.operation,
      amount: 24 * days * (j + 1),
      unblended: recurring,
      riArn: p.riArns[j],
      unusedUpfront: unused / 2,
      unusedRecurring: unused / 2,
    });
  });
  spend[0] = (spend[0] ?? 0) + ownerFees;
  p.accounts.forEach((account, a) => {
    const products = [...(productSpend[a] ?? new Map<string, number>()).entries()];
    products.sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
    row({
      account,
      type: 'Tax',
      fromDay: days - 1,
      toDay: days,
      product: products[0]?.[0] ?? 'AmazonEC2',
      usageType: '',
      operation: '',
      amount: 0,
      unblended: Math.round((spend[a] ?? 0) * TAX_RATE * 100) / 100,
    });
  });
  const total = spend.reduce((x, y) => x + y, 0);
  const credits: [string, number, number][] = [
    ['AmazonEC2', 0, Math.min(100, Math.round(total * 0.4) / 100)],
    ['AWSLambda', 14, Math.min(25, Math.round(total * 0.1) / 100)],
  ];
  for (const [product, day, amount] of credits) {
    row({
      account: owner,
      type: 'Credit',
      fromDay: day,
      toDay: day + 1,
      product,
      usageType: '',
      operation: '',
      amount: 0,
      unblended: -Math.max(amount, 0.01),
    });
  }
  const columns = CUR_COLUMNS.map(([name, type]) => `${name} ${type}`).join(', ');
  return [`CREATE TABLE fixed_rows (${columns})`, `INSERT INTO fixed_rows VALUES ${rows.join(',\n')}`];
}

interface FixedRow {
  account: string;
  type: string;
  fromDay: number;
  toDay: number;
  product: string;
  usageType: string;
  operation: string;
  amount: number;
  unblended: number;
  spArn?: string | undefined;
  commitment?: number;
  used?: number;
  riArn?: string | undefined;
  unusedUpfront?: number;
  unusedRecurring?: number;
}

/** Tenant-days that report telemetry, plus internal tenants the customer file does not know. */
function telemetrySourceSql(p: Plan): string {
  const [canary, loadtest] = UNKNOWN_TELEMETRY_TENANTS;
  return `
  CREATE TABLE telemetry_source AS
  SELECT d, tidx, tenant, w, wd FROM tenant_days
  UNION ALL
  SELECT range AS d, -1, ${sqlString(canary)}, 40.0, 40 FROM range(${p.month.days})
  UNION ALL
  SELECT range AS d, -2, ${sqlString(loadtest)}, 400.0, 400 FROM range(${p.month.days}) WHERE range % 7 IN (2, 3)
  ORDER BY d, tidx`;
}

/**
 * Daily telemetry, long format. About 2.5% of keys are split over two rows so consumers must sum; in
 * small demos the 10th has no storage_bytes rows, so that day's storage pools have no usage signal.
 */
function telemetrySql(p: Plan): string {
  const shapes = p.metrics.map((m) => METRIC_SHAPES[m] ?? DEFAULT_METRIC_SHAPE);
  const storage = p.metrics.indexOf('storage_bytes');
  const dropTenth = p.customers <= 200 && storage >= 0 ? `WHERE NOT (d = 9 AND mi = ${storage})` : '';
  const integral = `${sqlBoolList(shapes.map((s) => s.integral))}[mi + 1]`;
  return `
  WITH a AS (
    SELECT d, tidx, tenant, w, wd, unnest(range(${p.metrics.length})) AS mi FROM telemetry_source
  ), b AS (
    SELECT *, hs3(tidx, d * 100 + mi, 301) AS h FROM a ${dropTenth}
  ), c AS (
    SELECT *, ${sqlDoubleList(shapes.map((s) => s.perWeight))}[mi + 1] * CASE
        WHEN ${sqlBoolList(shapes.map((s) => s.stock))}[mi + 1]
          THEN w * (1 + 0.008 * d) * (0.99 + 0.02 * u01(h))
        WHEN w < 100 AND u01(hs3(tidx, d * 100 + mi, 302)) < 0.04 THEN 0
        ELSE wd * (0.7 + 0.6 * u01(h)) END AS raw
    FROM b
  ), q AS (
    SELECT *, CASE WHEN ${integral} THEN round(raw) ELSE round(raw, 3) END AS qty,
      0.2 + 0.6 * u01(hs3(tidx, d * 100 + mi, 303)) AS f
    FROM c
  ), s AS (
    SELECT *, unnest(CASE WHEN pick(hs3(tidx, d * 100 + mi, 304), 40) = 0 THEN [0, 1] ELSE [-1] END) AS part
    FROM q
  ), t AS (
    SELECT *, CASE WHEN ${integral} THEN round(qty * f) ELSE round(qty * f, 3) END AS first_part FROM s
  )
  SELECT CAST(DATE ${sqlString(p.month.start)} + CAST(d AS INTEGER) AS DATE) AS usage_date,
    tenant AS tenant_id,
    ${sqlStringList(p.metrics)}[mi + 1] AS metric,
    CAST(CASE part WHEN -1 THEN qty WHEN 0 THEN first_part ELSE round(qty - first_part, 3) END AS DOUBLE) AS quantity
  FROM t`;
}
