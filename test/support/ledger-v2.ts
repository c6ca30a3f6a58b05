import { writeFileSync } from 'node:fs';
import { BILLING_FORMATS } from '../../lib/attribution/billing-formats.ts';
import { type AllocationRules, parseRules } from '../../lib/attribution/rules.ts';
import {
  ATTRIBUTION_STEPS,
  type AttributionRun,
  billingSources,
  failOnCheckRows,
  placeholderValues,
  renderCheck,
} from '../../lib/attribution/stages.ts';
import type { QueryEngine } from '../../lib/engine/query-engine.ts';
import { loadSqlFile, renderSql, sqlString, trustedSql } from '../../lib/sql/sql-template.ts';

/**
 * Ledger tests over hand-made canonical line items (docs/attribution.md 2: the column order every
 * line_items_*.sql gives), so the ledger's SQL is tested on its own, whatever the billing formats do.
 */
export interface HandLineItem {
  readonly date: string;
  /** YYYY-MM-DD start of the billing period. */
  readonly period: string;
  readonly provider?: string;
  readonly service: string;
  readonly tenant?: string;
  readonly cost: number;
  readonly currency?: string;
}

export interface HandUsage {
  readonly date: string;
  readonly tenant: string;
  readonly metric: string;
  readonly quantity: number;
}

/** One row of a customers file with history (docs/attribution.md 1.3). */
export interface HandCustomer {
  readonly id: string;
  readonly tenant?: string;
  readonly name?: string;
  readonly tier?: string;
  readonly plan?: 'paid' | 'trial' | 'free';
  readonly mrr?: number;
  readonly start?: string;
  readonly end?: string;
  /** effective_from; absent: from the beginning. */
  readonly from?: string;
}

const CUSTOMER_HEADER =
  'customer_id,tenant_id,name,tier,plan_status,mrr,start_date,end_date,owner_team,effective_from';

function customerFields(c: HandCustomer): string[] {
  return [
    c.id,
    c.tenant ?? '',
    c.name ?? `Customer ${c.id}`,
    c.tier ?? 'growth',
    c.plan ?? 'paid',
    String(c.mrr ?? 0),
    c.start ?? '',
    c.end ?? '',
    '',
    c.from ?? '',
  ];
}

/** The customers CSV with an effective_from column. */
export function customersCsvText(customers: readonly HandCustomer[]): string {
  return `${[CUSTOMER_HEADER, ...customers.map((c) => customerFields(c).join(','))].join('\n')}\n`;
}

export function writeHandCustomersCsv(path: string, customers: readonly HandCustomer[]): string {
  writeFileSync(path, customersCsvText(customers));
  return path;
}

const s = (text: string) => sqlString(text).sql;
const date = (text: string | undefined) => (text ? `DATE ${s(text)}` : 'CAST(NULL AS date)');

/** A typed relation from literal rows (DuckDB and Trino alike), or an empty typed one. */
function valuesSelect(columns: readonly [string, string][], rows: readonly string[][]): string {
  const names = columns.map(([name]) => name).join(', ');
  const typed = columns.map(([name, type]) => `CAST(${name} AS ${type}) AS ${name}`).join(', ');
  if (rows.length === 0)
    return `SELECT ${typed} FROM (SELECT ${columns.map(([n]) => `NULL AS ${n}`).join(', ')}) AS v WHERE FALSE`;
  return `SELECT ${typed} FROM (VALUES ${rows.map((r) => `(${r.join(', ')})`).join(', ')}) AS v (${names})`;
}

