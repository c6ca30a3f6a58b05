import { describe, expect, it } from 'vitest';
import { parseCustomersCsv } from '../../lib/inputs/customers.ts';
import { InputError } from '../../lib/inputs/input-error.ts';

// The customers file with history (docs/attribution.md 1.3): effective_from versions, and the errors
// that name the file, the column and the row.
const HEADER =
  'customer_id,tenant_id,name,tier,plan_status,mrr,start_date,end_date,owner_team,effective_from';
const csv = (...rows: string[]) => `${[HEADER, ...rows].join('\n')}\n`;

function error(text: string): InputError {
  try {
    parseCustomersCsv(text, 'customers.csv');
  } catch (caught) {
    if (caught instanceof InputError) return caught;
    throw caught;
  }
  throw new Error('expected an InputError');
}

describe('parseCustomersCsv with effective_from', () => {
  it('reads versions: one entry per tenant of each version, effective_from null for an empty cell', () => {
    const tenants = parseCustomersCsv(
      csv(
        'acme,acme,Acme,growth,paid,1000,,,,',
        'acme,acme,Acme,enterprise,paid,3000,,,,2026-03-15',
        'acme,acme-eu,Acme,enterprise,paid,3000,,,,2026-03-15',
      ),
      'customers.csv',
    );
    expect(tenants.map((t) => [t.customerId, t.tenantId, t.mrr, t.effectiveFrom])).toEqual([
      ['acme', 'acme', 1000, null],
      ['acme', 'acme', 3000, '2026-03-15'],
      ['acme', 'acme-eu', 3000, '2026-03-15'],
    ]);
  });

  it('lets a tenant move between customers at a version boundary', () => {
    // t1 is acme's until 2026-03-09 (acme's 2026-03-10 version no longer lists it) and beta's from then.
    const tenants = parseCustomersCsv(
      csv(
        'acme,acme,Acme,growth,paid,1000,,,,',
        'acme,t1,Acme,growth,paid,1000,,,,',
        'acme,acme,Acme,growth,paid,1000,,,,2026-03-10',
        'beta,t1,Beta,growth,paid,500,,,,2026-03-10',
      ),
      'customers.csv',
    );
    expect(tenants.filter((t) => t.tenantId === 't1').map((t) => t.customerId)).toEqual(['acme', 'beta']);
  });

  it('refuses rows of one version that disagree, naming the file, column and row', () => {
    const e = error(
      csv(
        'acme,acme,Acme,growth,paid,1000,,,,2026-03-01',
        'acme,acme-eu,Acme,growth,paid,2000,,,,2026-03-01',
      ),
    );
    expect(e.location).toEqual({ file: 'customers.csv', column: 'mrr', row: 2 });
    expect(e.message).toContain('same effective_from 2026-03-01');
  });

  it('refuses a tenant in two customers on one day, naming both customers and the day', () => {
    // acme keeps t1 for ever (one version); beta lists it from 2026-03-10: both have it on 2026-03-10.
    const e = error(
      csv(
        'acme,t1,Acme,growth,paid,1000,,,,',
        'beta,beta,Beta,growth,paid,500,,,,',
        'beta,t1,Beta,growth,paid,500,,,,2026-03-10',
      ),
    );
    expect(e.location).toEqual({ file: 'customers.csv', column: 'tenant_id', row: 3 });
    expect(e.message).toContain('"acme"');
    expect(e.message).toContain('"beta"');
    expect(e.message).toContain('on 2026-03-10');
  });

  it('finds the first shared day of two bounded versions', () => {
    // acme has t1 from 2026-03-01 to 2026-03-19 (next version 2026-03-20); beta from 2026-03-15: shared
    // from 2026-03-15.
    const e = error(
      csv(
        'acme,t1,Acme,growth,paid,1000,,,,2026-03-01',
        'acme,acme,Acme,growth,paid,1000,,,,2026-03-20',
        'beta,t1,Beta,growth,paid,500,,,,2026-03-15',
      ),
    );
    expect(e.message).toContain('on 2026-03-15');
    expect(e.location.row).toBe(3);
  });

  it('refuses an effective_from that is not a date', () => {
    expect(error(csv('acme,acme,Acme,growth,paid,1000,,,,2026-02-30')).location).toEqual({
      file: 'customers.csv',
      column: 'effective_from',
      row: 1,
    });
  });

  it('keeps the v1 rules without the column: a tenant of two customers is refused', () => {
    const text =
      'customer_id,tenant_id,name,tier,plan_status,mrr\nacme,t1,Acme,growth,paid,1\nbeta,t1,Beta,growth,paid,1\n';
    expect(() => parseCustomersCsv(text, 'customers.csv')).toThrow(
      /tenant "t1" already belongs to customer "acme"/,
    );
    const one = parseCustomersCsv(
      'customer_id,name,tier,plan_status,mrr\nacme,Acme,growth,paid,1\n',
      'c.csv',
    );
    expect(one[0]?.effectiveFrom).toBeNull();
  });
});
