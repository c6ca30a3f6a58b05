import type { Row } from '../../lib/engine/query-engine.ts';
import type { TestDay } from './serving-athena.ts';

/*
 * One visible run and one new run of 2026-10 whose serving diff was worked out by hand; DuckDB
 * (serving-diff.test.ts) and Trino (trino-serving-diff.test.ts) must both give exactly these rows.
 */

export const PERIOD = '2026-10';
export const VISIBLE_RUN = '2026-10_visible_000000000000000000000000';
export const NEW_RUN = '2026-10_new_000000000000000000000000';
/** Another published run of the period: its partition must not count. */
export const OTHER_RUN = '2026-10_other_000000000000000000000000';

const acme = (date: string, direct: number, extra: Partial<TestDay> = {}): TestDay => ({
  customer: 'acme',
  date: `2026-10-${date}`,
  direct,
  shared: 0,
  name: 'Acme',
  ...extra,
});

export const VISIBLE_DAYS: TestDay[] = [
  acme('01', 1), // same in the new run: not written
  acme('02', 2 + 1e-10), // differs below 1e-8: not written
  acme('03', 2.99), // 3 now: written
  acme('04', 4, { tier: null }), // tier NULL -> growth: written
  acme('05', 5, { name: null, tier: null, mrr: null }), // NULLs on both sides: not written
  acme('07', 7), // gone: tombstone
  acme('08', 8), // name Acme -> Acme Inc: written
  { customer: 'globex', date: '2026-10-01', direct: 0, shared: 0.5 }, // customer gone: tombstone
];

export const NEW_DAYS: TestDay[] = [
  acme('01', 1),
  acme('02', 2),
  acme('03', 3),
  acme('04', 4),
  acme('05', 5, { name: null, tier: null, mrr: null }),
  acme('06', 6), // new: written
  acme('08', 8, { name: 'Acme Inc' }),
  { customer: 'initech', date: '2026-10-02', direct: 0.25, shared: 0.5 }, // new customer: written
  // September is another billing period: neither diffed nor summed.
  { customer: 'acme', date: '2026-09-30', direct: 100, shared: 0, billingPeriod: '2026-09' },
];

export const OTHER_DAYS: TestDay[] = [acme('09', 9)];

/** A diff row as compared: [customer, date, deleted, total, name, tier, mrr]. */
export type DiffRow = [string, string, boolean, number | null, string | null, string | null, number | null];

export const EXPECTED_DAYS: DiffRow[] = [
  ['acme', '2026-10-03', false, 3, 'Acme', 'growth', 1000],
  ['acme', '2026-10-04', false, 4, 'Acme', 'growth', 1000],
  ['acme', '2026-10-06', false, 6, 'Acme', 'growth', 1000],
  ['acme', '2026-10-07', true, null, null, null, null],
  ['acme', '2026-10-08', false, 8, 'Acme Inc', 'growth', 1000],
  ['globex', '2026-10-01', true, null, null, null, null],
  ['initech', '2026-10-02', false, 0.75, 'INITECH', 'growth', 1000],
];

/** With no visible run: every day of the period in the new run (7 of acme's, initech's one). */
export const EXPECTED_ALL_DAYS = 8;

/** A month row as compared: [customer, total, days, first, last, name, tier]. */
export type MonthRow = [string, number, number, string, string, string | null, string | null];

// acme: 1 + 2 + 3 + 4 + 5 + 6 + 8 = 29 over 7 days, dimensions of its latest day (the 8th).
export const EXPECTED_MONTHS: MonthRow[] = [
  ['acme', 29, 7, '2026-10-01', '2026-10-08', 'Acme Inc', 'growth'],
  ['initech', 0.75, 1, '2026-10-02', '2026-10-02', 'INITECH', 'growth'],
];

const num = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
const str = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));

/** Rows of the day SELECT in the compared form, sorted by customer and date. */
export function diffRows(rows: readonly Row[]): DiffRow[] {
  return rows
    .map(
      (r): DiffRow => [
        String(r.customer_id),
        String(r.usage_date),
        r.deleted === true || r.deleted === 'true',
        num(r.total_cost),
        str(r.customer_name),
        str(r.tier),
        num(r.mrr),
      ],
    )
    .sort((a, b) => `${a[0]} ${a[1]}`.localeCompare(`${b[0]} ${b[1]}`));
}

/** Rows of the month SELECT in the compared form (total rounded to 8 decimals), sorted by customer. */
export function monthRows(rows: readonly Row[]): MonthRow[] {
  return rows
    .map(
      (r): MonthRow => [
        String(r.customer_id),
        Number(Number(r.total_cost).toFixed(8)),
        Number(r.days_with_cost),
        String(r.first_usage_date),
        String(r.last_usage_date),
        str(r.customer_name),
        str(r.tier),
      ],
    )
    .sort((a, b) => a[0].localeCompare(b[0]));
}
