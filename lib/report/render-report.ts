import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as esbuild from 'esbuild';
import { DRILL_DOWN_CUSTOMERS, type ReportData, WORST_MARGINS } from './report-data.ts';

/** How many customers the top-customers table lists. */
export const TOP_CUSTOMERS = 15;

let echartsSource: string | undefined;

/**
 * The minified ECharts build, read once. It is inlined so that the report opens without a network; it
 * must not contain text that would end the <script> element early.
 */
export function echartsScript(): string {
  if (echartsSource === undefined) {
    const path = createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js');
    const source = readFileSync(path, 'utf8');
    if (/<\/script|<!--/i.test(source)) {
      throw new Error(`${path} contains "</script" or "<!--" and cannot be inlined as is`);
    }
    echartsSource = source;
  }
  return echartsSource;
}

/**
 * What the paths below are relative to: the project root, or the root of the write-report asset. There
 * `import.meta.url` reads `<asset>/lib/sql/sql-template.js` (lib/constructs/bundling.ts), also two
 * folders down.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The page's source: main.ts and the modules it imports, and report.css. */
const PAGE_SOURCE = 'lib/report/page';

/** Where a write-report asset holds the built page ({@link writeReportPage}); nothing writes it in a checkout. */
export const REPORT_PAGE_DIR = 'lib/report/page-dist';

const PAGE_FILES = { script: 'report-page.js', style: 'report-page.css' } as const;

/** The page's script and style sheet, as the report inlines them. */
export interface ReportPage {
  readonly script: string;
  readonly style: string;
}

/**
 * Builds the page from lib/report/page with esbuild: one minified IIFE script for browsers (ES2020) and
 * the minified style sheet. Needs esbuild, a development dependency: not available in Lambda.
 */
export function buildReportPage(): ReportPage {
  // Required when called rather than imported, so that bundling write-report neither pulls esbuild in
  // nor makes the bundle fail to load where it is missing.
  let buildSync: typeof esbuild.buildSync;
  try {
    ({ buildSync } = createRequire(import.meta.url)('esbuild') as typeof esbuild);
  } catch (error) {
    throw new Error(
      `The report page is not built (no ${join(ROOT, REPORT_PAGE_DIR)}) and esbuild, which builds it, ` +
        'is not installed. A write-report asset gets it from its afterBundling hook (lib/constructs/bundling.ts).',
      { cause: error },
    );
  }
  const { outputFiles } = buildSync({
    entryPoints: [
      { in: join(ROOT, PAGE_SOURCE, 'main.ts'), out: 'report-page' },
      { in: join(ROOT, PAGE_SOURCE, 'report.css'), out: 'report-page' },
    ],
    outdir: join(ROOT, REPORT_PAGE_DIR),
    write: false,
    bundle: true,
    format: 'iife',
    target: 'es2020',
    platform: 'browser',
    minify: true,
    logLevel: 'warning',
  });
  const output = (file: string) => {
    const found = outputFiles.find((out) => basename(out.path) === file);
    if (!found) throw new Error(`esbuild did not produce ${file}`);
    return found.text;
  };
  return { script: output(PAGE_FILES.script), style: output(PAGE_FILES.style) };
}

/**
 * Writes the built page into a write-report asset, at {@link REPORT_PAGE_DIR} below `assetRoot`. Run by
 * the asset's afterBundling hook (lib/constructs/bundling.ts).
 */
export function writeReportPage(assetRoot: string): void {
  const page = buildReportPage();
  const dir = join(assetRoot, REPORT_PAGE_DIR);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, PAGE_FILES.script), page.script);
  writeFileSync(join(dir, PAGE_FILES.style), page.style);
}

let reportPageCache: ReportPage | undefined;

/**
 * The page's script and style, once per process: prebuilt when {@link REPORT_PAGE_DIR} has them, else
 * built now. The deployed write-report function has no esbuild, so its asset carries the page built at
 * bundling time; a checkout has no prebuilt page, so the local runs and the tests always show the
 * current source, without a build step that could be forgotten.
 */
export function reportPage(): ReportPage {
  if (reportPageCache === undefined) {
    const dir = join(ROOT, REPORT_PAGE_DIR);
    const page = existsSync(join(dir, PAGE_FILES.script))
      ? {
          script: readFileSync(join(dir, PAGE_FILES.script), 'utf8'),
          style: readFileSync(join(dir, PAGE_FILES.style), 'utf8'),
        }
      : buildReportPage();
    // esbuild escapes "</script" in strings, not in comments or "<!--" anywhere; either would break the element.
    if (/<\/script|<!--/i.test(page.script) || /<\/style/i.test(page.style)) {
      throw new Error('The report page contains "</script", "<!--" or "</style" and cannot be inlined as is');
    }
    reportPageCache = page;
  }
  return reportPageCache;
}

