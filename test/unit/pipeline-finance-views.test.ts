import { AthenaClient, GetQueryExecutionCommand, StartQueryExecutionCommand } from '@aws-sdk/client-athena';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { TrinoSQL } from 'dt-sql-parser';
import { beforeEach, describe, expect, it } from 'vitest';
import { AthenaEngine, AthenaQueryError } from '../../lib/engine/athena-engine.ts';
import {
  createFinanceViewStatements,
  FINANCE_VIEW_NAMES,
  renderFinanceExample,
} from '../../lib/finance/finance-registry.ts';
import {
  applyFinanceViews,
  publishedViewRef,
  type ViewEngine,
} from '../../lib/pipeline/create-finance-views.ts';
import { PipelineInputError } from '../../lib/pipeline/run-contract.ts';

const athena = mockClient(AthenaClient);
const PUBLISHED = [
  'customer_daily_cost',
  'customer_daily_service_cost',
  'unattributed_cost',
  'daily_summary',
  'customer_daily_usage',
];
beforeEach(() => athena.reset());

const PROPERTIES = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:111122223333:function:provider',
  Database: 'cost_per_customer',
  FinanceDatabase: 'cost_per_customer_finance',
  Fingerprint: 'abc',
  DropOnDelete: 'false',
};

function event(
  requestType: 'Create' | 'Update' | 'Delete',
  properties: Record<string, string> = PROPERTIES,
): CloudFormationCustomResourceEvent {
  return {
    RequestType: requestType,
    ServiceToken: PROPERTIES.ServiceToken,
    ResponseURL: 'https://example.invalid/response',
    StackId: 'arn:aws:cloudformation:eu-west-1:111122223333:stack/cpc/1',
    RequestId: 'req-1',
    LogicalResourceId: 'FinanceViews',
    ResourceType: 'Custom::FinanceViews',
    ResourceProperties: { ...properties, ServiceToken: PROPERTIES.ServiceToken },
    ...(requestType === 'Create'
      ? {}
      : { PhysicalResourceId: 'cost_per_customer_finance', OldResourceProperties: PROPERTIES }),
  } as CloudFormationCustomResourceEvent;
}

/** The handler's engine: Athena in the workgroup, over the published views of the database. */
function athenaViews(database: string): ViewEngine {
  const engine = new AthenaEngine({
    client: new AthenaClient({ region: 'eu-west-1' }),
    workgroup: 'cost-per-customer',
    database,
    resultsBucket: 'cpc-results-111122223333',
    runId: 'create-finance-views',
    pollIntervalMs: 1,
    maxRestarts: 0,
  });
  return { run: (sql) => engine.run(sql), tableRef: publishedViewRef(database, engine.tableRef) };
}

const startedSql = () =>
  athena.commandCalls(StartQueryExecutionCommand).map((call) => call.args[0].input.QueryString ?? '');

describe('the finance views statements', () => {
  const statements = createFinanceViewStatements(
    'cost_per_customer_finance',
    athenaViews('cost_per_customer').tableRef,
  );

  it('create every view of docs/finance.md in the finance database, over the published tables', () => {
    expect(statements.map((statement) => statement.view)).toEqual([...FINANCE_VIEW_NAMES]);
    for (const { view, sql } of statements) {
      expect(sql.startsWith(`CREATE OR REPLACE VIEW "cost_per_customer_finance"."${view}" AS\n`)).toBe(true);
      // Only the published tables of the results database: never a run's table, never the finance views.
      const body = sql.slice(sql.indexOf(' AS\n'));
      const references = body.match(/"cost_per_customer[a-z_]*"\."[a-z_0-9]+"/g) ?? [];
      expect(references.length, view).toBeGreaterThan(0);
      for (const reference of references) {
        expect(reference, view).toMatch(
          /^"cost_per_customer"\."(customer_daily_cost|customer_daily_service_cost|unattributed_cost|daily_summary|customer_daily_usage|customers)"$/,
        );
      }
    }
    const unattributed = statements.find((statement) => statement.view === 'unattributed_cost')?.sql;
    expect(unattributed).toContain('"cost_per_customer"."unattributed_cost"');
    // The customers table is all text in Glue: the views read it typed, as the runs do.
    const growth = statements.find((s) => s.view === 'cost_growth_vs_customer_growth')?.sql ?? '';
    expect(growth).toContain("CAST(nullif(trim(start_date), '') AS date)");
  });

  it('parse as Trino SQL', () => {
    const parser = new TrinoSQL();
    for (const { view, sql } of statements)
      expect({ view, errors: parser.validate(sql) }).toEqual({ view, errors: [] });
  });
});

