import { parse } from 'csv-parse/sync';
import { InputError } from './input-error.ts';

export const PLAN_STATUSES = ['paid', 'trial', 'free'] as const;
export type PlanStatus = (typeof PLAN_STATUSES)[number];

/** One tenant of one customer (docs/attribution.md section 1.3), validated. */
export interface CustomerTenant {
  readonly customerId: string;
  /** Never empty: an empty tenant_id in the file means the customer id. */
  readonly tenantId: string;
  readonly name: string;
  readonly tier: string;
  readonly planStatus: PlanStatus;
  readonly mrr: number;
  /** Inclusive YYYY-MM-DD bounds of the active period; null means open. */
  readonly startDate: string | null;
  readonly endDate: string | null;
  readonly ownerTeam: string | null;
  /**
   * The YYYY-MM-DD day this version of the customer is in force from (docs/attribution.md 1.3), until the
   * customer's next version; null means from the beginning (and is every row of a file without the column).
   */
  readonly effectiveFrom: string | null;
}

const REQUIRED_COLUMNS = ['customer_id', 'name', 'tier', 'plan_status', 'mrr'] as const;
const OPTIONAL_COLUMNS = ['tenant_id', 'start_date', 'end_date', 'owner_team', 'effective_from'] as const;
type CustomerColumn = (typeof REQUIRED_COLUMNS)[number] | (typeof OPTIONAL_COLUMNS)[number];

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Whether text is a real calendar date in YYYY-MM-DD form. */
export function isIsoDate(text: string): boolean {
  const match = DATE.exec(text);
  if (!match) return false;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return date.toISOString().slice(0, 10) === text;
}

/** The problem of a column named twice in a header (the message is shared by every input). */
export const DUPLICATE_COLUMN = 'the column appears twice in the header (a column name must be unique)';

/**
 * The first header name that appears twice, compared trimmed and case-insensitively as the engine
 * compares column names; without this check one of the two columns silently wins.
 */
export function duplicateColumn(header: readonly string[]): string | undefined {
  const seen = new Set<string>();
  for (const name of header) {
    const key = name.trim().toLowerCase();
    if (seen.has(key)) return name.trim();
    seen.add(key);
  }
  return undefined;
}

/** The fields that must agree on every row of one customer, by column name. */
function customerFields(t: CustomerTenant): [CustomerColumn, string | number | null][] {
  return [
    ['name', t.name],
    ['tier', t.tier],
    ['plan_status', t.planStatus],
    ['mrr', t.mrr],
    ['start_date', t.startDate],
    ['end_date', t.endDate],
    ['owner_team', t.ownerTeam],
  ];
}

/**
 * Parses and validates a customers CSV. Every problem is an InputError naming the file, the column and
 * the data row (1-based; the header is not counted), so a bad upload is fixed in one look.
 * Without an `effective_from` column a customer has one version (v1 rules: a tenant belongs to one
 * customer, a customer's fields agree on all its rows). With it, the rows of one customer and one
 * `effective_from` are a version and must agree; on any day a tenant belongs to at most one customer.
 * Returns one entry per tenant of each version.
 */
