import { readFileSync } from 'node:fs';
import type { DuckDbEngine } from '../engine/duckdb-engine.ts';
import { type CustomerTenant, parseCustomersCsv } from '../inputs/customers.ts';
import { InputError } from '../inputs/input-error.ts';

/**
 * Reads, validates and loads the customer dimension as the `customers` table: one row per tenant of each
 * version, `effective_from` last (NULL: in force from the beginning, docs/attribution.md 1.3).
 */
export async function defineCustomers(engine: DuckDbEngine, file: string): Promise<CustomerTenant[]> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    throw new InputError('customers file not found or not readable', { file });
  }
  // UTF-16 (what some spreadsheets call "Unicode text") starts with a byte order mark, or without one
  // has a zero byte beside every ASCII character; read as UTF-8 it fails with an unrelated quote error.
  const bom = bytes.subarray(0, 2).toString('hex');
  if (bom === 'fffe' || bom === 'feff' || bytes.subarray(0, 64).includes(0)) {
    throw new InputError('is UTF-16 encoded: save it as UTF-8', { file });
  }
  const text = bytes.toString('utf8');
  const tenants = parseCustomersCsv(text, file);
  await engine.run(
    'CREATE OR REPLACE TABLE customers_text (customer_id VARCHAR, tenant_id VARCHAR, name VARCHAR, tier VARCHAR,' +
      ' plan_status VARCHAR, mrr DOUBLE, start_date VARCHAR, end_date VARCHAR, owner_team VARCHAR,' +
      ' effective_from VARCHAR)',
  );
  // The appender passes values as data, never as SQL text: a name full of quotes is just a name.
  const appender = await engine.connection.createAppender('customers_text');
  for (const t of tenants) {
    appender.appendVarchar(t.customerId);
    appender.appendVarchar(t.tenantId);
    appender.appendVarchar(t.name);
    appender.appendVarchar(t.tier);
    appender.appendVarchar(t.planStatus);
    appender.appendDouble(t.mrr);
    for (const optional of [t.startDate, t.endDate, t.ownerTeam, t.effectiveFrom]) {
      if (optional === null) appender.appendNull();
      else appender.appendVarchar(optional);
    }
    appender.endRow();
  }
  appender.closeSync();
  await engine.run(
    'CREATE OR REPLACE TABLE customers AS SELECT customer_id, tenant_id, name, tier, plan_status, mrr,' +
      ' CAST(start_date AS DATE) AS start_date, CAST(end_date AS DATE) AS end_date, owner_team,' +
      ' CAST(effective_from AS DATE) AS effective_from FROM customers_text',
  );
  await engine.run('DROP TABLE customers_text');
  return tenants;
}
