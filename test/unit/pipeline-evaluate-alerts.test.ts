import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  type GetQueryResultsCommandOutput,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import {
  BatchGetItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Alert, NotifiedAlert } from '../../lib/alerts/alert.ts';
import { parseAlertConfig } from '../../lib/alerts/alert-config.ts';
import { messageAttributes } from '../../lib/alerts/alert-message.ts';
import { DynamoDbStateStore } from '../../lib/alerts/dynamodb-state-store.ts';
import { snsBatchPublisher } from '../../lib/alerts/sns-publisher.ts';
import { AthenaEngine } from '../../lib/engine/athena-engine.ts';
import { ConfigurationError } from '../../lib/pipeline/config.ts';
import {
  type EvaluateRunAlertsOptions,
  evaluateRunAlerts,
  periodReportUri,
} from '../../lib/pipeline/evaluate-alerts.ts';
import { PublishedResultsReader, UnknownTableError } from '../../lib/pipeline/published-results.ts';

const athena = mockClient(AthenaClient);
const dynamodb = mockClient(DynamoDBClient);
const sns = mockClient(SNSClient);
beforeEach(() => {
  athena.reset();
  dynamodb.reset();
  sns.reset();
});

const TOPIC = 'arn:aws:sns:eu-west-1:111122223333:cpc-alerts';
const RUN_ID = '2026-11_exec-1_0123456789abcdef01234567';
const NOW = new Date('2026-11-06T07:00:00Z');
const config = parseAlertConfig({ serviceTeams: { AmazonRDS: 'team-db' } }, 'test');

type Columns = [string, string][];
const page = (columns: Columns, rows: string[][]): GetQueryResultsCommandOutput => ({
  $metadata: {},
  ResultSet: {
    ResultSetMetadata: { ColumnInfo: columns.map(([Name, Type]) => ({ Name, Type })) },
    Rows: [columns.map(([name]) => name), ...rows].map((row) => ({
      Data: row.map((VarCharValue) => (VarCharValue === '' ? {} : { VarCharValue })),
    })),
  },
});

/** Each alert query gets its own answer, told apart by what its SQL selects. */
const ANSWERS: { id: string; marker: string; result: GetQueryResultsCommandOutput }[] = [
  { id: 'q-asof', marker: 'AS last_day', result: page([['last_day', 'varchar']], [['2026-11-05']]) },
  // The results over the window are in euros: every amount of every alert is written in EUR.
  {
    id: 'q-currency',
    marker: 'AS window_currency',
    result: page([['window_currency', 'varchar']], [['EUR']]),
  },
  {
    id: 'q-top',
    marker: 'service_rank',
    result: page(
      [
        ['customer_id', 'varchar'],
        ['service', 'varchar'],
        ['cost', 'double'],
        ['service_rank', 'bigint'],
      ],
      [
        ['acme', 'AmazonEC2', '900', '2'],
        ['acme', 'AmazonRDS', '1500', '1'],
      ],
    ),
  },
  {
    // What costs acme most: its direct RDS cost (routing, as the top service says too).
    id: 'q-owner',
    marker: 'contributor_rank',
    result: page(
      [
        ['customer_id', 'varchar'],
        ['rule_id', 'varchar'],
        ['service', 'varchar'],
      ],
      [['acme', 'direct', 'AmazonRDS']],
    ),
  },
  {
    // cost_anomaly: no unusual day.
    id: 'q-anomaly',
    marker: 'AS rising_service',
    result: page(
      [
        ['customer_id', 'varchar'],
        ['measured', 'double'],
      ],
      [],
    ),
  },
  {
    id: 'q-freemium',
    marker: 'median_cost_30d',
    result: page(
      [
        ['plan_status', 'varchar'],
        ['customers', 'bigint'],
        ['median_cost_30d', 'double'],
      ],
      [
        ['paid', '12', '40'],
        ['trial', '30', '5'],
      ],
    ),
  },
  {
    id: 'q-share',
    marker: 'AS unattributed_share',
    result: page(
      [
        ['unattributed_cost', 'double'],
        ['attributable_cost', 'double'],
        ['unattributed_share', 'double'],
      ],
      // 80 of 1000: 8%, above the 5% threshold.
      [['80', '1000', '0.08']],
    ),
  },
  {
    // cost_trend_7d: nobody's cost grew.
    id: 'q-trend',
    marker: 'AS previous_7d',
    result: page(
      [
        ['customer_id', 'varchar'],
        ['measured', 'double'],
      ],
      [],
    ),
  },
  {
    // cost_to_mrr: the only query that chooses between P1 and P2.
    id: 'q-customers',
    marker: "THEN 'P1'",
    result: page(
      [
        ['alert_type', 'varchar'],
        ['severity', 'varchar'],
        ['customer_id', 'varchar'],
        ['name', 'varchar'],
        ['tier', 'varchar'],
        ['plan_status', 'varchar'],
        ['mrr', 'double'],
        ['owner_team', 'varchar'],
        ['cost_30d', 'double'],
        ['previous_7d', 'double'],
        ['current_7d', 'double'],
        ['measured', 'double'],
        ['threshold', 'double'],
      ],
      // 3100 over 30 days against 10000 of MRR: 0.31, above the P1 threshold of 0.25.
      [
        [
          'cost_to_mrr',
          'P1',
          'acme',
          'Acme Robotics',
          'enterprise',
          'paid',
          '10000',
          'team-data',
          '3100',
          '700',
          '720',
          '0.31',
          '0.25',
        ],
      ],
    ),
  },
];

