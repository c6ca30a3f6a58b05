import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../lib/alerts/alert.ts';
import {
  alertConfigSchema,
  alertConfigSchemaFor,
  DEFAULT_ALERT_CONFIG,
  parseAlertConfig,
} from '../../lib/alerts/alert-config.ts';
import { chatbotNotification, messageAttributes, plainTextMessage } from '../../lib/alerts/alert-message.ts';
import { type AlertTypeDefinition, customerOfRow, nonNegative } from '../../lib/alerts/alert-type.ts';
import { ALERT_TYPES, alertTypeNamed } from '../../lib/alerts/alert-types.ts';
import { addDays, evaluateAlerts } from '../../lib/alerts/evaluate-alerts.ts';
import { formatMoney } from '../../lib/common/money.ts';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import { SQL_ROOT, sqlNumber } from '../../lib/sql/sql-template.ts';
import { writeTable } from '../support/results-tables.ts';

/*
 * Adding an alert type is its module, its SQL and an entry in the registry's list. This test adds a
 * throwaway type the same way, without touching lib/alerts: evaluated beside the shipped types, routed
 * and formatted like them.
 */

const D = '2026-10-30';

const peakThresholds = {
  /** Cost of a customer's costliest day of the last 7 above which daily_peak fires. */
  dailyPeakLimit: nonNegative().default(100),
};

/** A customer's costliest day of [D-6, D], when above the limit. */
const dailyPeak: AlertTypeDefinition<'daily_peak', typeof peakThresholds> = {
  name: 'daily_peak',
  sql: {
    source: 'daily_peak (test)',
    text: `
      WITH customer_fields AS (
        SELECT DISTINCT customer_id, name, tier, plan_status, mrr, owner_team FROM \${customers}
      ),
      days AS (
        SELECT customer_id, usage_date, sum(total_cost) AS cost
        FROM \${customer_daily_cost}
        WHERE usage_date BETWEEN \${window_start} AND \${as_of}
        GROUP BY customer_id, usage_date
      ),
      costs AS (
        SELECT
          customer_id,
          sum(cost) AS cost_30d,
          max(CASE WHEN usage_date >= \${current_start} THEN cost END) AS peak
        FROM days
        GROUP BY customer_id
      )
      SELECT c.customer_id, c.name, c.tier, c.plan_status, c.mrr, c.owner_team, k.cost_30d, k.peak
      FROM customer_fields AS c
      JOIN costs AS k ON k.customer_id = c.customer_id
      WHERE k.peak > \${peak_limit}`,
  },
  thresholds: peakThresholds,
  placeholders: (t) => ({ peak_limit: sqlNumber(t.dailyPeakLimit) }),
  findings: (rows, { thresholds, currency }) =>
    rows.map((row) => {
      const customer = customerOfRow(row);
      return {
        severity: 'WARNING',
        subject: customer.customerId,
        value: Number(row.peak),
        threshold: thresholds.dailyPeakLimit,
        explanation: `${customer.customerName}'s costliest day of the last 7 cost ${formatMoney(Number(row.peak), currency)}.`,
        customer,
        moneyAtStake: Number(row.peak) - thresholds.dailyPeakLimit,
      };
    }),
  title: (a, text, currency) =>
    `${text(a.customerName ?? a.subject)} peaked at ${formatMoney(a.value, currency)} in one day`,
  nextSteps: ['Find the day and the service in customer_daily_service_cost.'],
  unit: 'money',
};

const TYPES = [...ALERT_TYPES, dailyPeak];

/** Oct 1-30: D-29 to D. */
const WINDOW = Array.from({ length: 30 }, (_, i) => addDays(D, i - 29));

/**
 * Three customers, each on every day of the window:
 * - spiky (MRR 10,000, owner team-spiky): 10 a day of AmazonS3, except 120 of AmazonEC2 on Oct 20 (the week
 *   before) and on Oct 28 (this week). 28 x 10 + 2 x 120 = 520 over 30 days: 5.2% of MRR, no cost_to_mrr;
 *   each week costs 6 x 10 + 120 = 180: no cost_trend_7d. Its peak of the last 7 days is 120.
 * - calm (MRR 10,000): 10 a day of AmazonS3: peak 10.
 * - costly (MRR 100, no owner team): 10 a day of AmazonRDS: 300 over 30 days, 300% of MRR: cost_to_mrr P1.
 * Nothing unattributed and no trial customer: no unattributed_share, no freemium_cliff.
 */
