import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { renderReportHtml, reportJson } from '../../lib/report/render-report.ts';
import type { ReportCustomer, ReportData, ReportMonth } from '../../lib/report/report-data.ts';

const SCRIPT_NAME = '</script><script>alert(1)</script>';
const QUOTED_NAME = 'O\'Brien & "Söhne" zürich <!-- \u2028 \u2029 end';

function customer(customerId: string, name: string, totalCost: number): ReportCustomer {
  return {
    customerId,
    name,
    tier: 'growth',
    planStatus: 'paid',
    mrr: 100,
    totalCost,
    directCost: totalCost,
    sharedCost: 0,
    costToMrr: totalCost / 100,
    daysWithCost: 1,
    alerts: [{ type: 'cost_to_mrr', severity: 'P1' }],
  };
}

function emptyData(): ReportData {
  return {
    version: 2,
    runId: 'run-1',
    rulesVersion: 'v1',
    costBasis: 'unblended',
    currency: 'USD',
    months: [],
    defaultPeriod: null,
    alertsAsOf: null,
    alerts: [],
    warnings: [],
  };
}

function trickyMonth(): ReportMonth {
  return {
    billingPeriod: '2026-10',
    isComplete: null,
    firstDay: null,
    lastDay: null,
    totals: {
      totalCost: 0,
      directCost: 0,
      sharedCost: 0,
      attributedCost: 0,
      unattributedCost: 0,
      excludedCost: 0,
      unattributedShare: null,
    },
    conservation: { holds: true, daysChecked: 0, breachDays: [], maxAbsDifference: 0 },
    customerCount: 2,
    customers: [customer('x', SCRIPT_NAME, 30), customer('y', QUOTED_NAME, 20)],
    drillDowns: {
      x: { dailyCost: [], dailyMrr: null, services: [[0, 30]], rules: [[0, 30]], unitCosts: [] },
    },
    drillDownNames: { services: [['AWS', SCRIPT_NAME]], rules: ['direct'], metrics: [] },
    tiers: [],
    days: [],
    freeTier: null,
    reconciliation: null,
    previousPeriod: null,
    movers: [],
    unitCosts: [],
    unitTargets: [],
  };
}

function trickyData(): ReportData {
  return {
    ...emptyData(),
    runId: 'run-<b>',
    months: [trickyMonth()],
    defaultPeriod: '2026-10',
    warnings: [`${SCRIPT_NAME} is probably not what you meant`],
    alerts: [
      {
        type: 'cost_to_mrr',
        severity: 'P1',
        asOf: '2026-10-01',
        subject: 'x',
        customerId: 'x',
        customerName: SCRIPT_NAME,
        value: 0.3,
        threshold: 0.25,
        explanation: `${SCRIPT_NAME} costs too much`,
      },
    ],
  };
}

/** The text of the JSON data element: everything up to the first `</script` after its start tag. */
function dataElementText(html: string): string {
  const start = html.indexOf('<script type="application/json" id="report-data"');
  expect(start).toBeGreaterThan(0);
  const open = html.indexOf('>', start) + 1;
  return html.slice(open, html.indexOf('</script', open));
}

/** The HTML with the content of every script element removed. */
function markupOnly(html: string): string {
  return html.replace(/(<script[^>]*>)[\s\S]*?(<\/script>)/g, '$1$2');
}

describe('renderReportHtml', () => {
  it('keeps names with </script>, quotes, comments, U+2028 and non-ASCII inside the JSON data', () => {
    const data = trickyData();
    const html = renderReportHtml(data);
    // The data element ends where it should: what it holds parses back to exactly the data.
    expect(JSON.parse(dataElementText(html))).toEqual(data);
    expect(html).not.toContain(SCRIPT_NAME);
    expect(html).not.toContain('<!-- ');
    expect(html).not.toContain('\u2028');
    expect(html).not.toContain('\u2029');
    // Three scripts, all ours: the data, ECharts and the page script.
    expect(html.match(/<script/g)).toHaveLength(3);
    expect(html.match(/<\/script>/g)).toHaveLength(3);
    // The title is HTML-escaped.
    expect(html).toContain('<title>Cost per customer – 2026-10 – run run-&lt;b&gt;</title>');
  });

  it('embeds amounts to a millionth and small values to 10 digits, and leaves the data itself exact', () => {
    const data = trickyData();
    const month = data.months[0] as ReportMonth;
    const exact: ReportData = {
      ...data,
      months: [
        {
          ...month,
          customers: [
            { ...(month.customers[0] as ReportCustomer), totalCost: 12_345_678.123456789, costToMrr: 2 / 3 },
          ],
          drillDowns: {
            x: {
              dailyCost: [1.23456789, null, 100.0000004],
              dailyMrr: [100.0000006, null, 99],
              services: [[0, 29.9999996]],
              rules: [[0, -29.9999996]],
              unitCosts: [[0, 1.5, 0.000123456789012, 0.54, 1.23456789]],
            },
          },
        },
      ],
    };
    const embedded = JSON.parse(reportJson(exact)) as ReportData;
    const embeddedMonth = embedded.months[0];
    // Amounts of 1 or more to a millionth: cents stay exact even at 12 million.
    expect(embeddedMonth?.customers[0]?.totalCost).toBe(12_345_678.123457);
    // Below 1: 10 significant digits, so a unit cost of a hundredth of a cent keeps its figure.
    expect(embeddedMonth?.customers[0]?.costToMrr).toBe(0.6666666667);
    expect(embeddedMonth?.drillDowns.x).toEqual({
      dailyCost: [1.234568, null, 100],
      dailyMrr: [100.000001, null, 99],
      services: [[0, 30]],
      rules: [[0, -30]],
      unitCosts: [[0, 1.5, 0.000123456789, 0.54, 1.234568]],
    });
    // The data passed in is untouched.
    expect(exact.months[0]?.drillDowns.x?.dailyCost).toEqual([1.23456789, null, 100.0000004]);
  });

  it('escapes only what it must: the JSON text is still the same JSON', () => {
    const data = trickyData();
    expect(JSON.parse(reportJson(data))).toEqual(data);
    expect(reportJson(data)).toMatch(/^\{"version":2,/);
    expect(reportJson(data)).toContain('z\u00fcrich');
    expect(reportJson(data)).toContain('\\u003c/script\\u003e');
  });

  it('inlines ECharts and loads nothing from the network', () => {
    const html = renderReportHtml(trickyData());
    const echarts = readFileSync(
      createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js'),
      'utf8',
    );
    expect(html).toContain(`<script>${echarts}</script>`);
    const markup = markupOnly(html);
    expect(markup).not.toMatch(/\s(src|href)\s*=/i);
    expect(html).not.toContain('src="http');
    expect(markup).toContain("default-src 'none'");
  });

  it('renders a run without cost', () => {
    const data = emptyData();
    const html = renderReportHtml(data);
    expect(JSON.parse(dataElementText(html))).toEqual(data);
    expect(html).toContain('No cost in this run');
    expect(html).toContain('<title>Cost per customer – run run-1</title>');
  });
});