/** Stores the hand-made line items and telemetry as `hand_line_items` and `hand_telemetry`. */
export async function loadHandInputs(
  engine: QueryEngine,
  items: readonly HandLineItem[],
  usage: readonly HandUsage[],
): Promise<void> {
  await engine.createTable(
    'hand_line_items',
    valuesSelect(
      [
        ['usage_date', 'date'],
        ['billing_period_start', 'date'],
        ['provider', 'varchar'],
        ['account_id', 'varchar'],
        ['region', 'varchar'],
        ['service', 'varchar'],
        ['usage_type', 'varchar'],
        ['line_item_type', 'varchar'],
        ['resource_id', 'varchar'],
        ['tenant', 'varchar'],
        ['currency', 'varchar'],
        ['cost', 'double'],
      ],
      items.map((i) => [
        date(i.date),
        date(i.period),
        s(i.provider ?? 'AWS'),
        s('111111111111'),
        s('eu-west-1'),
        s(i.service),
        s('Usage'),
        s('Usage'),
        s(''),
        s(i.tenant ?? ''),
        s(i.currency ?? 'USD'),
        `CAST(${i.cost} AS double)`,
      ]),
    ),
  );
  await engine.createTable(
    'hand_telemetry',
    valuesSelect(
      [
        ['usage_date', 'date'],
        ['tenant_id', 'varchar'],
        ['metric', 'varchar'],
        ['quantity', 'double'],
        ['event_id', 'varchar'],
        ['source_file', 'varchar'],
      ],
      usage.map((u) => [
        date(u.date),
        s(u.tenant),
        s(u.metric),
        `CAST(${u.quantity} AS double)`,
        'CAST(NULL AS varchar)',
        s('telemetry.csv'),
      ]),
    ),
  );
}

/** Stores hand-made customers typed as the customers table is (effective_from last) as `hand_customers`. */
export async function loadHandCustomers(
  engine: QueryEngine,
  customers: readonly HandCustomer[],
): Promise<void> {
  await engine.createTable(
    'hand_customers',
    valuesSelect(
      [
        ['customer_id', 'varchar'],
        ['tenant_id', 'varchar'],
        ['name', 'varchar'],
        ['tier', 'varchar'],
        ['plan_status', 'varchar'],
        ['mrr', 'double'],
        ['start_date', 'date'],
        ['end_date', 'date'],
        ['owner_team', 'varchar'],
        ['effective_from', 'date'],
      ],
      customers.map((c) => [
        s(c.id),
        s(c.tenant ?? c.id),
        s(c.name ?? `Customer ${c.id}`),
        s(c.tier ?? 'growth'),
        s(c.plan ?? 'paid'),
        `CAST(${c.mrr ?? 0} AS double)`,
        date(c.start),
        date(c.end),
        'CAST(NULL AS varchar)',
        date(c.from),
      ]),
    ),
  );
}

/**
 * Runs every step of {@link ATTRIBUTION_STEPS} with the line items, telemetry and customers read from the
 * hand-made tables (`customers`: the table named, `customers` itself by default), checks included.
 */
export async function runHandAttribution(
  engine: QueryEngine,
  rules: AllocationRules,
  customersTable = 'customers',
): Promise<void> {
  const run: AttributionRun = { runId: 'ledger-v2', sources: billingSources(BILLING_FORMATS.cur2), rules };
  const values = {
    ...placeholderValues(engine.tableRef, run),
    line_items: trustedSql(engine.tableRef('hand_line_items')),
    telemetry: trustedSql(engine.tableRef('hand_telemetry')),
    customers: trustedSql(engine.tableRef(customersTable)),
  };
  for (const step of ATTRIBUTION_STEPS) {
    if (step.kind === 'inline') continue;
    if (step.kind === 'check') {
      failOnCheckRows(step.name, await engine.query(renderCheck(step.name, engine.tableRef)));
      continue;
    }
    const select = renderSql(loadSqlFile(step.file), values, step.file);
    if (step.kind === 'view') await engine.createView(step.name, select);
    else await engine.createTable(step.name, select);
  }
}

/** The history scenario (docs/attribution.md 1.3), hand-worked in test/integration/ledger-v2-history.test.ts. */
// D1 2026-03-30 and D2 2026-03-31 are in billing period 2026-03, D3 2026-04-01 in 2026-04.
// acme: from the beginning growth, MRR 1000, tenants acme + shared-t; from D2 enterprise, MRR 3000 (same
//       tenants); from D3 the same fields but only tenant acme (shared-t moves to beta at the boundary).
// beta: from the beginning MRR 1000, tenant beta; from D3 the same fields with tenants beta + shared-t.
// gamma: first version from D3 (MRR 2000, tenant g1): before D3 it does not exist.
export const D0 = '2026-03-29';
export const D1 = '2026-03-30';
export const D2 = '2026-03-31';
export const D3 = '2026-04-01';
const MARCH = '2026-03-01';
const APRIL = '2026-04-01';

