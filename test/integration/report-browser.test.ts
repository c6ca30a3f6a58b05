import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { formatUnitCost } from '../../lib/common/money.ts';
import { runDemo } from '../../lib/local/demo.ts';
import { REPORT_FILE, runLocal } from '../../lib/local/run-local.ts';
import { tempDir, writeCur2, writeCustomersCsv, writeTelemetryCsv } from '../support/fixtures.ts';
import { generatedRun } from '../support/generated-run.ts';
import { readCsv } from '../support/run-scenario.ts';

/**
 * Opens the report of a real local run in headless Chromium (the system one: no browser is downloaded)
 * and checks what a reader sees against sums computed here from the run's CSV files.
 */

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = resolve('test-artifacts');

const money = (value: number) =>
  new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(value);

let browser: Browser | undefined;

/**
 * The browser, launched on first use. Without Chromium every test here fails (a skipped test would let
 * CI pass without ever opening the report).
 */
async function launched(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the report test needs Chromium (apt-get install chromium)`);
  }
  browser ??= await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return browser;
}

afterAll(async () => {
  await browser?.close();
});

interface OpenedReport {
  readonly page: Page;
  readonly problems: string[];
  readonly requests: string[];
}

/** Opens a report file, recording console errors, page errors and every request that is not the file. */
async function open(file: string): Promise<OpenedReport> {
  const page = await (await launched()).newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  const url = pathToFileURL(file).href;
  page.on('request', (request) => {
    if (request.url() !== url) requests.push(request.url());
  });
  await page.goto(url, { waitUntil: 'load' });
  return { page, problems, requests };
}

describe('the HTML report in a browser', () => {
  it('shows the run of a generated month: charts drawn, header and top customer as in the CSV files', async () => {
    await launched();
    const { outDir } = await generatedRun({
      seed: 11,
      lineItems: 4_000,
      customers: 30,
      runId: 'browser-run',
      engine: { threads: 1 },
      // Low cost / MRR thresholds, so that this small month raises several customer alerts.
      alertsConfig: { costToMrrP1: 0.02, costToMrrP2: 0.01, minMonthlyCost: 0 },
    });

    // The answers, from the CSV files. The month is the run's only billing period, so the report's
    // month is the whole run.
    const days = readCsv(join(outDir, 'daily_summary.csv'));
    expect(days.length).toBeGreaterThan(20);
    expect(days.every((d) => d.usage_date?.startsWith('2026-10'))).toBe(true);
    const sum = (field: string) => days.reduce((total, d) => total + Number(d[field]), 0);
    const total = sum('total_cost');
    const share = sum('unattributed_cost') / (total - sum('excluded_cost'));
    const byCustomer = new Map<string, { name: string; cost: number }>();
    for (const row of readCsv(join(outDir, 'customer_daily_cost.csv'))) {
      const entry = byCustomer.get(row.customer_id as string) ?? {
        name: row.customer_name as string,
        cost: 0,
      };
      entry.cost += Number(row.total_cost);
      byCustomer.set(row.customer_id as string, entry);
    }
    const [top] = [...byCustomer.values()].sort((a, b) => b.cost - a.cost);
    // Worst margin: the highest month's cost / MRR, with MRR as on the customer's latest usage day.
    const latestMrr = new Map<string, { date: string; mrr: number }>();
    for (const row of readCsv(join(outDir, 'customer_daily_cost.csv'))) {
      const seen = latestMrr.get(row.customer_id as string);
      if (!seen || (row.usage_date as string) > seen.date) {
        latestMrr.set(row.customer_id as string, { date: row.usage_date as string, mrr: Number(row.mrr) });
      }
    }
    const ratios = [...byCustomer.entries()]
      .map(([id, entry]) => ({ name: entry.name, ratio: entry.cost / (latestMrr.get(id)?.mrr ?? 0) }))
      .filter((entry) => Number.isFinite(entry.ratio))
      .sort((a, b) => b.ratio - a.ratio);
    expect(ratios.length).toBeGreaterThan(3);
    const alerts = JSON.parse(readFileSync(join(outDir, 'alerts.json'), 'utf8')) as {
      explanation: string;
    }[];
    expect(alerts.length).toBeGreaterThan(0);

    const { page, problems, requests } = await open(join(outDir, REPORT_FILE));
    try {
      expect(problems).toEqual([]);
      expect(requests).toEqual([]);
      for (const chart of ['#chart-treemap', '#chart-tiers', '#chart-daily']) {
        const box = await page.locator(`${chart} svg`).first().boundingBox();
        expect({ chart, drawn: (box?.width ?? 0) > 100 && (box?.height ?? 0) > 100 }).toEqual({
          chart,
          drawn: true,
        });
      }
      // ECharts drew the data: the daily chart has its legend, the treemap its tiers.
      await expect(page.locator('#chart-daily svg').textContent()).resolves.toContain('Unattributed share');
      await expect(page.locator('#chart-treemap svg').textContent()).resolves.toMatch(/enterprise|growth/);

      expect(await page.getByTestId('total-cost').textContent()).toBe(money(total));
      expect(await page.getByTestId('unattributed-share').textContent()).toBe(`${(share * 100).toFixed(2)}%`);
      expect(await page.getByTestId('conservation').textContent()).toBe('Holds');
      expect(await page.locator('#meta').textContent()).toContain('Run browser-run');
      // The default rules read the bill amortized; the header says so.
      expect(await page.locator('#meta').textContent()).toContain('Cost basis amortized');

      const rows = page.locator('#top-customers tbody tr');
      expect(await rows.count()).toBe(Math.min(15, byCustomer.size));
      expect(await rows.first().getByTestId('customer-name').textContent()).toBe(top?.name);
      expect(await rows.first().getByTestId('customer-cost').textContent()).toBe(
        money(top?.cost ?? Number.NaN),
      );
      expect(await page.locator('#empty').isVisible()).toBe(false);

      // The waterfall: bill, excluded, unattributed, free and trial, paid; the bill is daily_summary's
      // total, excluded and unattributed its sums, and the customer steps split customer_daily_cost by plan.
      const planCost = (paid: boolean) =>
        readCsv(join(outDir, 'customer_daily_cost.csv'))
          .filter((row) => (row.plan_status === 'free' || row.plan_status === 'trial') !== paid)
          .reduce((sum, row) => sum + Number(row.total_cost), 0);
      expect(await page.getByTestId('waterfall-amount').allTextContents()).toEqual(
        [total, sum('excluded_cost'), sum('unattributed_cost'), planCost(false), planCost(true)].map(money),
      );
      expect(
        Math.abs(sum('excluded_cost') + sum('unattributed_cost') + planCost(false) + planCost(true) - total),
      ).toBeLessThan(1e-6);
      expect(await page.locator('#chart-waterfall svg').count()).toBe(1);

      // Excluded cost (the generated month's tax) is listed apart, day by day, and is not a bar of the chart.
      const excludedDays = days.filter((d) => Number(d.excluded_cost) !== 0);
      expect(excludedDays.length).toBeGreaterThan(0);
      const excludedRows = page.getByTestId('excluded-day');
      expect(await excludedRows.allTextContents()).toEqual(
        excludedDays.map((d) => `${d.usage_date}${money(Number(d.excluded_cost))}`),
      );
      expect(await page.getByTestId('excluded-total').textContent()).toContain(
        `${money(sum('excluded_cost'))} on ${excludedDays.length} day(s)`,
      );
      expect(await page.locator('#chart-daily svg').textContent()).not.toContain('Excluded');

      // Margin by tier, attributed and fully loaded: free and trial rows carry no fully loaded margin,
      // and a paid row's fully loaded margin is below its attributed one (it also carries unattributed
      // cost and the free/trial subsidy, both positive in this month).
      const tierRows = await page
        .locator('#tier-table tbody tr')
        .evaluateAll((rows) =>
          rows.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent ?? '')),
        );
      expect(tierRows.length).toBeGreaterThan(2);
      for (const [, plan, , , , , attributed, loaded] of tierRows) {
        if (plan === 'free' || plan === 'trial') expect(loaded).toBe('–');
        else expect(Number.parseFloat(loaded ?? '')).toBeLessThan(Number.parseFloat(attributed ?? ''));
      }

      // Worst margins ranks by cost / MRR, not by cost.
      const worst = page.locator('#worst-margins tbody tr');
      expect(await worst.count()).toBe(Math.min(10, ratios.length));
      expect(await worst.first().getByTestId('worst-name').textContent()).toBe(ratios[0]?.name);
      expect(await worst.first().getByTestId('worst-ratio').textContent()).toBe(
        `${((ratios[0]?.ratio ?? Number.NaN) * 100).toFixed(1)}%`,
      );
      expect(await worst.nth(1).getByTestId('worst-name').textContent()).toBe(ratios[1]?.name);

      // Every alert of alerts.json is listed, whatever the treemap can show.
      const listed = await page.getByTestId('alert-explanation').allTextContents();
      expect(listed.sort()).toEqual(alerts.map((alert) => alert.explanation).sort());
      expect(await page.locator('#alerts-title').textContent()).toBe(`Alerts (${alerts.length})`);

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
    } finally {
      await page.close();
    }
  });

  it('writes every amount of a EUR run in euros and names the currency in the header', async () => {
    await launched();
    const dir = tempDir();
    const outDir = join(dir, 'out');
    // acme 300 + 1234.50 = 1534.50, all direct; 65.50 untagged reaches no customer. Total 1600.00,
    // unattributed share 65.5 / 1600 = 4.09%.
    await runLocal({
      billing: [
        await writeCur2(join(dir, 'cur.parquet'), [
          { date: '2026-10-29', service: 'AmazonRDS', cost: 300, tenant: 'acme', currency: 'EUR' },
          { date: '2026-10-30', service: 'AmazonRDS', cost: 1234.5, tenant: 'acme', currency: 'EUR' },
          { date: '2026-10-30', service: 'AmazonS3', cost: 65.5, currency: 'EUR' },
        ]),
      ],
      telemetry: [writeTelemetryCsv(join(dir, 'usage.csv'), [])],
      customers: writeCustomersCsv(join(dir, 'customers.csv'), [{ id: 'acme', name: 'Acme', mrr: 5000 }]),
      outDir,
      runId: 'euro-run',
      engine: { threads: 1 },
    });
    const { page, problems, requests } = await open(join(outDir, REPORT_FILE));
    try {
      expect(problems).toEqual([]);
      expect(requests).toEqual([]);
      expect(await page.locator('#meta').textContent()).toContain('Currency EUR');
      expect(await page.getByTestId('total-cost').textContent()).toBe('€1,600.00');
      expect(await page.getByTestId('unattributed-share').textContent()).toBe('4.09%');
      const top = page.locator('#top-customers tbody tr').first();
      expect(await top.getByTestId('customer-cost').textContent()).toBe('€1,534.50');
      // MRR column: 5000.
      expect(await top.textContent()).toContain('€5,000.00');
      // No amount the reader sees is written in dollars; the daily chart's axis is in euros.
      expect(await page.locator('body').innerText()).not.toContain('$');
      const axis = await page.locator('#chart-daily svg').textContent();
      expect(axis).toContain('€');
      expect(axis).not.toContain('$');
    } finally {
      await page.close();
    }
  });

  it('says there is no cost for a run of an empty CUR, without errors', async () => {
    await launched();
    const dir = tempDir();
    const outDir = join(dir, 'out');
    await runLocal({
      billing: [await writeCur2(join(dir, 'empty.parquet'), [])],
      telemetry: [writeTelemetryCsv(join(dir, 'usage.csv'), [])],
      customers: writeCustomersCsv(join(dir, 'customers.csv'), [{ id: 'acme' }]),
      outDir,
      runId: 'empty-run',
      engine: { threads: 1 },
    });
    const { page, problems, requests } = await open(join(outDir, REPORT_FILE));
    try {
      expect(problems).toEqual([]);
      expect(requests).toEqual([]);
      expect(await page.locator('#empty').isVisible()).toBe(true);
      expect(await page.locator('#empty').textContent()).toContain('No cost in this run');
      expect(await page.locator('#content').isVisible()).toBe(false);
      expect(await page.getByTestId('total-cost').textContent()).toBe('$0.00');
      // No billing data names a currency: USD.
      expect(await page.locator('#meta').textContent()).toContain('Currency USD');
      expect(await page.getByTestId('unattributed-share').textContent()).toBe('–');
    } finally {
      await page.close();
    }
  });
  it('switches months with the selector, compares with the month before and opens a customer from the treemap', async () => {
    await launched();
    const outDir = join(tempDir(), 'out');
    // A quarter, as `npm start` makes it, smaller: August, September and October 2026.
    const demo = await runDemo({
      outDir,
      seed: 3,
      customers: 40,
      lineItems: 6_000,
      month: '2026-10',
      months: 3,
    });
    const alertsConfig = JSON.parse(readFileSync(demo.demo.inputs.alertsConfig, 'utf8')) as {
      unitCostTargets: {
        id: string;
        scope: { rule: string };
        per: { metric: string; unit: number } | 'customer';
      }[];
    };

    // The answers, from the CSV files, month by month (the generated months have no day spanning two).
    const days = readCsv(join(outDir, 'daily_summary.csv'));
    const customerDays = readCsv(join(outDir, 'customer_daily_cost.csv'));
    const serviceDays = readCsv(join(outDir, 'customer_daily_service_cost.csv'));
    const usageDays = readCsv(join(outDir, 'customer_daily_usage.csv'));
    const inMonth = (period: string) => (row: Record<string, string | undefined>) =>
      row.usage_date?.startsWith(period) === true;
    const monthTotal = (period: string) =>
      days.filter(inMonth(period)).reduce((sum, d) => sum + Number(d.total_cost), 0);
    const costs = (period: string) => {
      const byCustomer = new Map<string, { id: string; name: string; cost: number }>();
      for (const row of customerDays.filter(inMonth(period))) {
        const id = row.customer_id as string;
        const entry = byCustomer.get(id) ?? { id, name: row.customer_name as string, cost: 0 };
        entry.cost += Number(row.total_cost);
        byCustomer.set(id, entry);
      }
      return byCustomer;
    };
    const alerts = JSON.parse(readFileSync(join(outDir, 'alerts.json'), 'utf8')) as {
      customerId: string | null;
      explanation: string;
    }[];

    const { page, problems, requests } = await open(join(outDir, REPORT_FILE));
    try {
      expect(problems).toEqual([]);
      expect(requests).toEqual([]);
      // Every month of the run, the latest (with 31 days of data) shown first.
      expect(
        await page
          .locator('#month-select option')
          .evaluateAll((os) => os.map((o) => o.getAttribute('value'))),
      ).toEqual(['2026-08', '2026-09', '2026-10']);
      expect(await page.locator('#month-select').inputValue()).toBe('2026-10');

      // The numbers follow the month chosen: its total and its costliest customer.
      for (const period of ['2026-08', '2026-09', '2026-10']) {
        await page.selectOption('#month-select', period);
        expect(await page.locator('#title').textContent()).toBe(`Cost per customer, ${period}`);
        expect(await page.getByTestId('total-cost').textContent()).toBe(money(monthTotal(period)));
        const [top] = [...costs(period).values()].sort((a, b) => b.cost - a.cost);
        const first = page.locator('#top-customers tbody tr').first();
        expect(await first.getByTestId('customer-name').textContent()).toBe(top?.name);
        expect(await first.getByTestId('customer-cost').textContent()).toBe(money(top?.cost ?? Number.NaN));
        // August is the first month of the run: nothing to compare it with.
        expect(await page.locator('#mom-table').isVisible()).toBe(period !== '2026-08');
      }
      expect(problems).toEqual([]);

      // October against September: month over month and the top mover.
      const october = costs('2026-10');
      const september = costs('2026-09');
      const moves = [...new Set([...october.keys(), ...september.keys()])]
        .map((id) => ({
          id,
          name: (october.get(id) ?? september.get(id))?.name,
          change: (october.get(id)?.cost ?? 0) - (september.get(id)?.cost ?? 0),
        }))
        .sort((a, b) => Math.abs(b.change) - Math.abs(a.change) || a.id.localeCompare(b.id));
      const mom = page.getByTestId('mom-row').first();
      expect(await mom.locator('td').allTextContents()).toEqual([
        money(monthTotal('2026-09')),
        money(monthTotal('2026-10')),
        expect.stringContaining(money(Math.abs(monthTotal('2026-10') - monthTotal('2026-09')))),
      ]);
      expect(await page.getByTestId('mover-name').first().textContent()).toBe(moves[0]?.name);
      expect(await page.getByTestId('mover-change').first().textContent()).toBe(
        `${(moves[0]?.change ?? 0) > 0 ? '+' : '−'}${money(Math.abs(moves[0]?.change ?? 0))}`,
      );

      // Unit costs: the target per 1,000 requests of the rule compute-network, measured over October:
      // the rule's customer cost over the customers' requests / 1,000.
      const perRequests = alertsConfig.unitCostTargets.find((t) => t.per !== 'customer');
      expect(perRequests).toBeDefined();
      const ruleCost = serviceDays
        .filter(inMonth('2026-10'))
        .filter((row) => row.rule_id === perRequests?.scope.rule)
        .reduce((sum, row) => sum + Number(row.cost), 0);
      const requestCount = usageDays
        .filter(inMonth('2026-10'))
        .filter((row) => perRequests?.per !== 'customer' && row.metric === perRequests?.per.metric)
        .reduce((sum, row) => sum + Number(row.quantity), 0);
      expect(ruleCost).toBeGreaterThan(0);
      const target = page.getByTestId('unit-target').filter({ hasText: perRequests?.id ?? '' });
      expect(await target.getByTestId('unit-target-measured').textContent()).toBe(
        formatUnitCost((ruleCost * 1000) / requestCount, 'USD'),
      );
      const ruleRow = page
        .getByTestId('unit-cost')
        .filter({ hasText: perRequests?.scope.rule ?? '' })
        .first();
      expect(await ruleRow.getByTestId('unit-cost-cost').textContent()).toBe(money(ruleCost));

      // A click on the costliest customer's block in the treemap opens its drill-down.
      const [top] = [...october.values()].sort((a, b) => b.cost - a.cost);
      expect(await page.locator('#section-drilldown').isVisible()).toBe(false);
      const label = page
        .locator('#chart-treemap svg text')
        .filter({ hasText: top?.name ?? '' })
        .first();
      // The mouse clicks where the page is scrolled to: bring the block into view first.
      await label.scrollIntoViewIfNeeded();
      const box = await label.boundingBox();
      expect(box).not.toBeNull();
      await page.mouse.click((box?.x ?? 0) + (box?.width ?? 0) / 2, (box?.y ?? 0) + (box?.height ?? 0) / 2);
      await expect(page.locator('#section-drilldown').isVisible()).resolves.toBe(true);
      expect(await page.locator('#drilldown-title').textContent()).toBe(`${top?.name}, 2026-10`);
      expect(await page.getByTestId('drilldown-cost').textContent()).toBe(money(top?.cost ?? Number.NaN));
      await expect(page.locator('#chart-drilldown svg').textContent()).resolves.toContain('MRR / 30');
      // Its services, as in customer_daily_service_cost.csv, and they sum to its cost.
      const byService = new Map<string, number>();
      for (const row of serviceDays.filter(inMonth('2026-10')).filter((r) => r.customer_id === top?.id)) {
        const key = `${row.provider} ${row.service}`;
        byService.set(key, (byService.get(key) ?? 0) + Number(row.cost));
      }
      const shown = await page
        .locator('#drilldown-services tbody tr')
        .evaluateAll((rows) =>
          rows.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent ?? '')),
        );
      expect(new Map(shown.map(([provider, service, cost]) => [`${provider} ${service}`, cost]))).toEqual(
        new Map([...byService].map(([key, cost]) => [key, money(cost)])),
      );
      expect(Math.abs([...byService.values()].reduce((a, b) => a + b, 0) - (top?.cost ?? 0))).toBeLessThan(
        1e-6,
      );
      // Its alerts, and only its.
      expect((await page.getByTestId('drilldown-alert').allTextContents()).length).toBe(
        alerts.filter((alert) => alert.customerId === top?.id).length,
      );

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.locator('#section-drilldown').screenshot({ path: join(ARTIFACTS, 'report-drilldown.png') });

      // A name in a table opens its drill-down too: the worst margin's.
      const worst = page.locator('#worst-margins tbody tr').first().locator('button');
      const worstName = await worst.textContent();
      await worst.click();
      expect(await page.locator('#drilldown-title').textContent()).toBe(`${worstName}, 2026-10`);
      await page.screenshot({ path: join(ARTIFACTS, 'report-quarter.png'), fullPage: true });

      // Choosing another month closes the drill-down: it belongs to the month it was opened in.
      await page.selectOption('#month-select', '2026-09');
      expect(await page.locator('#section-drilldown').isVisible()).toBe(false);
      expect(problems).toEqual([]);
      expect(requests).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