function athenaAnswers(): string[] {
  const sqlById = new Map<string, string>();
  athena.on(StartQueryExecutionCommand).callsFake(async (input) => {
    const answer = ANSWERS.find((a) => input.QueryString.includes(a.marker));
    if (!answer) throw new Error(`unexpected query: ${input.QueryString}`);
    sqlById.set(answer.id, input.QueryString);
    return { QueryExecutionId: answer.id };
  });
  athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
  athena.on(GetQueryResultsCommand).callsFake(async (input) => {
    const answer = ANSWERS.find((a) => a.id === input.QueryExecutionId);
    return answer?.result ?? page([], []);
  });
  return ANSWERS.map((a) => a.id).map((id) => sqlById.get(id) ?? '');
}

/** What evaluateRunAlerts saved for the run's report, per call. */
let saved: (readonly NotifiedAlert[])[] = [];
beforeEach(() => {
  saved = [];
});

function options(): EvaluateRunAlertsOptions {
  const inputs = new AthenaEngine({
    client: new AthenaClient({ region: 'eu-west-1' }),
    workgroup: 'cost-per-customer',
    database: 'cost_per_customer',
    resultsBucket: 'cpc-results-111122223333',
    runId: RUN_ID,
    sleep: async () => undefined,
  });
  const ddb = new DynamoDBClient({ region: 'eu-west-1' });
  return {
    engine: new PublishedResultsReader({ inputs, database: 'cost_per_customer', runs: new Map() }),
    pointers: { dynamodb: ddb, tableName: 'cpc-serving' },
    config,
    store: new DynamoDbStateStore(ddb, { tableName: 'cpc-serving' }),
    publish: snsBatchPublisher(new SNSClient({ region: 'eu-west-1' }), TOPIC, {
      sleep: async () => undefined,
    }),
    reportLocation: (period) => periodReportUri('cpc-results-111122223333', period),
    now: () => NOW,
    saveAlerts: async (alerts) => {
      saved.push(alerts);
    },
  };
}

const OCTOBER_RUN = '2026-10_exec-0_fedcba9876543210fedcba98';
/** The period pointers: November names this run, October an earlier one; no other period was published. */
function pointers(november = RUN_ID): void {
  dynamodb.on(GetItemCommand).resolves({});
  for (const [period, runId] of [
    ['2026-11', november],
    ['2026-10', OCTOBER_RUN],
  ] as const) {
    dynamodb.on(GetItemCommand, { Key: { pk: { S: `PUBLISHED#${period}` }, sk: { S: 'RUN' } } }).resolves({
      Item: {
        pk: { S: `PUBLISHED#${period}` },
        sk: { S: 'RUN' },
        run_id: { S: runId },
        delivered_at: { S: `${period}-05T08:00:00.000Z` },
      },
    });
  }
}