/**
 * A number as the file embeds it: amounts of 1 or more to a millionth (cents stay exact at any size),
 * smaller values (ratios, unit costs of a fraction of a cent) to 10 significant digits; integers as they
 * are. Seventeen digits of every amount would make the file half as large again for nothing a reader can
 * see. Rounded when the page is written, so the report data itself stays exact (and equal on every engine).
 */
function embeddedNumber(value: number): number {
  if (!Number.isFinite(value) || Number.isInteger(value)) return value;
  return Math.abs(value) >= 1 ? Math.round(value * 1e6) / 1e6 : Number(value.toPrecision(10));
}

/** The JSON.stringify replacer that writes every number as {@link embeddedNumber}. */
function compactNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' ? embeddedNumber(value) : value;
}

/**
 * The report data as the text of a <script type="application/json"> element. JSON escapes for `<`,
 * `>` and `&` keep any customer name from closing the element or opening a comment, and U+2028/2029 are
 * escaped for older JavaScript parsers; JSON.parse reads the same data back.
 */
export function reportJson(data: ReportData): string {
  return JSON.stringify(data, compactNumbers)
    .replaceAll('<', '\\u003c')
    .replaceAll('>', '\\u003e')
    .replaceAll('&', '\\u0026')
    .replaceAll('\u2028', '\\u2028')
    .replaceAll('\u2029', '\\u2029');
}

function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

// Nothing reaches the network: scripts and styles are inline, images only data: URLs.
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:";

