/**
 * The customer dimension: the customers table (tier, plan status, MRR, active period, owner team), their
 * tenants, each tenant's active days with its share of the tagged usage events, and customers.csv written
 * from them. Line items and telemetry both expand the tenant-days, so the three files agree on who was
 * active when.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { FIXED_NAMES, NAME_PREFIXES, NAME_SUFFIXES } from './catalog.ts';
import type { Plan } from './plan.ts';
import { stringListLiteral, stringLiteral } from './sql-literals.ts';

/**
 * Creates the tables `customers`, `tenants` and `tenant_days` (ordered by day, then tenant) that the
 * usage events and telemetry are drawn from. Needs the seeded macros of plan.ts.
 */
export async function createCustomerTables(con: DuckDBConnection, p: Plan): Promise<void> {
  await con.run(customersSql(p));
  await con.run(tenantsSql());
  await con.run(tenantDaysSql(p));
}

/** Writes the customer dimension CSV, one row per tenant, from the `tenants` table. */
export async function writeCustomersFile(con: DuckDBConnection, file: string): Promise<void> {
  await con.run(
    `COPY (${customersCsvSql()}) TO ${stringLiteral(file)} (FORMAT csv, HEADER true, DELIMITER ',')`,
  );
}

/**
 * Customers with tier, plan, MRR, active period and owner. The first five are pinned so even a tiny
 * demo has every tier and plan status, a two-tenant customer, a mid-month start and a mid-month end.
 */
function customersSql(p: Plan): string {
  const days = p.month.days;
  const start = `DATE ${stringLiteral(p.month.start)}`;
  const fixedNames = Object.entries(FIXED_NAMES)
    .map(([i, name]) => `WHEN i = ${Number(i)} THEN ${stringLiteral(name)}`)
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
      ${stringListLiteral(NAME_PREFIXES)}[1 + pick(h_name, ${NAME_PREFIXES.length})] || ' ' ||
      ${stringListLiteral(NAME_SUFFIXES)}[1 + pick(h_name >> 24, ${NAME_SUFFIXES.length})] || ' ' || i
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
  const start = `DATE ${stringLiteral(p.month.start)}`;
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

/** One row per tenant; tenant_id stays empty for a single-tenant customer without an explicit tenant id. */
function customersCsvSql(): string {
  return `SELECT customer_id, tenant_id_column AS tenant_id, name, tier, plan_status, mrr, start_date, end_date,
    owner_team FROM tenants ORDER BY i, k`;
}
