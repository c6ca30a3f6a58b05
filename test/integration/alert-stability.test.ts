import { describe, expect, it } from 'vitest';
import { DEFAULT_ALERT_CONFIG } from '../../lib/alerts/alert-config.ts';
import { evaluateAlerts } from '../../lib/alerts/evaluate-alerts.ts';
import { BILLING_FORMATS } from '../../lib/attribution/billing-formats.ts';
import { defaultRules } from '../../lib/attribution/rules.ts';
import { billingSources, runAttribution } from '../../lib/attribution/stages.ts';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import { addAlertShowcase } from '../../lib/generator/alert-showcase.ts';
import { generateSyntheticMonth } from '../../lib/generator/synthetic-month.ts';
import { defineCustomers } from '../../lib/local/customers-table.ts';
import { defineBillingSource, defineTelemetry } from '../../lib/local/local-sources.ts';
import { tempDir } from '../support/fixtures.ts';

describe('alert evaluation is deterministic', () => {
  it('gives the same alerts every time, on engines running at the same time', async () => {
    // Regression: with @duckdb/node-api 1.5.0 the customer alert query returned no rows at random when
    // several engines ran at once (the demo then showed only unattributed_share). Fixed by 1.5.5.
    const dir = tempDir();
    const files = await generateSyntheticMonth({
      outDir: dir,
      month: '2026-10',
      seed: 7,
      lineItems: 40_000,
      customers: 60,
    });
    const showcase = await addAlertShowcase(dir, '2026-10', files.customersFile);
    const evaluateRepeatedly = async () => {
      const engine = await DuckDbEngine.create();
      try {
        await defineCustomers(engine, files.customersFile);
        await defineTelemetry(engine, files.telemetryFiles);
        await defineBillingSource(engine, [...files.curFiles, showcase], 'cur2', 'tenant_id');
        await runAttribution(engine, {
          runId: 'stability',
          rules: defaultRules(),
          sources: billingSources(BILLING_FORMATS.cur2),
        });
        const answers: string[] = [];
        for (let i = 0; i < 8; i++) {
          const alerts = await evaluateAlerts(engine, '2026-10-30', DEFAULT_ALERT_CONFIG);
          answers.push(alerts.map((a) => `${a.type}/${a.severity}/${a.subject}`).join(','));
        }
        return answers;
      } finally {
        engine.close();
      }
    };
    const answers = (
      await Promise.all([evaluateRepeatedly(), evaluateRepeatedly(), evaluateRepeatedly()])
    ).flat();
    expect(new Set(answers).size).toBe(1);
    expect(answers[0]?.split(',').length).toBeGreaterThan(10);
  });
});
