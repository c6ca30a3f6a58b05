import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { parseAlertConfig } from '../../lib/alerts/alert-config.ts';
import {
  ConfigError,
  DEFAULT_BYTES_SCANNED_CUTOFF,
  resolveConfig,
  settingsFromContext,
} from '../../lib/config/stack-config.ts';
import { CostPerCustomer } from '../../lib/cost-per-customer-stack.ts';

/** The message of the ConfigError that `run` throws. */
function configError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const fromContext = (context: Record<string, unknown>) => settingsFromContext(new App({ context }).node);

describe('resolveConfig', () => {
  it('applies the documented defaults', () => {
    expect(resolveConfig({})).toEqual({
      tenantTagKey: 'tenant_id',
      costBasis: 'amortized',
      createCurExport: false,
      telemetryStream: true,
      telemetryCloudWatch: [],
      curExportName: 'cost-per-customer',
      curPrefix: 'cur',
      sourceAccountIds: [],
      billingExports: [],
      bytesScannedCutoffPerQuery: 10 * 1024 ** 3,
      servingRetentionDays: 400,
      removalPolicy: 'retain',
      financeReaderPrincipals: [],
      // The defaults of docs/alerts.md, every key.
      alerts: {
        costToMrrP1: 0.25,
        costToMrrP2: 0.2,
        minMonthlyCost: 25,
        trendGrowth: 0.15,
        trendMinIncrease: 10,
        trendOverRevenue: 0.15,
        anomalyBaselineDays: 28,
        anomalyMinHistoryDays: 14,
        anomalyMadMultiplier: 3,
        minAnomalyImpact: 20,
        anomalyRelativeImpact: 0.5,
        p2AnomalyImpact: 500,
        unattributedShare: 0.05,
        unitCostTargets: [],
        renotifyDays: 7,
        defaultTeam: 'finops',
        serviceTeams: {},
        topServices: 3,
        digestWeekday: 'monday',
        digestMaxAlerts: 15,
        maxMessagesPerRun: 20,
      },
    });
    expect(DEFAULT_BYTES_SCANNED_CUTOFF).toBe(10_737_418_240);
  });

  it('keeps given values, fills missing thresholds, and is idempotent', () => {
    const config = resolveConfig({
      costBasis: 'net_amortized',
      alerts: { costToMrrP1: 0.4, serviceTeams: { AmazonRDS: 'data-platform' } },
      slackWorkspaceId: 'T0123ABCD',
      slackChannelId: 'C0123ABCD',
    });
    expect(config).toMatchObject({
      costBasis: 'net_amortized',
      alerts: { costToMrrP1: 0.4, costToMrrP2: 0.2, serviceTeams: { AmazonRDS: 'data-platform' } },
      slackWorkspaceId: 'T0123ABCD',
    });
    expect(resolveConfig(config)).toEqual(config);
  });

  it.each([
    [
      { bytesScannedCutoffPerQuery: 9_999_999 },
      "bytesScannedCutoffPerQuery: must be at least 10000000 (Athena's 10 MB minimum)",
    ],
    [
      { bytesScannedCutoffPerQuery: 1.5e7 + 0.5 },
      'bytesScannedCutoffPerQuery: must be a whole number of bytes',
    ],
    [{ servingRetentionDays: 31 }, 'servingRetentionDays: must be at least 32 (a billing period and a day)'],
    [{ servingRetentionDays: 90.5 }, 'servingRetentionDays: must be a whole number of days'],
    [{ costBasis: 'blended' }, 'costBasis: must be one of amortized, net_amortized, unblended'],
    [{ removalPolicy: 'snapshot' }, 'removalPolicy: must be "retain" or "destroy"'],
    [{ tenantTagKey: 'aws:createdBy' }, 'tenantTagKey: cannot use the reserved aws: prefix'],
    [{ curPrefix: '/cur/' }, 'curPrefix: must be S3 path segments'],
    [{ curExportName: 'my export' }, 'curExportName: must be 1-128 letters, digits, - or _'],
    [{ alerts: { costToMrrP1: 0.2, costToMrrP2: 0.25 } }, 'alerts: costToMrrP1 must be at least costToMrrP2'],
    [{ alerts: { renotifyDays: 0 } }, 'alerts.renotifyDays'],
    [{ alerts: { p3: 0.5 } }, 'alerts.p3: unknown setting'],
    [{ alerts: { digestWeekday: 'mon' } }, 'alerts.digestWeekday'],
    [{ alerts: { maxMessagesPerRun: 0 } }, 'alerts.maxMessagesPerRun'],
    [
      {
        alerts: {
          unitCostTargets: [{ id: 't', scope: { rule: 'r' }, per: 'customer', target: 1, extra: 1 }],
        },
      },
      'alerts.unitCostTargets.0.extra: unknown setting',
    ],
    [
      { slackWorkspaceId: 'T0123ABCD' },
      'slackChannelId: slackWorkspaceId and slackChannelId must be given together',
    ],
    [
      { slackWorkspaceId: 'https://x', slackChannelId: 'C1' },
      'slackWorkspaceId: must be a Slack workspace id',
    ],
    [{ alerts: { defaultTeam: '' } }, 'alerts.defaultTeam'],
    [{ alerts: { serviceTeams: { AmazonRDS: '' } } }, 'alerts.serviceTeams.AmazonRDS'],
    [{ tenantTagKy: 'team' }, 'tenantTagKy: unknown setting'],
  ])('rejects %j', (input, message) => {
    expect(configError(() => resolveConfig(input))).toContain(message);
  });

  it('lists every problem at once', () => {
    const message = configError(() => resolveConfig({ costBasis: 'x', removalPolicy: 'y' }));
    expect(message).toMatch(/costBasis/);
    expect(message).toMatch(/removalPolicy/);
  });
});

