import type { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import type { TrinoColumn, TrinoColumnType, TrinoEngine } from '../../lib/engine/trino-engine.ts';
import { RESULT_TABLE_COLUMNS, type Value, writeTable } from './results-tables.ts';

// Small results tables written by hand for the finance views, on DuckDB (test/integration/finance-views)
// and on Trino (test/integration/trino-agreement): the same rows, so one hand-worked answer checks both.

/** The tables the finance views read. */
export type SourceTable = keyof typeof RESULT_TABLE_COLUMNS;

export interface CustomerDay {
  readonly date: string;
  /** @default the month of `date` */
  readonly period?: string;
  readonly id: string;
  /** @default 'growth' */
  readonly tier?: string;
  /** @default 'paid' */
  readonly plan?: string;
  /** @default 100 for paid, 0 otherwise */
  readonly mrr?: number;
  readonly direct?: number;
  readonly shared?: number;
}

export interface ServiceDay {
  readonly date: string;
  readonly period?: string;
  readonly id: string;
  readonly service: string;
  /** @default 'direct' */
  readonly rule?: string;
  /** @default 'tag' for direct cost, else 'requests' */
  readonly driver?: string;
  readonly cost: number;
}

export interface UsageDay {
  readonly date: string;
  readonly period?: string;
  readonly id: string;
  readonly metric: string;
  readonly quantity: number;
}

export interface SummaryDay {
  readonly date: string;
  readonly period?: string;
  readonly total: number;
  readonly excluded?: number;
  readonly unattributed?: number;
}

export interface UnattributedRow {
  readonly date: string;
  readonly reason: string;
  readonly service: string;
  readonly cost: number;
}

export interface Customer {
  readonly id: string;
  readonly tenant?: string;
  readonly start?: string | null;
  readonly end?: string | null;
}

export interface Results {
  readonly customerDays?: readonly CustomerDay[];
  readonly serviceDays?: readonly ServiceDay[];
  /** @default one row per (date, period) of the customer and service days, cost 0 */
  readonly summaryDays?: readonly SummaryDay[];
  readonly unattributed?: readonly UnattributedRow[];
  readonly usage?: readonly UsageDay[];
  readonly customers?: readonly Customer[];
}

const month = (date: string) => date.slice(0, 7);

/** The rows of the six source tables, in the columns of {@link RESULT_TABLE_COLUMNS} (tables not given are empty). */
export function sourceRows(results: Results): Record<SourceTable, Value[][]> {
  const tables = {} as Record<SourceTable, Value[][]>;
  const customerDays = results.customerDays ?? [];
  const serviceDays = results.serviceDays ?? [];
  tables.customer_daily_cost = customerDays.map((d) => {
    const plan = d.plan ?? 'paid';
    const direct = d.direct ?? 0;
    const shared = d.shared ?? 0;
    return [
      d.date,
      d.period ?? month(d.date),
      d.id,
      `Name of ${d.id}`,
      d.tier ?? 'growth',
      plan,
      d.mrr ?? (plan === 'paid' ? 100 : 0),
      direct,
      shared,
      direct + shared,
      'v1',
      'run-1',
    ];
  });
  tables.customer_daily_service_cost = serviceDays.map((d) => {
    const rule = d.rule ?? 'direct';
    return [
      d.date,
      d.period ?? month(d.date),
      d.id,
      d.service,
      rule,
      d.driver ?? (rule === 'direct' ? 'tag' : 'requests'),
      d.cost,
      'v1',
      'run-1',
    ];
  });
  const derived = new Map<string, SummaryDay>();
  for (const d of [...customerDays, ...serviceDays]) {
    derived.set(d.date, { date: d.date, period: d.period ?? month(d.date), total: 0 });
  }
  const summaryDays = results.summaryDays ?? [...derived.values()];
  tables.daily_summary = summaryDays.map((d) => {
    const excluded = d.excluded ?? 0;
    const unattributed = d.unattributed ?? 0;
    const attributable = d.total - excluded;
    return [
      d.date,
      d.period ?? month(d.date),
      d.total,
      attributable - unattributed,
      0,
      unattributed,
      excluded,
      attributable === 0 ? 0 : unattributed / attributable,
      'v1',
      'run-1',
    ];
  });
  tables.unattributed_cost = (results.unattributed ?? []).map((u) => [
    u.date,
    month(u.date),
    u.reason,
    u.service,
    u.cost,
    'v1',
    'run-1',
  ]);
  tables.customer_daily_usage = (results.usage ?? []).map((u) => [
    u.date,
    u.period ?? month(u.date),
    u.id,
    u.metric,
    u.quantity,
    'v1',
    'run-1',
  ]);
  tables.customers = (results.customers ?? []).map((c) => [
    c.id,
    c.tenant ?? c.id,
    `Name of ${c.id}`,
    'growth',
    'paid',
    100,
    c.start ?? null,
    c.end ?? null,
    null,
  ]);
  return tables;
}

/** Replaces the six source tables in DuckDB with the given rows. */
export async function loadDuckDb(engine: DuckDbEngine, results: Results): Promise<void> {
  for (const [table, rows] of Object.entries(sourceRows(results)) as [SourceTable, Value[][]][]) {
    await writeTable(engine, table, rows);
  }
}

const TRINO_TYPES: Record<string, TrinoColumnType> = { VARCHAR: 'varchar', DOUBLE: 'double', DATE: 'date' };

/** The same tables in Trino (the result tables only: the customers table is an input there). */
export async function loadTrino(trino: TrinoEngine, results: Results): Promise<void> {
  const tables = sourceRows(results);
  for (const table of Object.keys(tables) as SourceTable[]) {
    if (table === 'customers') continue;
    const columns: TrinoColumn[] = RESULT_TABLE_COLUMNS[table].split(',').map((spec) => {
      const [name = '', type = ''] = spec.trim().split(' ');
      return { name, type: TRINO_TYPES[type] ?? 'varchar' };
    });
    const rows = tables[table].map((row) =>
      Object.fromEntries(columns.map((c, i) => [c.name, row[i] ?? null])),
    );
    await trino.loadTable(table, columns, rows);
  }
}

/**
 * Two months for the unit-cost views. January (31 days, data on the 30th and 31st): customers a and b
 * (paid) and f (free).
 * Usage: requests a 3000 + 1000 = 4000, b 1000 + 1000 = 2000 (6000 = 6 x 1,000); storage_bytes a 31 GiB
 * on each day (62 GB-days / 31 days = 2 GB-months), b 31 GiB on the 31st (1 GB-month); f 500 active_users.
 * February (28 days, open, data on the 1st): a stores 28 GiB (28 GB-days / 28 = 1 GB-month), no requests.
 */
export const GIB = 2 ** 30;
export const UNIT_RESULTS: Results = {
  serviceDays: [
    // compute-network (requests), EC2: a 7.5 + 3 = 10.5, b 2.5 + 3 = 5.5 -> 16. Lambda: a 2 + b 2 = 4.
    { date: '2026-01-30', id: 'a', service: 'AmazonEC2', rule: 'compute-network', cost: 7.5 },
    { date: '2026-01-30', id: 'b', service: 'AmazonEC2', rule: 'compute-network', cost: 2.5 },
    { date: '2026-01-31', id: 'a', service: 'AmazonEC2', rule: 'compute-network', cost: 3 },
    { date: '2026-01-31', id: 'b', service: 'AmazonEC2', rule: 'compute-network', cost: 3 },
    { date: '2026-01-31', id: 'a', service: 'AWSLambda', rule: 'compute-network', cost: 2 },
    { date: '2026-01-31', id: 'b', service: 'AWSLambda', rule: 'compute-network', cost: 2 },
    // data-stores (storage_bytes), S3: a 4 + 2 = 6, b 2 -> 8.
    {
      date: '2026-01-30',
      id: 'a',
      service: 'AmazonS3',
      rule: 'data-stores',
      driver: 'storage_bytes',
      cost: 4,
    },
    {
      date: '2026-01-31',
      id: 'a',
      service: 'AmazonS3',
      rule: 'data-stores',
      driver: 'storage_bytes',
      cost: 2,
    },
    {
      date: '2026-01-31',
      id: 'b',
      service: 'AmazonS3',
      rule: 'data-stores',
      driver: 'storage_bytes',
      cost: 2,
    },
    // search, a 7-day window of requests: its metric is requests. a 3.
    { date: '2026-01-31', id: 'a', service: 'AmazonES', rule: 'search', driver: 'requests/7d', cost: 3 },
    // Not per unit of one metric: even, a blend, direct cost. No unit_cost row, not in a metric's cost.
    {
      date: '2026-01-31',
      id: 'a',
      service: 'AmazonCloudWatch',
      rule: 'everything-else',
      driver: 'even',
      cost: 1,
    },
    {
      date: '2026-01-31',
      id: 'b',
      service: 'AmazonCloudWatch',
      rule: 'everything-else',
      driver: 'even',
      cost: 1,
    },
    {
      date: '2026-01-31',
      id: 'f',
      service: 'AmazonCloudWatch',
      rule: 'everything-else',
      driver: 'even',
      cost: 1,
    },
    {
      date: '2026-01-31',
      id: 'a',
      service: 'AmazonOpenSearchService',
      rule: 'blend',
      driver: 'weights(requests=0.5,storage_bytes=0.5)',
      cost: 5,
    },
    { date: '2026-01-30', id: 'a', service: 'AmazonEC2', cost: 20 },
    // February: S3 1 on 1 GB-month; the 7-day window still charges a 0.7 for January's requests.
    {
      date: '2026-02-01',
      id: 'a',
      service: 'AmazonS3',
      rule: 'data-stores',
      driver: 'storage_bytes',
      cost: 1,
    },
    { date: '2026-02-01', id: 'a', service: 'AmazonES', rule: 'search', driver: 'requests/7d', cost: 0.7 },
  ],
  // Customer totals: a January 31.5 + 16 = 47.5, b 2.5 + 8 = 10.5, f 1; a February 1.7.
  customerDays: [
    { date: '2026-01-30', id: 'a', direct: 20, shared: 11.5 },
    { date: '2026-01-31', id: 'a', shared: 16 },
    { date: '2026-01-30', id: 'b', shared: 2.5 },
    { date: '2026-01-31', id: 'b', shared: 8 },
    { date: '2026-01-31', id: 'f', tier: 'self-serve', plan: 'free', shared: 1 },
    { date: '2026-02-01', id: 'a', shared: 1.7 },
  ],
  usage: [
    { date: '2026-01-30', id: 'a', metric: 'requests', quantity: 3000 },
    { date: '2026-01-31', id: 'a', metric: 'requests', quantity: 1000 },
    { date: '2026-01-30', id: 'b', metric: 'requests', quantity: 1000 },
    { date: '2026-01-31', id: 'b', metric: 'requests', quantity: 1000 },
    { date: '2026-01-30', id: 'a', metric: 'storage_bytes', quantity: 31 * GIB },
    { date: '2026-01-31', id: 'a', metric: 'storage_bytes', quantity: 31 * GIB },
    { date: '2026-01-31', id: 'b', metric: 'storage_bytes', quantity: 31 * GIB },
    { date: '2026-01-31', id: 'f', metric: 'active_users', quantity: 500 },
    { date: '2026-02-01', id: 'a', metric: 'storage_bytes', quantity: 28 * GIB },
  ],
};