const sqlOf = (id: string) =>
  athena
    .commandCalls(StartQueryExecutionCommand)
    .map((call) => call.args[0].input.QueryString ?? '')
    .find((sql) => sql.includes(ANSWERS.find((a) => a.id === id)?.marker ?? '?')) ?? '';

describe('evaluateRunAlerts', () => {
  it('evaluates on the visible runs as of the latest day - 1, publishes with routing attributes, records it', async () => {
    athenaAnswers();
    pointers();
    // unattributed_share for the account was sent 2 days ago: within the 7-day renotify period.
    dynamodb.on(BatchGetItemCommand).resolves({
      Responses: {
        'cpc-serving': [
          {
            pk: { S: 'ALERT#unattributed_share|account' },
            sk: { S: 'SENT' },
            severity: { S: 'WARNING' },
            sent_at: { S: '2026-11-04T07:00:00.000Z' },
          },
        ],
      },
    });
    dynamodb.on(PutItemCommand).resolves({});
    sns.on(PublishBatchCommand).resolves({ Successful: [{ Id: 'm0', MessageId: 'm-1' }], Failed: [] });

    const result = await evaluateRunAlerts({ runId: RUN_ID, billingPeriod: '2026-11' }, options());

    expect(result).toEqual({
      runId: RUN_ID,
      billingPeriod: '2026-11',
      asOf: '2026-11-04',
      evaluated: 2,
      sent: 1,
      suppressed: 1,
      messages: 1,
      failedMessages: 0,
      publishCalls: 1,
      sentAlerts: ['cost_to_mrr|acme|P1'],
      read: [`2026-10=${OCTOBER_RUN}`, `2026-11=${RUN_ID}`],
    });

    // The latest usage day is read from the run's period up to today (November alone, on 6 November);
    // the rules read the window's periods, D = 2026-11-04, D-29 = 2026-10-06: October and November, each
    // the run its pointer names.
    expect(sqlOf('q-asof')).toContain(
      `FROM (SELECT "usage_date", "total_cost", "direct_cost", "shared_cost", "unattributed_cost", "excluded_cost", "unattributed_pct", "currency", "rules_version", "run_id", "billing_period" FROM "cost_per_customer"."daily_summary_runs" WHERE (billing_period = '2026-11' AND run_id = '${RUN_ID}'))`,
    );
    const customerSql = sqlOf('q-customers');
    expect(customerSql).toContain(
      `(SELECT "usage_date", "customer_id", "customer_name", "tier", "plan_status", "mrr", "direct_cost", "shared_cost", "total_cost", "currency", "rules_version", "run_id", "billing_period" FROM "cost_per_customer"."customer_daily_cost_runs" WHERE (billing_period = '2026-10' AND run_id = '${OCTOBER_RUN}') OR (billing_period = '2026-11' AND run_id = '${RUN_ID}'))`,
    );
    expect(customerSql).toContain("DATE '2026-11-04'");
    for (const call of athena.commandCalls(StartQueryExecutionCommand)) {
      // No run table (`"run_<id>_<table>"`): only the `_runs` tables, whose `run_id` column is fine.
      expect(call.args[0].input.QueryString).not.toMatch(/"run_(?!id")/);
    }

    // Routed to the owner of the top service over the window (AmazonRDS -> team-db).
    const expected = {
      type: 'cost_to_mrr',
      severity: 'P1',
      customerId: 'acme',
      tier: 'enterprise',
      team: 'team-db',
    } as Alert;
    expect(sns).toHaveReceivedCommandTimes(PublishBatchCommand, 1);
    expect(sns).toHaveReceivedCommandWith(PublishBatchCommand, {
      TopicArn: TOPIC,
      PublishBatchRequestEntries: [
        expect.objectContaining({
          Id: 'm0',
          MessageStructure: 'json',
          MessageAttributes: messageAttributes(expected),
        }),
      ],
    });
    expect(messageAttributes(expected)).toEqual({
      severity: { DataType: 'String', StringValue: 'P1' },
      alert_type: { DataType: 'String', StringValue: 'cost_to_mrr' },
      team: { DataType: 'String', StringValue: 'team-db' },
      customer_id: { DataType: 'String', StringValue: 'acme' },
      tier: { DataType: 'String', StringValue: 'enterprise' },
    });
    const body = JSON.parse(
      sns.commandCalls(PublishBatchCommand)[0]?.args[0].input.PublishBatchRequestEntries?.[0]?.Message ??
        '{}',
    );
    expect(JSON.parse(body.default).content.title).toBe('P1: Acme Robotics costs 31.0% of its MRR');
    // Money in the results' currency: MRR 10000, cost_30d 3100, RDS 1500 and EC2 900 over the window.
    expect(JSON.parse(body.default).content.description).toBe(
      [
        'Acme Robotics costs €3,100.00 a month to serve, 31.0% of its €10,000.00 MRR (threshold 25.0%).',
        '',
        '• Customer: Acme Robotics (acme), enterprise, paid',
        '• MRR: €10,000.00',
        '• Cost over 30 days: €3,100.00',
        '• Measured: 31.0% (threshold 25.0%)',
        '• Top services: AmazonRDS €1,500.00 (team-db), AmazonEC2 €900.00',
        '• As of 2026-11-04; routed to team-db.',
      ].join('\n'),
    );
    expect(body.email).toContain('MRR: €10,000.00');
    expect(body.email).not.toContain('$');
    // The currency query reads the same window as the rules: D-29 = 2026-10-06 to D = 2026-11-04.
    expect(sqlOf('q-currency')).toContain("BETWEEN DATE '2026-10-06' AND DATE '2026-11-04'");

    // Recorded after the publish, with a TTL of renotify + 1 days.
    expect(dynamodb).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: 'cpc-serving',
      Item: expect.objectContaining({
        pk: { S: 'ALERT#cost_to_mrr|acme' },
        severity: { S: 'P1' },
        currency: { S: 'EUR' },
        expires_at: { N: String(NOW.getTime() / 1000 + 8 * 86_400) },
      }),
    });

    // Both evaluated alerts are saved for the report, each saying whether this run sent it.
    expect(saved).toHaveLength(1);
    expect(saved[0]?.map((a) => `${a.type}|${a.subject}|${a.notify}|${a.heldBack ?? ''}`).sort()).toEqual([
      'cost_to_mrr|acme|true|',
      'unattributed_share|account|false|sent within the last 7 days',
    ]);
    expect(saved[0]?.map((a) => a.currency)).toEqual(['EUR', 'EUR']);
    // 80 unattributed of 1000 attributable, in euros.
    expect(saved[0]?.find((a) => a.type === 'unattributed_share')?.explanation).toBe(
      '8.0% of attributable cost (€80.00) reached no customer over the last 7 days, above 5.0%.',
    );
  });

  it('leaves the alerts of a message that failed to publish unrecorded, saved as unsent', async () => {
    athenaAnswers();
    pointers();
    dynamodb.on(BatchGetItemCommand).resolves({ Responses: { 'cpc-serving': [] } });
    dynamodb.on(PutItemCommand).resolves({});
    // m0: the P1 alone; m1: the weekly digest of unattributed_share (never sent: due at once). SNS keeps
    // failing m0.
    sns.on(PublishBatchCommand).callsFake(async (input) => ({
      Successful: input.PublishBatchRequestEntries.filter((e: { Id: string }) => e.Id !== 'm0').map(
        (e: { Id: string }) => ({ Id: e.Id, MessageId: 'x' }),
      ),
      Failed: input.PublishBatchRequestEntries.filter((e: { Id: string }) => e.Id === 'm0').map(() => ({
        Id: 'm0',
        Code: 'InternalError',
        SenderFault: false,
      })),
    }));

    const result = await evaluateRunAlerts({ runId: RUN_ID, billingPeriod: '2026-11' }, options());

    expect(result).toMatchObject({ evaluated: 2, sent: 1, suppressed: 1, messages: 1, failedMessages: 1 });
    // One call with both, then two retries of m0 alone.
    expect(result.publishCalls).toBe(3);
    // Only the digest's records: the unattributed_share alert and team finops's weekly digest.
    const written = dynamodb.commandCalls(PutItemCommand).map((call) => call.args[0].input.Item?.pk?.S);
    expect(written).toEqual(['ALERT#unattributed_share|account', 'ALERT#digest|WARNING|finops']);
    expect(saved[0]?.map((a) => `${a.type}|${a.notify}|${a.heldBack ?? ''}`)).toEqual([
      'cost_to_mrr|false|publish failed: InternalError',
      'unattributed_share|true|',
    ]);
  });

  it('evaluates nothing, and sends nothing, for a run the pointer does not name', async () => {
    pointers(OCTOBER_RUN.replace('2026-10', '2026-11'));
    const result = await evaluateRunAlerts({ runId: RUN_ID, billingPeriod: '2026-11' }, options());
    expect(result).toEqual({
      runId: RUN_ID,
      billingPeriod: '2026-11',
      asOf: null,
      evaluated: 0,
      sent: 0,
      suppressed: 0,
      messages: 0,
      failedMessages: 0,
      publishCalls: 0,
      sentAlerts: [],
      skipped: 'not the visible run',
      visibleRunId: '2026-11_exec-0_fedcba9876543210fedcba98',
    });
    expect(sns).toHaveReceivedCommandTimes(PublishBatchCommand, 0);
    expect(athena).toHaveReceivedCommandTimes(StartQueryExecutionCommand, 0);
    expect(saved).toEqual([]);
  });
});