export const historyCustomers: HandCustomer[] = [
  { id: 'acme', tenant: 'acme', name: 'Acme', tier: 'growth', mrr: 1000 },
  { id: 'acme', tenant: 'shared-t', name: 'Acme', tier: 'growth', mrr: 1000 },
  { id: 'acme', tenant: 'acme', name: 'Acme', tier: 'enterprise', mrr: 3000, from: D2 },
  { id: 'acme', tenant: 'shared-t', name: 'Acme', tier: 'enterprise', mrr: 3000, from: D2 },
  { id: 'acme', tenant: 'acme', name: 'Acme', tier: 'enterprise', mrr: 3000, from: D3 },
  { id: 'beta', tenant: 'beta', name: 'Beta', mrr: 1000 },
  { id: 'beta', tenant: 'beta', name: 'Beta', mrr: 1000, from: D3 },
  { id: 'beta', tenant: 'shared-t', name: 'Beta', mrr: 1000, from: D3 },
  { id: 'gamma', tenant: 'g1', name: 'Gamma', mrr: 2000, from: D3 },
];

export const historyItems: HandLineItem[] = [
  // D1: mrr pool 40 over acme 1000 + beta 1000 (gamma does not exist): 20 + 20.
  { date: D1, period: MARCH, service: 'Support', cost: 40 },
  // shared-t is acme's on D1: direct 10 to acme; g1 has no customer yet: unknown_tenant 4.
  { date: D1, period: MARCH, service: 'Compute', tenant: 'shared-t', cost: 10 },
  { date: D1, period: MARCH, service: 'Compute', tenant: 'g1', cost: 4 },
  // D2: mrr pool 40 over acme 3000 + beta 1000: 30 + 10.
  { date: D2, period: MARCH, service: 'Support', cost: 40 },
  // Two pools of one rule and service, one per provider, each by requests (shared-t 2, beta 1, ghost 1;
  // Q = 4): AWS 12 -> acme 6, beta 3, ghost 3; Azure 6 -> acme 3, beta 1.5, ghost 1.5.
  { date: D2, period: MARCH, service: 'Compute', cost: 12 },
  { date: D2, period: MARCH, provider: 'Azure', service: 'Compute', cost: 6 },
  // D3: mrr pool 60 over acme 3000 + beta 1000 + gamma 2000 = 6000: 30, 10, 20.
  { date: D3, period: APRIL, service: 'Support', cost: 60 },
  // shared-t is beta's from D3: direct 8 to beta; g1 is gamma's: direct 5.
  { date: D3, period: APRIL, service: 'Compute', tenant: 'shared-t', cost: 8 },
  { date: D3, period: APRIL, service: 'Compute', tenant: 'g1', cost: 5 },
  // even over the three customers that exist and are active on D3: 3 each.
  { date: D3, period: APRIL, provider: 'Azure', service: 'Storage', cost: 9 },
].map((item) => ({ currency: 'EUR', ...item }));

export const historyUsage: HandUsage[] = [
  { date: D0, tenant: 'shared-t', metric: 'requests', quantity: 100 }, // no billing on D0: not a run day
  { date: D1, tenant: 'shared-t', metric: 'requests', quantity: 5 },
  { date: D1, tenant: 'g1', metric: 'requests', quantity: 7 }, // gamma does not exist yet
  { date: D1, tenant: 'beta', metric: 'requests', quantity: 0 }, // a zero sum is no row
  { date: D2, tenant: 'shared-t', metric: 'requests', quantity: 2 },
  { date: D2, tenant: 'beta', metric: 'requests', quantity: 1 },
  { date: D2, tenant: 'ghost', metric: 'requests', quantity: 1 },
  { date: D3, tenant: 'shared-t', metric: 'requests', quantity: 4 },
  { date: D3, tenant: 'beta', metric: 'requests', quantity: 1 },
  { date: D3, tenant: 'g1', metric: 'requests', quantity: 2 },
];

export const historyRules = parseRules(
  {
    version: 'history-1',
    rules: [
      { id: 'revenue', match: { services: ['Support'] }, driver: 'mrr' },
      { id: 'compute', match: { services: ['Compute'] }, driver: 'requests' },
      { id: 'rest', match: {}, driver: 'even' },
    ],
  },
  'test',
);