describe('the example queries saved with the views', () => {
  it('read their own view and parse as Trino SQL', () => {
    const parser = new TrinoSQL();
    for (const view of FINANCE_VIEW_NAMES) {
      const sql = renderFinanceExample(view, `"cost_per_customer_finance"."${view}"`);
      expect(sql).toContain(`FROM "cost_per_customer_finance"."${view}"`);
      expect({ view, errors: parser.validate(sql) }).toEqual({ view, errors: [] });
    }
  });
});

describe('applyFinanceViews with Athena', () => {
  const succeed = () => {
    let id = 0;
    athena.on(StartQueryExecutionCommand).callsFake(() => ({ QueryExecutionId: `q${++id}` }));
    athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
  };

  it('creates the five published views, then the eleven finance views over them, one at a time', async () => {
    succeed();
    const response = await applyFinanceViews(event('Create'), { engineFor: athenaViews });
    expect(response).toEqual({
      PhysicalResourceId: 'cost_per_customer_finance',
      Data: { Views: FINANCE_VIEW_NAMES.join(',') },
    });
    expect(startedSql()).toHaveLength(16);
    expect(startedSql().map((sql) => sql.split(' AS\n')[0])).toEqual([
      ...PUBLISHED.map((view) => `CREATE OR REPLACE VIEW "cost_per_customer"."${view}"`),
      ...FINANCE_VIEW_NAMES.map((view) => `CREATE OR REPLACE VIEW "cost_per_customer_finance"."${view}"`),
    ]);
    // The finance views read the published views, never a `_runs` table.
    const monthly = startedSql()[5] ?? '';
    expect(monthly).toContain('"cost_per_customer"."customer_daily_cost"');
    expect(monthly).not.toContain('_runs');
    // The unit-cost views read the published usage.
    const units = startedSql().find((sql) => sql.includes('"cost_per_customer_finance"."unit_cost"')) ?? '';
    expect(units).toContain('"cost_per_customer"."customer_daily_usage"');
    expect(athena).toHaveReceivedCommandWith(StartQueryExecutionCommand, {
      WorkGroup: 'cost-per-customer',
      ResultReuseConfiguration: { ResultReuseByAgeConfiguration: { Enabled: false } },
    });
  });

  it('replaces the views on update', async () => {
    succeed();
    await applyFinanceViews(event('Update'), { engineFor: athenaViews });
    expect(startedSql().filter((sql) => sql.startsWith('CREATE OR REPLACE VIEW'))).toHaveLength(16);
  });

  it('fails the deployment when a view does not create, and stops there', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q1' });
    athena.on(GetQueryExecutionCommand).resolves({
      QueryExecution: {
        Status: { State: 'FAILED', StateChangeReason: 'line 3: Column x cannot be resolved' },
      },
    });
    await expect(applyFinanceViews(event('Create'), { engineFor: athenaViews })).rejects.toBeInstanceOf(
      AthenaQueryError,
    );
    expect(startedSql()).toHaveLength(1);
  });

  it('keeps the views on delete by default, and drops them when the stack is set to destroy', async () => {
    succeed();
    const kept = await applyFinanceViews(event('Delete'), { engineFor: athenaViews });
    expect(kept.PhysicalResourceId).toBe('cost_per_customer_finance');
    expect(athena).not.toHaveReceivedCommand(StartQueryExecutionCommand);

    await applyFinanceViews(event('Delete', { ...PROPERTIES, DropOnDelete: 'true' }), {
      engineFor: athenaViews,
    });
    expect(startedSql()).toEqual([
      ...FINANCE_VIEW_NAMES.map((view) => `DROP VIEW IF EXISTS "cost_per_customer_finance"."${view}"`),
      ...PUBLISHED.map((view) => `DROP VIEW IF EXISTS "cost_per_customer"."${view}"`),
    ]);
  });

  it('refuses a database name that is not a Glue name before running anything', async () => {
    await expect(
      applyFinanceViews(event('Create', { ...PROPERTIES, FinanceDatabase: 'x"; DROP TABLE y; --' }), {
        engineFor: athenaViews,
      }),
    ).rejects.toBeInstanceOf(PipelineInputError);
    expect(athena).not.toHaveReceivedCommand(StartQueryExecutionCommand);
  });
});