describe('settingsFromContext', () => {
  it('reads cpc:* keys and converts the strings that `cdk -c key=value` gives', () => {
    const { stackName, config } = fromContext({
      'cpc:stackName': 'Billing-Prod',
      'cpc:createCurExport': 'true',
      'cpc:bytesScannedCutoffPerQuery': '52428800',
      'cpc:servingRetentionDays': '90',
      'cpc:alerts': '{"costToMrrP1": 0.3, "renotifyDays": 3, "serviceTeams": {"AmazonRDS": "data"}}',
      '@aws-cdk/core:enablePartitionLiterals': true,
    });
    expect(stackName).toBe('Billing-Prod');
    expect(config).toMatchObject({
      createCurExport: true,
      bytesScannedCutoffPerQuery: 52_428_800,
      servingRetentionDays: 90,
      alerts: { costToMrrP1: 0.3, costToMrrP2: 0.2, renotifyDays: 3, serviceTeams: { AmazonRDS: 'data' } },
    });
  });

  it('reads the alerts v2 keys from cpc:alerts as --alerts-config reads them', () => {
    const target = { id: 'search', scope: { rule: 'search-pool' }, per: 'customer', target: 0.08 };
    const { config } = fromContext({
      'cpc:alerts': JSON.stringify({
        minMonthlyCost: 50,
        digestWeekday: 'friday',
        unitCostTargets: [target],
      }),
    });
    expect(config.alerts).toEqual(
      parseAlertConfig({ minMonthlyCost: 50, digestWeekday: 'friday', unitCostTargets: [target] }, 'test'),
    );
    expect(config.alerts).toMatchObject({
      minMonthlyCost: 50,
      digestWeekday: 'friday',
      maxMessagesPerRun: 20,
    });
  });

  it('defaults the stack name and names bad keys with their cpc: prefix', () => {
    expect(fromContext({}).stackName).toBe('CostPerCustomer');
    expect(configError(() => fromContext({ 'cpc:bytesScannedCutoffPerQuery': '1000' }))).toBe(
      "Invalid cdk.json context:\n  cpc:bytesScannedCutoffPerQuery: must be at least 10000000 (Athena's 10 MB minimum)",
    );
    expect(configError(() => fromContext({ 'cpc:createCurExport': 'yes' }))).toContain(
      'cpc:createCurExport: must be true or false',
    );
    expect(configError(() => fromContext({ 'cpc:costbasis': 'unblended' }))).toContain(
      'cpc:costbasis: unknown setting',
    );
    expect(configError(() => fromContext({ 'cpc:stackName': '1-bad_name' }))).toContain('cpc:stackName');
  });
});

describe('CostPerCustomer construct', () => {
  it('validates its props before creating anything', () => {
    const stack = new Stack(new App(), 'Test');
    expect(() => new CostPerCustomer(stack, 'Bad', { costBasis: 'blended' as never })).toThrow(ConfigError);
    expect(stack.node.findChild('Bad').node.children).toHaveLength(0);
  });
});