export function parseCustomersCsv(text: string, file: string): CustomerTenant[] {
  // A spreadsheet saved in a European locale separates fields with `;` (or a tab): the parser would
  // fail on the first quote with a message that does not say so.
  const firstLine = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  if (!firstLine.includes(',')) {
    for (const [separator, shown] of [
      [';', '`;`'],
      ['\t', 'tab'],
    ] as const) {
      if (firstLine.includes(separator)) {
        throw new InputError(
          `looks ${shown}-separated: cpc reads comma-separated CSV (save it with , between fields)`,
          {
            file,
          },
        );
      }
    }
  }
  let records: string[][];
  try {
    records = parse(text, { bom: true, skip_empty_lines: true, relax_column_count: false });
  } catch (error) {
    const detail = error as { message?: string; lines?: number };
    throw new InputError(`is not valid CSV (${detail.message ?? String(error)})`, {
      file,
      ...(detail.lines !== undefined ? { row: Math.max(detail.lines - 1, 1) } : {}),
    });
  }
  const header = records[0]?.map((name) => name.trim().toLowerCase());
  if (!header) throw new InputError('is empty: expected a header row', { file });
  const duplicate = duplicateColumn(records[0] as string[]);
  if (duplicate !== undefined) throw new InputError(DUPLICATE_COLUMN, { file, column: duplicate });
  for (const column of REQUIRED_COLUMNS) {
    if (!header.includes(column)) throw new InputError('required column is missing', { file, column });
  }
  // Without customers every cost would end up unattributed: a file cut off after its header, not a
  // month with no customers (the deployed run refuses it too).
  if (records.length === 1) throw new InputError('has a header but no customer rows', { file });
  const indexOf = new Map(header.map((name, index) => [name, index]));

  const versioned = indexOf.has('effective_from');
  const tenants = new Map<string, CustomerTenant>();
  const customers = new Map<string, CustomerTenant>();
  /** The data row of each tenant entry, by entry key, for the overlap check's message. */
  const rows = new Map<string, number>();
  records.slice(1).forEach((record, index) => {
    const row = index + 1;
    const value = (column: CustomerColumn): string => {
      const at = indexOf.get(column);
      return at === undefined ? '' : (record[at] ?? '').trim();
    };
    const fail = (column: CustomerColumn, problem: string): never => {
      throw new InputError(problem, { file, column, row });
    };

    const customerId = value('customer_id');
    if (customerId === '') fail('customer_id', 'is empty');
    const planStatus = value('plan_status').toLowerCase();
    if (!(PLAN_STATUSES as readonly string[]).includes(planStatus)) {
      fail('plan_status', `"${value('plan_status')}" is not one of ${PLAN_STATUSES.join(', ')}`);
    }
    const mrrText = value('mrr');
    let mrr = 0;
    if (mrrText === '') {
      if (planStatus === 'paid') fail('mrr', 'is empty for a paid customer');
    } else {
      mrr = Number(mrrText);
      if (!NUMBER.test(mrrText) || !Number.isFinite(mrr)) fail('mrr', `"${mrrText}" is not a number`);
      if (mrr < 0) fail('mrr', `"${mrrText}" is negative`);
      if (mrr > 0 && planStatus !== 'paid')
        fail('mrr', `is ${mrrText} but a ${planStatus} customer pays nothing (use 0)`);
    }
    const dateValue = (column: 'start_date' | 'end_date' | 'effective_from'): string | null => {
      const text = value(column);
      if (text === '') return null;
      if (!isIsoDate(text)) fail(column, `"${text}" is not a date (YYYY-MM-DD)`);
      return text;
    };
    const startDate = dateValue('start_date');
    const endDate = dateValue('end_date');
    if (startDate !== null && endDate !== null && endDate < startDate) {
      fail('end_date', `${endDate} is before start_date ${startDate}`);
    }
    const tenant: CustomerTenant = {
      customerId,
      tenantId: value('tenant_id') || customerId,
      name: value('name'),
      tier: value('tier'),
      planStatus: planStatus as PlanStatus,
      mrr,
      startDate,
      endDate,
      ownerTeam: value('owner_team') || null,
      effectiveFrom: dateValue('effective_from'),
    };
    const version = `${customerId}\u0000${tenant.effectiveFrom ?? ''}`;
    const entry = versioned ? `${version}\u0000${tenant.tenantId}` : tenant.tenantId;

    const sameTenant = tenants.get(tenant.tenantId);
    if (!versioned && sameTenant && sameTenant.customerId !== customerId) {
      fail('tenant_id', `tenant "${tenant.tenantId}" already belongs to customer "${sameTenant.customerId}"`);
    }
    const sameCustomer = customers.get(version);
    if (sameCustomer) {
      const earlier = new Map(customerFields(sameCustomer));
      for (const [column, current] of customerFields(tenant)) {
        if (earlier.get(column) !== current) {
          fail(
            column,
            `customer "${customerId}" has ${JSON.stringify(current ?? '')} here but ` +
              `${JSON.stringify(earlier.get(column) ?? '')} on an earlier row` +
              (versioned
                ? ` with the same effective_from ${tenant.effectiveFrom ?? '(empty)'} (the rows of one version must agree)`
                : " (a customer's fields must agree on all its tenants)"),
          );
        }
      }
    }
    tenants.set(entry, tenant);
    customers.set(version, tenant);
    rows.set(entry, row);
  });
  if (versioned) checkOneCustomerPerTenant([...tenants.entries()], rows, file);
  return [...tenants.values()];
}

/** A version's days: from (inclusive, null = the beginning) to (exclusive, null = open). */
interface TenantSpan {
  readonly tenant: CustomerTenant;
  readonly row: number;
  readonly from: string | null;
  readonly to: string | null;
}

/**
 * On any day a tenant belongs to at most one customer (docs/attribution.md 1.3): each version of a customer
 * is in force until the customer's next version, and two customers' versions listing one tenant must not
 * share a day. The error names the tenant, both customers and the first day they share.
 */
function checkOneCustomerPerTenant(
  entries: readonly (readonly [string, CustomerTenant])[],
  rows: ReadonlyMap<string, number>,
  file: string,
): void {
  const starts = new Map<string, (string | null)[]>();
  for (const [, t] of entries) {
    const list = starts.get(t.customerId) ?? [];
    if (!list.includes(t.effectiveFrom)) list.push(t.effectiveFrom);
    starts.set(t.customerId, list);
  }
  // null (the beginning) first, then the days in order.
  for (const list of starts.values())
    list.sort((a, b) => (a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1));
  const byTenant = new Map<string, TenantSpan[]>();
  for (const [key, t] of entries) {
    const list = starts.get(t.customerId) ?? [];
    const next = list[list.indexOf(t.effectiveFrom) + 1];
    const span: TenantSpan = { tenant: t, row: rows.get(key) ?? 0, from: t.effectiveFrom, to: next ?? null };
    byTenant.set(t.tenantId, [...(byTenant.get(t.tenantId) ?? []), span]);
  }
  for (const spans of byTenant.values()) {
    for (const [i, a] of spans.entries()) {
      for (const b of spans.slice(i + 1)) {
        if (a.tenant.customerId === b.tenant.customerId) continue;
        const from = a.from === null ? b.from : b.from === null ? a.from : a.from > b.from ? a.from : b.from;
        const to = a.to === null ? b.to : b.to === null ? a.to : a.to < b.to ? a.to : b.to;
        if (from !== null && to !== null && from >= to) continue;
        throw new InputError(
          `tenant "${b.tenant.tenantId}" belongs to customer "${a.tenant.customerId}" (row ${a.row}) and to ` +
            `customer "${b.tenant.customerId}" on ${from ?? 'every day before the first effective_from'}` +
            ' (on any day a tenant belongs to at most one customer)',
          { file, column: 'tenant_id', row: b.row },
        );
      }
    }
  }
}
