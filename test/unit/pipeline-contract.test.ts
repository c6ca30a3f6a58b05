import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BILLING_FORMAT_NAMES,
  BILLING_FORMATS,
  billingTablesOf,
} from '../../lib/attribution/billing-formats.ts';
import { defaultRules } from '../../lib/attribution/rules.ts';
import { billingSources } from '../../lib/attribution/stages.ts';
import {
  billingPeriodsBetween,
  CUSTOMERS_KEY,
  PREFIXES,
  RULES_KEY,
  runPrefix,
} from '../../lib/common/names.ts';
import { SERVING_TABLE_KEYS } from '../../lib/constructs/serving-table.ts';
import { AthenaRunLayout } from '../../lib/engine/athena-run-layout.ts';
import { planAthenaCleanup } from '../../lib/pipeline/athena-run-plan.ts';
import { runTableNames } from '../../lib/pipeline/cleanup.ts';
import { ConfigurationError, env, readConfig } from '../../lib/pipeline/config.ts';
import { deliveredAtSchema, PipelineInputError, parseInput } from '../../lib/pipeline/run-contract.ts';
import { runLayout } from '../../lib/pipeline/run-layout.ts';

describe('names the Lambdas share with the constructs', () => {
  it('come from lib/common/names.ts, which the constructs import too', () => {
    expect(PREFIXES).toEqual({
      telemetry: 'telemetry/',
      customers: 'customers/current/',
      customersIncoming: 'customers/incoming/',
      rules: 'rules/current/',
      rulesIncoming: 'rules/incoming/',
      runs: 'runs/',
      reports: 'reports/',
      queryResults: 'athena/',
    });
    expect(RULES_KEY).toBe('rules/current/rules.json');
    expect(CUSTOMERS_KEY).toBe('customers/current/customers.csv');
    expect(runPrefix('2026-10_abc')).toBe('runs/run=2026-10_abc/');
  });

  it('are defined in modules free of aws-cdk-lib, so that Lambda bundles can import them', () => {
    for (const module of ['../../lib/common/names.ts', '../../lib/pipeline/run-contract.ts']) {
      const source = readFileSync(new URL(module, import.meta.url), 'utf8');
      expect(source, module).not.toMatch(/from 'aws-cdk-lib|from 'constructs'/);
    }
  });

  it('lay a run out where the Athena plan puts it (runLayout)', () => {
    const layout = runLayout(
      { runId: '2026-10_abc', billingPeriod: '2026-10' },
      { database: 'cost_per_customer', resultsBucket: 'cpc-results' },
    );
    expect(layout.location('daily_summary')).toBe('s3://cpc-results/runs/run=2026-10_abc/daily_summary/');
  });

  it('use the serving table keys of serving-table.ts', () => {
    expect(SERVING_TABLE_KEYS).toMatchObject({
      partitionKey: 'pk',
      sortKey: 'sk',
      timeToLive: 'expires_at',
      byPeriodCost: { indexName: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
    });
  });

  it("drop the tables planAthenaCleanup drops, in its order, a CSV delivery's table last", () => {
    const options = {
      database: 'cost_per_customer',
      resultsBucket: 'cpc-results',
      billingPeriod: '2026-10',
      billingFiles: ['s3://cpc-cur/cur/r/20261001-20261101/a1/r-1.csv.gz'],
      billingCsv: {
        columns: ['line_item_usage_start_date'],
        location: 's3://cpc-cur/cur/r/20261001-20261101/a1/',
        selectList: 'line_item_usage_start_date',
      },
    };
    const runId = '2026-10_exec-1_0123456789abcdef01234567';
    const planned = planAthenaCleanup(
      { runId, sources: billingSources(BILLING_FORMATS.cur2), rules: defaultRules() },
      options,
    );
    const layout = new AthenaRunLayout({ ...options, runId });
    expect(runTableNames(layout)).toEqual(planned.map((statement) => layout.runTableName(statement.name)));
    // '-' is not allowed in Glue names, so the run id is lower-cased, '_'-joined and a hash appended.
    expect(runTableNames(layout)[0]).toMatch(
      /^run_2026_10_exec_1_0123456789abcdef01234567_[0-9a-f]{8}_customer_daily_usage$/,
    );
    // The nine stored stages and the CSV table.
    expect(runTableNames(layout)).toHaveLength(10);
    expect(runTableNames(layout).at(-1)).toMatch(/_billing_csv$/);
  });
});

describe('readConfig: configuration read once and validated', () => {
  const schema = {
    TABLE_NAME: env.table(),
    RESULTS_BUCKET: env.bucket(),
    ALERT_TOPIC_ARN: env.arn('sns'),
    ALERT_CONFIG: env.json(),
    ATHENA_MAX_WAIT_SECONDS: env.positiveInt(120),
  };
  const valid = {
    TABLE_NAME: 'cpc-serving',
    RESULTS_BUCKET: 'cpc-results-111122223333',
    ALERT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:111122223333:cpc-alerts',
    ALERT_CONFIG: '{"renotifyDays":3}',
  };

  it('returns typed values, with defaults and parsed JSON', () => {
    expect(readConfig(schema, valid)).toEqual({
      ...valid,
      ALERT_CONFIG: { renotifyDays: 3 },
      ATHENA_MAX_WAIT_SECONDS: 120,
    });
    expect(readConfig(schema, { ...valid, ATHENA_MAX_WAIT_SECONDS: '30' }).ATHENA_MAX_WAIT_SECONDS).toBe(30);
  });

  it('names every missing or invalid variable at once', () => {
    const read = () =>
      readConfig(schema, {
        RESULTS_BUCKET: 'Not_A_Bucket',
        ALERT_TOPIC_ARN: valid.ALERT_TOPIC_ARN,
        ALERT_CONFIG: '{',
      });
    expect(read).toThrow(ConfigurationError);
    try {
      read();
    } catch (error) {
      const problems = (error as ConfigurationError).problems;
      expect(problems).toHaveLength(3);
      expect(problems[0]).toBe('TABLE_NAME: is not set');
      expect(problems[1]).toBe('RESULTS_BUCKET: is not an S3 bucket name');
      expect(problems[2]).toMatch(/^ALERT_CONFIG: is not JSON/);
    }
  });

  it('reads BILLING_TABLES as format -> Glue table, defaulting to the descriptors, refusing unknown formats', () => {
    const schema = {
      BILLING_TABLES: env.billingTables(BILLING_FORMAT_NAMES, billingTablesOf([BILLING_FORMATS.cur2])),
    };
    expect(readConfig(schema, {}).BILLING_TABLES).toEqual({ cur2: 'cur2' });
    expect(readConfig(schema, { BILLING_TABLES: '{"legacy":"cur_legacy"}' }).BILLING_TABLES).toEqual({
      legacy: 'cur_legacy',
    });
    expect(() => readConfig(schema, { BILLING_TABLES: '{"parquet2":"p"}' })).toThrow(ConfigurationError);
    expect(() => readConfig(schema, { BILLING_TABLES: '{"cur2":"Not-Glue"}' })).toThrow(
      'BILLING_TABLES.cur2: is not a Glue name',
    );
    expect(() => readConfig(schema, { BILLING_TABLES: '{' })).toThrow(/BILLING_TABLES: is not JSON/);
  });

  it('refuses an ARN of another service', () => {
    expect(() =>
      readConfig(schema, { ...valid, ALERT_TOPIC_ARN: 'arn:aws:sqs:eu-west-1:111122223333:q' }),
    ).toThrow('ALERT_TOPIC_ARN: is not an sns ARN');
  });
});

describe('state inputs', () => {
  it('normalise deliveredAt so that string order is time order', () => {
    expect(deliveredAtSchema.parse('2026-10-14T08:00:00Z')).toBe('2026-10-14T08:00:00.000Z');
    expect(deliveredAtSchema.parse('2026-10-14T10:00:00+02:00')).toBe('2026-10-14T08:00:00.000Z');
    expect(deliveredAtSchema.safeParse('yesterday').success).toBe(false);
  });

  it('are refused with the field named', () => {
    expect(() => parseInput(deliveredAtSchema, 12, 'publish-run input')).toThrow(PipelineInputError);
  });
});

describe('billingPeriodsBetween: the partitions a 30-day alert window reads', () => {
  it('spans one, two or three months', () => {
    expect(billingPeriodsBetween('2026-10-02', '2026-10-31')).toEqual(['2026-10']);
    // D = 2026-11-05: the window starts 29 days earlier, on 2026-10-07.
    expect(billingPeriodsBetween('2026-10-07', '2026-11-05')).toEqual(['2026-10', '2026-11']);
    // D = 2027-03-01 (2027 is not a leap year): D-29 = 2027-01-31, so January, February and March.
    expect(billingPeriodsBetween('2027-01-31', '2027-03-01')).toEqual(['2027-01', '2027-02', '2027-03']);
    expect(billingPeriodsBetween('2026-12-15', '2027-01-13')).toEqual(['2026-12', '2027-01']);
  });
});