async function loadResults(engine: DuckDbEngine): Promise<void> {
  const customers: [id: string, name: string, mrr: number, team: string | null][] = [
    ['spiky', 'Spiky Corp', 10_000, 'team-spiky'],
    ['calm', 'Calm Ltd', 10_000, null],
    ['costly', 'Costly Inc', 100, null],
  ];
  await writeTable(
    engine,
    'customers',
    customers.map(([id, name, mrr, team]) => [id, id, name, 'growth', 'paid', mrr, null, null, team]),
  );
  const services: [day: string, id: string, service: string, cost: number][] = [];
  for (const day of WINDOW) {
    const spike = day === '2026-10-20' || day === '2026-10-28';
    services.push(spike ? [day, 'spiky', 'AmazonEC2', 120] : [day, 'spiky', 'AmazonS3', 10]);
    services.push([day, 'calm', 'AmazonS3', 10], [day, 'costly', 'AmazonRDS', 10]);
  }
  await writeTable(
    engine,
    'customer_daily_service_cost',
    services.map(([day, id, service, cost]) => [
      day,
      '2026-10',
      id,
      service,
      'rule',
      'direct',
      cost,
      'v1',
      'r',
    ]),
  );
  const customerOf = new Map(customers.map((c) => [c[0], c]));
  await writeTable(
    engine,
    'customer_daily_cost',
    services.map(([day, id, , cost]) => {
      const [, name, mrr] = customerOf.get(id) ?? [];
      return [day, '2026-10', id, name ?? null, 'growth', 'paid', mrr ?? null, cost, 0, cost, 'v1', 'r'];
    }),
  );
  await writeTable(
    engine,
    'daily_summary',
    WINDOW.map((day) => {
      const total = services.filter(([d]) => d === day).reduce((sum, [, , , cost]) => sum + cost, 0);
      return [day, '2026-10', total, total, 0, 0, 0, 0, 'v1', 'r'];
    }),
  );
}

let engine: DuckDbEngine;
beforeEach(async () => {
  engine = await DuckDbEngine.create({ threads: 1 });
  await loadResults(engine);
});
afterEach(() => engine.close());

describe('a throwaway alert type added through the registry alone', () => {
  it('is evaluated beside the shipped types, with its default threshold, and sorted among them', async () => {
    const alerts: Alert[] = await evaluateAlerts(engine, D, DEFAULT_ALERT_CONFIG, TYPES);
    // Severity first: the P1 of costly, then the throwaway's WARNING.
    expect(alerts.map((a) => [a.type, a.severity, a.subject])).toEqual([
      ['cost_to_mrr', 'P1', 'costly'],
      ['daily_peak', 'WARNING', 'spiky'],
    ]);
    const peak = alerts.find((a) => a.type === 'daily_peak');
    expect(peak).toEqual({
      type: 'daily_peak',
      severity: 'WARNING',
      asOf: D,
      subject: 'spiky',
      customerId: 'spiky',
      // Oct 28, the costliest day of Oct 24-30; Oct 20 (120 too) is outside [D-6, D].
      value: 120,
      threshold: 100,
      customerName: 'Spiky Corp',
      tier: 'growth',
      planStatus: 'paid',
      mrr: 10_000,
      cost30d: 520,
      // 28 x 10 of AmazonS3, 2 x 120 of AmazonEC2.
      topServices: [
        { service: 'AmazonS3', cost: 280, team: null },
        { service: 'AmazonEC2', cost: 240, team: null },
      ],
      // No service owner: the customer's owner team.
      team: 'team-spiky',
      // daily_summary names no currency here: USD.
      currency: 'USD',
      explanation: "Spiky Corp's costliest day of the last 7 cost $120.00.",
      moneyAtStake: 20,
    });
    // The shipped types see the same data as without the throwaway.
    expect(await evaluateAlerts(engine, D, DEFAULT_ALERT_CONFIG)).toEqual(
      alerts.filter((a) => a.type !== 'daily_peak'),
    );
  });

  it('takes its threshold from a configuration composed with it, and is routed by service owner', async () => {
    const schema = alertConfigSchemaFor(TYPES);
    const config = schema.parse({ dailyPeakLimit: 9.5, serviceTeams: { AmazonS3: 'team-storage' } });
    const alerts = (await evaluateAlerts(engine, D, config, TYPES)).filter((a) => a.type === 'daily_peak');
    // Above 9.5, every customer's peak fires. Calm and spiky go to team-storage, owner of their top service
    // (AmazonS3), though spiky has an owner team; costly (AmazonRDS, unowned, no owner team) to the default.
    expect(alerts.map((a) => [a.subject, a.value, a.threshold, a.team])).toEqual([
      ['calm', 10, 9.5, 'team-storage'],
      ['costly', 10, 9.5, 'finops'],
      ['spiky', 120, 9.5, 'team-storage'],
    ]);
    // The shipped schema does not know the field; the composed one validates it.
    expect(() => parseAlertConfig({ dailyPeakLimit: 1 }, 'test')).toThrow(/dailyPeakLimit/);
    expect(schema.safeParse({ dailyPeakLimit: -1 }).success).toBe(false);
    expect(schema.safeParse({ costToMrrP1: 0.1, costToMrrP2: 0.2 }).error?.issues[0]?.message).toBe(
      'costToMrrP1 must be at least costToMrrP2',
    );
  });

  it('is formatted from its module: title, next steps, money as its unit', async () => {
    const [alert] = (await evaluateAlerts(engine, D, DEFAULT_ALERT_CONFIG, TYPES)).filter(
      (a) => a.type === 'daily_peak',
    );
    if (alert === undefined) throw new Error('no daily_peak alert');
    const options = { types: TYPES };
    expect(chatbotNotification(alert, options)).toEqual({
      version: '1.0',
      source: 'custom',
      id: 'daily_peak:spiky:2026-10-30',
      content: {
        textType: 'client-markdown',
        title: 'Spiky Corp peaked at $120.00 in one day',
        description: [
          "Spiky Corp's costliest day of the last 7 cost $120.00.",
          '',
          '• Customer: Spiky Corp (spiky), growth, paid',
          '• MRR: $10,000.00',
          '• Cost over 30 days: $520.00',
          '• Measured: $120.00 (threshold $100.00)',
          '• Top services: AmazonS3 $280.00, AmazonEC2 $240.00',
          '• As of 2026-10-30; routed to team-spiky.',
        ].join('\n'),
        nextSteps: ['Find the day and the service in customer_daily_service_cost.'],
      },
      metadata: {
        threadId: 'daily_peak:spiky',
        summary: "Spiky Corp's costliest day of the last 7 cost $120.00.",
        eventType: 'daily_peak',
        additionalContext: { severity: 'WARNING', team: 'team-spiky' },
      },
    });
    expect(plainTextMessage(alert, options)).toBe(
      [
        'Spiky Corp peaked at $120.00 in one day',
        '',
        "Spiky Corp's costliest day of the last 7 cost $120.00.",
        '',
        'Customer: Spiky Corp (spiky), growth, paid',
        'MRR: $10,000.00',
        'Cost over 30 days: $520.00',
        'Measured: $120.00 (threshold $100.00)',
        'Top services: AmazonS3 $280.00, AmazonEC2 $240.00',
        'As of 2026-10-30; routed to team-spiky.',
        '',
        'Next steps:',
        '- Find the day and the service in customer_daily_service_cost.',
      ].join('\n'),
    );
    expect(messageAttributes(alert).alert_type).toEqual({ DataType: 'String', StringValue: 'daily_peak' });
    // Without the type in the list, there is nothing to format it with.
    expect(() => plainTextMessage(alert)).toThrow('Unknown alert type "daily_peak"');
  });
});

