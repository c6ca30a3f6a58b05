import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
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
      curExportName: 'cost-per-customer',
      curPrefix: 'cur',
      bytesScannedCutoffPerQuery: 10 * 1024 ** 3,
      removalPolicy: 'retain',
      alertThresholds: { p1: 0.25, p2: 0.2, trend: 0.15, unattributed: 0.05, renotifyDays: 7 },
      defaultTeam: 'finops',
      serviceTeams: {},
    });
    expect(DEFAULT_BYTES_SCANNED_CUTOFF).toBe(10_737_418_240);
  });

  it('keeps given values, fills missing thresholds, and is idempotent', () => {
    const config = resolveConfig({
      costBasis: 'net_amortized',
      alertThresholds: { p1: 0.4 },
      slackWorkspaceId: 'T0123ABCD',
      slackChannelId: 'C0123ABCD',
      serviceTeams: { AmazonRDS: 'data-platform' },
    });
    expect(config).toMatchObject({
      costBasis: 'net_amortized',
      alertThresholds: { p1: 0.4, p2: 0.2, trend: 0.15, unattributed: 0.05, renotifyDays: 7 },
      slackWorkspaceId: 'T0123ABCD',
      serviceTeams: { AmazonRDS: 'data-platform' },
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
    [{ costBasis: 'blended' }, 'costBasis: must be one of amortized, net_amortized, unblended'],
    [{ removalPolicy: 'snapshot' }, 'removalPolicy: must be "retain" or "destroy"'],
    [{ tenantTagKey: 'aws:createdBy' }, 'tenantTagKey: cannot use the reserved aws: prefix'],
    [{ curPrefix: '/cur/' }, 'curPrefix: must be S3 path segments'],
    [{ curExportName: 'my export' }, 'curExportName: must be 1-128 letters, digits, - or _'],
    [{ alertThresholds: { p1: 0.2, p2: 0.25 } }, 'alertThresholds: p2 must be below p1'],
    [{ alertThresholds: { p1: 25 } }, 'alertThresholds.p1: is a fraction'],
    [{ alertThresholds: { renotifyDays: 0 } }, 'alertThresholds.renotifyDays: must be at least 1'],
    [{ alertThresholds: { p3: 0.5 } }, 'alertThresholds.p3: unknown setting'],
    [
      { slackWorkspaceId: 'T0123ABCD' },
      'slackChannelId: slackWorkspaceId and slackChannelId must be given together',
    ],
    [
      { slackWorkspaceId: 'https://x', slackChannelId: 'C1' },
      'slackWorkspaceId: must be a Slack workspace id',
    ],
    [{ defaultTeam: ' ' }, 'defaultTeam: must not be empty'],
    [{ serviceTeams: { AmazonRDS: '' } }, 'serviceTeams.AmazonRDS: values must be non-empty team names'],
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
      'cpc:alertThresholds': '{"p1": 0.3, "renotifyDays": 3}',
      'cpc:serviceTeams': '{"AmazonRDS": "data"}',
      '@aws-cdk/core:enablePartitionLiterals': true,
    });
    expect(stackName).toBe('Billing-Prod');
    expect(config).toMatchObject({
      createCurExport: true,
      bytesScannedCutoffPerQuery: 52_428_800,
      alertThresholds: { p1: 0.3, p2: 0.2, renotifyDays: 3 },
      serviceTeams: { AmazonRDS: 'data' },
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
