import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
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
});