describe('the registry', () => {
  it('lists the shipped types, each with its own SQL file in athena/alerts/', () => {
    expect(ALERT_TYPES.map((t) => t.name)).toEqual([
      'cost_to_mrr',
      'cost_trend_7d',
      'cost_anomaly',
      'freemium_cliff',
      'unattributed_share',
      'unit_cost_target',
    ]);
    expect(ALERT_TYPES.map((t) => t.sql)).toEqual(ALERT_TYPES.map((t) => ({ path: `alerts/${t.name}.sql` })));
    // Every file there is a type's, but the shared active-customers fragment and the top-services,
    // cost-owner and window-currency queries.
    expect(readdirSync(join(SQL_ROOT, 'alerts')).sort()).toEqual(
      [
        ...ALERT_TYPES.map((t) => `${t.name}.sql`),
        'active_customers.sql',
        'cost_owner.sql',
        'top_services.sql',
        'window_currency.sql',
      ].sort(),
    );
    expect(alertTypeNamed('freemium_cliff').unit).toBe('money');
  });

  it('composes the configuration from the common fields and every type, in list order', () => {
    expect(Object.keys(alertConfigSchema.shape)).toEqual([
      'costToMrrP1',
      'costToMrrP2',
      'minMonthlyCost',
      'trendGrowth',
      'trendMinIncrease',
      'trendOverRevenue',
      'anomalyBaselineDays',
      'anomalyMinHistoryDays',
      'anomalyMadMultiplier',
      'minAnomalyImpact',
      'anomalyRelativeImpact',
      'p2AnomalyImpact',
      'unattributedShare',
      'unitCostTargets',
      'renotifyDays',
      'defaultTeam',
      'serviceTeams',
      'topServices',
      'digestWeekday',
      'digestMaxAlerts',
      'maxMessagesPerRun',
    ]);
    const clash: AlertTypeDefinition<'clash', { renotifyDays: ReturnType<typeof nonNegative> }> = {
      name: 'clash',
      sql: { text: 'SELECT 1 AS x', source: 'clash (test)' },
      thresholds: { renotifyDays: nonNegative() },
      findings: () => [],
      title: () => 'clash',
      nextSteps: [],
      unit: 'ratio',
    };
    expect(() => alertConfigSchemaFor([...ALERT_TYPES, clash])).toThrow(
      'Alert configuration field renotifyDays is claimed twice',
    );
  });
});