describe('PublishedResultsReader', () => {
  const inputs = { tableRef: (name: string) => `<input ${name}>`, query: async () => [] };

  it("reads each period's given run from the _runs tables, its columns only, and inputs from the wrapped engine", () => {
    const engine = new PublishedResultsReader({
      inputs,
      database: 'cost_per_customer',
      runs: new Map([['2026-10', 'run-a']]),
    });
    expect(engine.tableRef('unattributed_cost')).toBe(
      `(SELECT "usage_date", "reason", "provider", "service", "cost", "currency", "rules_version", "run_id", "billing_period" FROM "cost_per_customer"."unattributed_cost_runs" WHERE (billing_period = '2026-10' AND run_id = 'run-a'))`,
    );
    expect(engine.tableRef('customers')).toBe('<input customers>');
    // No period published: no rows, same columns.
    expect(engine.forRuns(new Map()).tableRef('unattributed_cost')).toMatch(/_runs" WHERE false\)$/);
  });

  it('is read-only, knows no run table, and refuses a period or run id that is not one', () => {
    const engine = new PublishedResultsReader({ inputs, database: 'cost_per_customer', runs: new Map() });
    expect(() => engine.tableRef('allocated_cost')).toThrow(UnknownTableError);
    // A reader and nothing more: no writer to call, so none that throws.
    expect('createTable' in engine || 'createView' in engine).toBe(false);
    expect(() => engine.forRuns(new Map([["2026-10'; DROP", 'run-a']]))).toThrow();
    expect(() => engine.forRuns(new Map([['2026-10', "run-a' OR true"]]))).toThrow();
  });
});

describe('the evaluate-alerts handler configuration', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('fails at load on an invalid ALERT_CONFIG, naming it', async () => {
    vi.stubEnv('DATABASE', 'cost_per_customer');
    vi.stubEnv('WORKGROUP', 'cost-per-customer');
    vi.stubEnv('RESULTS_BUCKET', 'cpc-results-111122223333');
    vi.stubEnv('DATA_BUCKET', 'cpc-data-111122223333');
    vi.stubEnv('TENANT_TAG_KEY', 'user:tenant_id');
    vi.stubEnv('COST_BASIS', 'amortized');
    vi.stubEnv('TABLE_NAME', 'cpc-serving');
    vi.stubEnv('ALERT_TOPIC_ARN', TOPIC);
    vi.stubEnv('ALERT_CONFIG', '{"costToMrrP1": 0.1, "costToMrrP2": 0.2}');
    vi.resetModules();
    await expect(import('../../lambdas/evaluate-alerts.ts')).rejects.toMatchObject({
      name: ConfigurationError.name,
      message: expect.stringMatching(
        /^invalid Lambda configuration: ALERT_CONFIG: .*costToMrrP1 must be at least costToMrrP2$/,
      ),
    });
  });
});