const BODY = `
<main>
  <header>
    <h1 id="title">Cost per customer</h1>
    <div class="meta" id="meta"></div>
    <label class="month-picker" id="month-picker">Billing month <select id="month-select"></select></label>
    <div class="meta" id="month-meta"></div>
    <div class="tiles" id="headline"></div>
    <ul class="alerts" id="account-alerts"></ul>
    <ul class="warnings" id="warnings" hidden></ul>
  </header>
  <div id="month"></div>
  <template id="month-template">
  <div class="empty" id="empty" hidden>No cost in this run: the billing data has no line items, so there is nothing to chart.</div>
  <div id="content">
    <section id="section-waterfall">
      <h2>From the bill to paying customers</h2>
      <p class="hint">The month's bill, less what is excluded, what reached no customer and what free and trial accounts cost, leaves what paying customers cost. The steps add up to the bill.</p>
      <div class="chart" id="chart-waterfall"></div>
      <table id="waterfall-table"><thead><tr><th>Step</th><th class="num">Cost</th><th class="num">Share of the bill</th><th>What it is</th></tr></thead><tbody></tbody></table>
    </section>
    <section id="section-mom">
      <h2>Month over month</h2>
      <p class="hint" id="mom-note"></p>
      <table id="mom-table"><thead></thead><tbody></tbody></table>
    </section>
    <section id="section-treemap">
      <h2>Customer cost</h2>
      <p class="hint">Each block is one customer's cost over the billing month, grouped by tier; the colour is the month's cost as a share of the customer's MRR. Click a customer (here or in any table below) to open its drill-down.</p>
      <div class="legend" id="treemap-legend"></div>
      <div class="chart" id="chart-treemap" style="height: 480px"></div>
    </section>
    <section id="section-drilldown" hidden>
      <div class="drilldown-head"><h2 id="drilldown-title"></h2><button type="button" id="drilldown-close">Close</button></div>
      <div class="meta" id="drilldown-meta"></div>
      <div class="tiles" id="drilldown-tiles"></div>
      <p class="hint" id="drilldown-not-carried" hidden>The report carries the daily line and the breakdowns of each month's ${DRILL_DOWN_CUSTOMERS} costliest customers and its ${WORST_MARGINS} worst margins; this customer's are in the run's results (customer_daily_service_cost, and the finance views in Athena).</p>
      <div id="drilldown-details">
      <p class="hint">Cost per usage day; the dashed line is MRR / 30, the day's share of what the customer pays.</p>
      <div class="chart" id="chart-drilldown"></div>
      <div class="columns">
        <div><h3>By service</h3><table id="drilldown-services"></table></div>
        <div><h3>By rule</h3><table id="drilldown-rules"></table></div>
      </div>
      <h3>Alerts</h3>
      <ul class="alerts" id="drilldown-alerts"></ul>
      <h3>Unit costs</h3>
      <p class="hint" id="drilldown-unit-costs-empty">No usage of a metric and no cost from a metric-driven rule this month.</p>
      <table id="drilldown-unit-costs"><thead><tr><th>Metric</th><th class="num">Usage</th><th class="num">Cost from its rules</th><th class="num">Per unit</th><th class="num">Average per unit</th><th class="num">All-in per unit</th></tr></thead><tbody></tbody></table>
      </div>
    </section>
    <section id="section-tiers">
      <h2>Infrastructure gross margin by tier</h2>
      <p class="hint">Attributed margin = 1 − cost / MRR over the month, per tier and plan status. Fully loaded margin also charges each paid row its MRR-weighted share of the cost that reached no customer and of what free and trial accounts cost. Free and trial accounts have no revenue, so no margin.</p>
      <div class="chart" id="chart-tiers"></div>
      <table id="tier-table"><thead><tr><th>Tier</th><th>Plan</th><th class="num">Customers</th><th class="num">Cost</th><th class="num">MRR</th><th class="num">Median cost</th><th class="num">Attributed margin</th><th class="num">Fully loaded margin</th></tr></thead><tbody></tbody></table>
    </section>
    <section id="section-daily">
      <h2>Daily cost</h2>
      <p class="hint">Cost per usage day, split into cost attributed to customers and unattributed; the line is the unattributed share of attributable cost. Excluded cost (tax and what the rules exclude) is listed below the chart, so that one day's tax does not flatten the others.</p>
      <div class="chart" id="chart-daily"></div>
      <div id="excluded-days"></div>
    </section>
    <section id="section-top">
      <h2 id="top-title">Top customers by cost</h2>
      <table id="top-customers"><thead><tr><th class="num">#</th><th>Customer</th><th>Tier</th><th>Plan</th><th class="num">Cost</th><th class="num">MRR</th><th class="num">Cost / MRR</th><th>Alerts</th></tr></thead><tbody></tbody></table>
    </section>
    <section id="section-worst">
      <h2>Worst margins</h2>
      <p class="hint">Paying customers ranked by the month's cost as a share of their MRR, not by cost: the accounts that cost the most for what they pay.</p>
      <table id="worst-margins"><thead><tr><th class="num">#</th><th>Customer</th><th>Tier</th><th class="num">Cost</th><th class="num">MRR</th><th class="num">Cost / MRR</th><th class="num">Margin</th><th>Alerts</th></tr></thead><tbody></tbody></table>
    </section>
    <section id="section-movers">
      <h2>Top movers</h2>
      <p class="hint" id="movers-note"></p>
      <table id="top-movers"><thead><tr><th class="num">#</th><th>Customer</th><th>Tier</th><th class="num">Previous month</th><th class="num">This month</th><th class="num">Change</th><th class="num">Growth</th></tr></thead><tbody></tbody></table>
    </section>
    <section id="section-unit-costs">
      <h2>Unit costs</h2>
      <p class="hint">For each rule that shares its pool by a usage metric: what one unit of the metric cost customers this month (per 1,000 for counts, per GB-month for bytes), and per active customer.</p>
      <p class="hint" id="unit-costs-empty">No rule shared its cost by a metric this month.</p>
      <table id="unit-costs"><thead><tr><th>Rule</th><th>Driver</th><th>Services</th><th class="num">Cost</th><th class="num">Usage</th><th class="num">Per unit</th><th class="num">Per active customer</th></tr></thead><tbody></tbody></table>
      <h3>Targets</h3>
      <p class="hint" id="unit-targets-empty">No unit-cost targets are configured (unitCostTargets in the alerts configuration).</p>
      <table id="unit-targets"><thead><tr><th>Target</th><th>Scope</th><th>Unit</th><th class="num">This month</th><th class="num">Target</th><th>Status</th><th>Team</th></tr></thead><tbody></tbody></table>
    </section>
    <section id="section-free">
      <h2>Free and trial accounts</h2>
      <p class="hint">What accounts without revenue cost, and how much of it a few of them take.</p>
      <div class="tiles" id="free-tiles"></div>
      <div class="bar" id="free-bar"></div>
      <div class="legend" id="free-legend"></div>
    </section>
  </div>
  </template>
  <section id="section-alerts">
    <h2 id="alerts-title">Alerts</h2>
    <p class="hint">Every alert of the run, most severe first, as the alert messages state them.</p>
    <table id="alert-list"><thead><tr><th>Alert</th><th>About</th><th>As of</th><th>What happened</th></tr></thead><tbody></tbody></table>
  </section>
  <footer id="footer"></footer>
</main>
`;

/**
 * The self-contained HTML report of a run, every billing month of it: the data as JSON, ECharts and the page's script
 * and style inline, nothing fetched. Pure apart from reading ECharts and the page once
 * ({@link echartsScript}, {@link reportPage}).
 */
export function renderReportHtml(data: ReportData): string {
  const page = reportPage();
  const title = `Cost per customer${data.defaultPeriod ? ` – ${data.defaultPeriod}` : ''} – run ${data.runId}`;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${page.style}</style>`,
    '</head>',
    '<body>',
    BODY,
    `<script type="application/json" id="report-data" data-top="${TOP_CUSTOMERS}">${reportJson(data)}</script>`,
    `<script>${echartsScript()}</script>`,
    `<script>${page.script}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
