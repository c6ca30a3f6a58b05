/**
 * The month's usage events: each has a number, a day, an account, a usage kind, a coverage class
 * (0 on-demand, 1 Savings Plan, 2 reservation), a tenant or none (shared infrastructure), a usage amount
 * and its on-demand cost. The CUR rows and the aggregate behind the fee, tax and credit rows are both
 * computed from these CTEs, so the fees, tax and credits follow the usage the files actually hold.
 */
import { UNKNOWN_TAG_TENANTS, USAGE_KINDS } from './catalog.ts';
import { type Plan, SP_PERIOD, SP_PHASE } from './plan.ts';
import { boolListLiteral, doubleListLiteral, intListLiteral, stringListLiteral } from './sql-literals.ts';

/** Share of the remaining usage events that a reservation covers (only RI-eligible kinds). */
const RI_SHARE = 0.07;
/** Share of tagged events whose tenant id is unknown to the customer file. */
const UNKNOWN_TAG_SHARE = 0.01;
/** Size of each kind lookup table; weights are resolved to 1/1024 granularity. */
const LUT_SIZE = 1024;
/** Distinct shared-infrastructure resources per usage kind. */
const SHARED_SLOTS = 40;
/** Usage amount multiplier of shared infrastructure relative to a mid-size tenant. */
const SHARED_SCALE = 3;

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
export function eventsSql(p: Plan, from: number, to: number): string {
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
      ${intListLiteral(kindLookup())}[1 + (cls * 2 + CAST(tagged AS BIGINT)) * ${LUT_SIZE} + pick(hs(e, 204), ${LUT_SIZE})]
        AS kind,
      CASE WHEN tagged AND u01(hs(e, 205)) < ${UNKNOWN_TAG_SHARE}
        THEN ${stringListLiteral(UNKNOWN_TAG_TENANTS)}[1 + pick(hs(e, 206), ${UNKNOWN_TAG_TENANTS.length})]
        ELSE tenant END AS tenant
    FROM c
  ), m AS (
    SELECT *,
      CASE WHEN ${boolListLiteral(kinds.map((x) => x.hourly))}[kind] THEN pick(hs(e, 207), 24) ELSE 0 END AS hr,
      ${doubleListLiteral(kinds.map((x) => x.base))}[kind] * amt * (0.4 + 1.2 * u01(hs(e, 208))) AS raw_amount,
      pick(hs(e, 209), nslots) AS slot
    FROM k
  ), n AS (
    SELECT *, CASE WHEN ${boolListLiteral(kinds.map((x) => x.integral))}[kind] THEN greatest(1.0, round(raw_amount))
      ELSE round(raw_amount, 6) END AS amount
    FROM m
  ), o AS (
    SELECT *, amount * ${doubleListLiteral(kinds.map((x) => x.price))}[kind] AS od FROM n
  )`;
}
