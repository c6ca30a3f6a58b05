import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../lib/alerts/alert.ts';
import { loadAlertConfig } from '../../lib/alerts/alert-config.ts';
import { ALERT_TYPES } from '../../lib/alerts/alert-types.ts';
import { evaluateAlerts, ruleOwnersOf } from '../../lib/alerts/evaluate-alerts.ts';
import { loadRulesFile } from '../../lib/attribution/rules.ts';
import { CUSTOMER_COLUMNS, RESULT_COLUMNS } from '../../lib/catalog/glue-schemas.ts';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import { type TrinoColumnType, TrinoEngine } from '../../lib/engine/trino-engine.ts';
import { DEMO_ALERTS_CONFIG } from '../../lib/generator/alert-showcase.ts';
import { runDemo } from '../../lib/local/demo.ts';
import { CSV_OUTPUTS } from '../../lib/local/output-files.ts';
import { type LocalRunResult, runLocal } from '../../lib/local/run-local.ts';
import { PublishedResultsReader } from '../../lib/pipeline/published-results.ts';
import { runsTableName } from '../../lib/pipeline/published-views.ts';
import { sqlString } from '../../lib/sql/sql-template.ts';
import { RESULT_TABLES } from '../../lib/sql/tables.ts';
import { tempDir } from '../support/fixtures.ts';
import { readCsv } from '../support/run-scenario.ts';
import { expectSameValue } from '../support/trino-agreement.ts';
import { startTrinoServer, type TrinoServer } from '../support/trino-server.ts';

// The deployed evaluation (evaluate-alerts: the published `<result>_runs` tables of the visible run,
// read through PublishedResultsReader, and the customers table as the Glue table holds the CSV) on a
// real Trino gives exactly the alerts the local run wrote for the same demo month.
const DB = 'cost_per_customer';
const TYPES: Record<string, TrinoColumnType> = { string: 'varchar', double: 'double', date: 'date' };

let server: TrinoServer;
let trino: TrinoEngine;
let local: LocalRunResult;
let out: string;
let alertsConfigFile: string;
let rulesFile: string;
let customersFile: string;

beforeAll(async () => {
  server = await startTrinoServer();
  trino = await TrinoEngine.create({ url: server.url, schema: DB });
  // The demo's month (one: the comparison needs no history) and inputs, run again with the demo's alert configuration but a compute target a
  // small month passes too, so that every alert type fires.
  const dir = tempDir();
  const { inputs } = (
    await runDemo({
      outDir: join(dir, 'demo'),
      seed: 7,
      customers: 60,
      lineItems: 8_000,
      month: '2026-10',
      months: 1,
    })
  ).demo;
  alertsConfigFile = join(dir, 'alerts-config.json');
  writeFileSync(
    alertsConfigFile,
    JSON.stringify({
      ...DEMO_ALERTS_CONFIG,
      unitCostTargets: DEMO_ALERTS_CONFIG.unitCostTargets.map((t) => ({ ...t, target: t.target / 10 })),
    }),
  );
  rulesFile = inputs.rules;
  customersFile = inputs.customers;
  out = join(dir, 'out');
  local = await runLocal({
    billing: [...inputs.billing],
    telemetry: [inputs.telemetry],
    customers: customersFile,
    rulesFile,
    alertsConfigFile,
    outDir: out,
  });
  // Each result's Parquet file as its _runs table: the Glue columns, then the billing_period partition.
  const duck = await DuckDbEngine.create({ threads: 1 });
  try {
    for (const result of RESULT_TABLES) {
      const output = CSV_OUTPUTS.find((o) => o.table === result);
      if (output === undefined) throw new Error(`no output file for ${result}`);
      const file = join(out, output.file.replace(/\.csv$/, '.parquet'));
      const columns = [
        ...RESULT_COLUMNS[result].map((c) => ({ name: c.name, type: TYPES[c.type] ?? 'varchar' })),
        { name: 'billing_period', type: 'varchar' as const },
      ];
      const rows = await duck.query(
        `SELECT ${RESULT_COLUMNS[result]
          .map((c) => (c.type === 'date' ? `CAST(${c.name} AS VARCHAR) AS ${c.name}` : c.name))
          .join(
            ', ',
          )}, strftime(usage_date, '%Y-%m') AS billing_period FROM read_parquet(${sqlString(file).sql})`,
      );
      await trino.loadTable(runsTableName(result), columns, rows as Record<string, string | number | null>[]);
    }
  } finally {
    duck.close();
  }
  const customerColumns = CUSTOMER_COLUMNS.map((c) => ({ name: c.name, type: 'varchar' as const }));
  await trino.loadTable(
    'customers',
    customerColumns,
    readCsv(customersFile).map((row) =>
      Object.fromEntries(customerColumns.map((c) => [c.name, row[c.name] ?? ''])),
    ),
  );
}, 300_000);

afterAll(async () => {
  await server?.stop();
}, 30_000);

describe('the deployed alert evaluation', () => {
  it('gives on the published results the alerts the local run wrote for the same month', async () => {
    const asOf = local.asOf;
    if (asOf === null) throw new Error('the run has no evaluation day');
    const reader = new PublishedResultsReader({
      inputs: trino,
      database: DB,
      runs: new Map([['2026-10', local.runId]]),
    });
    const deployed = await evaluateAlerts(
      reader,
      asOf,
      loadAlertConfig(alertsConfigFile),
      ALERT_TYPES,
      ruleOwnersOf(loadRulesFile(rulesFile).rules),
    );
    const written = local.alerts.map(({ notify: _notify, heldBack: _heldBack, ...alert }) => alert as Alert);
    // Every type fires, so the comparison compares each one.
    expect(new Set(deployed.map((a) => a.type))).toEqual(new Set(ALERT_TYPES.map((t) => t.name)));
    expectSameValue(deployed, written, 'alerts');
  });
});
