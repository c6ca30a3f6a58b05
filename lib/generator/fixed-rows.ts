/**
 * The month's fee, tax and credit line items (Savings Plan recurring fees, RI fees, Tax, Credits). They
 * are derived from an aggregate of the usage events, so they need the usage before any Parquet is written.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { RESERVATIONS, USAGE_KINDS } from './catalog.ts';
import { CUR_COLUMNS, FIXED_ROWS_TABLE, NET, RI_RATE, SP_RATE } from './line-items.ts';
import type { Plan } from './plan.ts';
import { doubleLiteral, stringLiteral } from './sql-literals.ts';
import { eventsSql } from './usage-events.ts';

const TAX_RATE = 0.08;
/** Cost sums in the aggregate pass are integers of this many units per USD so they add up exactly. */
const MICROS = 1_000_000;

/**
 * Creates the table {@link FIXED_ROWS_TABLE} with the CUR columns: aggregates the on-demand cost of all
 * usage events by day, account, class and kind, then derives the fee, tax and credit rows from it.
 */
export async function createFixedRows(con: DuckDBConnection, p: Plan): Promise<void> {
  const aggregate = await con.runAndReadAll(
    `${eventsSql(p, 0, p.events)}
       SELECT d, acct, cls, kind, CAST(sum(CAST(round(od * ${MICROS}) AS BIGINT)) AS VARCHAR) AS od_micros
       FROM o GROUP BY ALL ORDER BY ALL`,
  );
  for (const statement of fixedRowsSql(p, aggregate.getRowObjectsJson() as unknown as AggregateRow[])) {
    await con.run(statement);
  }
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
    return `TIMESTAMP ${stringLiteral(new Date(ms).toISOString().slice(0, 19).replace('T', ' '))}`;
  };
  const rows: string[] = [];
  const row = (r: FixedRow) => {
    const num = (x: number | undefined) => (x === undefined ? 'NULL' : doubleLiteral(round6(x)));
    const str = (x: string | undefined) => (x === undefined ? 'NULL' : stringLiteral(x));
    rows.push(
      `(${[
        ts(0),
        ts(days),
        stringLiteral(p.payer),
        stringLiteral(r.account),
        stringLiteral(r.type),
        ts(r.fromDay),
        ts(r.toDay),
        stringLiteral(r.product),
        stringLiteral(r.usageType),
        stringLiteral(r.operation),
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
  return [
    `CREATE TABLE ${FIXED_ROWS_TABLE} (${columns})`,
    `INSERT INTO ${FIXED_ROWS_TABLE} VALUES ${rows.join(',\n')}`,
  ];
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
