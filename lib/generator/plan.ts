/**
 * The month plan: checked options, the calendar facts of the billing month, the seeded hash macros every
 * generator statement draws its randomness from, the account ids and ARNs, and how many usage events the
 * month holds so that the CUR row count lands on the requested number of line items.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { RESERVATIONS } from './catalog.ts';
import { bigintLiteral, stringLiteral } from './sql-literals.ts';

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

/** Telemetry metrics when the options name none. */
export const DEFAULT_METRICS = ['requests', 'storage_bytes', 'compute_seconds', 'active_users'];

/** Share of all line items that carry a tenant tag. */
const TAGGED_SHARE = 0.6;
/** Every 8th usage event is Savings Plan covered, which makes the row count exact (each adds a negation). */
export const SP_PERIOD = 8;
export const SP_PHASE = 3;

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** The billing month as the SQL needs it. */
export interface MonthFacts {
  /** First day, 'YYYY-MM-DD'. */
  readonly start: string;
  /** First day of the following month, 'YYYY-MM-DD'. */
  readonly next: string;
  readonly days: number;
  /** Start of the month in microseconds since the epoch, the unit of DuckDB's `make_timestamp`. */
  readonly startUs: number;
}

/** Everything the generator's statements are built from, fixed before the first row is written. */
export interface Plan {
  readonly month: MonthFacts;
  readonly customers: number;
  readonly metrics: readonly string[];
  /** The tenant tag as a CUR 2.0 `resource_tags` map key, e.g. 'user_tenant_id'. */
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

/** Parses a 'YYYY-MM' month; throws on anything else. */
export function monthFacts(month: string): MonthFacts {
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

/** Throws on options the generator cannot honour, before any file is touched. */
export function validate(o: SyntheticMonthOptions): void {
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

/**
 * Session settings and the seeded hash macros all generator SQL uses: `u01(h)` (uniform in [0, 1)),
 * `pick(h, n)` (integer in [0, n)), `hex16(h)`, and `hs(a, salt)` / `hs3(a, b, salt)`, seeded hashes.
 * Randomness comes only from these, so a seed fixes every value regardless of thread scheduling.
 */
export async function installSeededMacros(con: DuckDBConnection, seed: number): Promise<void> {
  await con.run('SET preserve_insertion_order = true');
  const icu = await con.runAndReadAll(
    "SELECT count(*)::INTEGER AS n FROM duckdb_extensions() WHERE extension_name = 'icu' AND loaded",
  );
  if (icu.getRowObjectsJson()[0]?.n === 1) await con.run("SET TimeZone = 'UTC'");
  const s = bigintLiteral(seed);
  // u01: a hash as a uniform double in [0, 1); its top 53 bits are exactly representable.
  await con.run(`CREATE MACRO u01(h) AS CAST(h >> 11 AS DOUBLE) / CAST(9007199254740992 AS DOUBLE)`);
  await con.run(`CREATE MACRO pick(h, n) AS CAST(h % CAST(n AS UBIGINT) AS BIGINT)`);
  await con.run(`CREATE MACRO hex16(h) AS lpad(lower(to_hex(h)), 16, '0')`);
  // hash(a, b, ...) combines the argument hashes linearly, so hashes that differ only in the salt are
  // XOR-shifted copies of each other (strongly correlated uniforms); re-hashing the result mixes them.
  await con.run(`CREATE MACRO hs(a, b) AS hash(hash(a, ${s}, b))`);
  await con.run(`CREATE MACRO hs3(a, b, c) AS hash(hash(a, b, ${s}, c))`);
}

/** Seeded account numbers and the hex suffixes of the Savings Plan and reservation ARNs. */
export interface AccountIds {
  readonly payer: string;
  readonly accounts: string[];
  readonly spSuffix: string;
  readonly riSuffixes: string[];
}

/** Draws the {@link AccountIds} with the seeded macros (so after {@link installSeededMacros}). */
export async function accountIds(con: DuckDBConnection): Promise<AccountIds> {
  const digits = (salt: string) =>
    `CAST(100000000000 + pick(hs(${stringLiteral(salt)}, 0), 900000000000) AS VARCHAR)`;
  const hex = (salt: string) => `hex16(hs(${stringLiteral(salt)}, 1))`;
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

/** The {@link Plan} for validated options: event counts that meet `lineItems`, tag key, ids and ARNs. */
export function makePlan(o: SyntheticMonthOptions, month: MonthFacts, ids: AccountIds): Plan {
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

/**
 * Savings Plan recurring fee per day, one RIFee per reservation, three Tax rows and two Credits: the
 * rows fixed-rows.ts writes, counted here so the event count can make up the rest of the line items.
 */
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
