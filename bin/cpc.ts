import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Argument, Command, Option } from 'commander';
import { BILLING_FORMAT_NAMES, type BillingFormatName } from '../lib/attribution/billing-formats.ts';
import { FINANCE_VIEW_NAMES, FINANCE_VIEWS, sourceTablesOf } from '../lib/finance/finance-registry.ts';
import {
  aliasOption,
  checkOptions,
  integerIn,
  isoDate,
  memorySize,
  requiredOption,
  rowLimit,
} from '../lib/local/cli-options.ts';
import {
  endQuietlyOnClosedPipe,
  printResult,
  printWarnings,
  progressReporter,
  reportError,
  runDocument,
} from '../lib/local/cli-output.ts';
import { DEFAULT_CSV_ROW_LIMIT } from '../lib/local/output-files.ts';
import type { LocalRunResult } from '../lib/local/run-local.ts';

endQuietlyOnClosedPipe();

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

// Before the subcommands: they copy the exit and output settings when they are created.
const program = new Command()
  .name('cpc')
  .description('cost-per-customer: what each customer costs to serve on AWS')
  .version(version, '-V, --version', 'print the version of cpc')
  .exitOverride()
  // One prefix for every error cpc prints, whether commander or cpc found it.
  .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'cpc: ')) })
  .showHelpAfterError()
  .addHelpText(
    'after',
    '\nExit status: 0 success (warnings allowed), 1 bad input or a failed check, 2 usage error,\n' +
      '3 internal error (CPC_DEBUG=1 prints its stack). Results go to stdout, everything else to stderr.',
  );
program.hook('preAction', (_program, command) => checkOptions(command));

/** Shows phases on a terminal; undefined (no option) when stderr is a pipe or a file. */
function progressOption(): { onProgress?: (phase: string) => void } {
  const onProgress = progressReporter(process.stderr);
  return onProgress === undefined ? {} : { onProgress };
}

function printRun(result: LocalRunResult, json: boolean, human: string): void {
  printWarnings(result.warnings);
  printResult(json ? JSON.stringify(runDocument(result), null, 2) : human);
}

program
  .command('run')
  .description('Attribute a billing export to customers and write the results')
  .addOption(
    requiredOption(
      '--cur <paths...>',
      "billing files: paths, directories or globs, or --cur given again (CUR 2.0, legacy CUR or FOCUS; each file's format from its columns; several formats make several sources of one run)",
    ),
  )
  .addOption(
    new Option(
      '--format <format>',
      'billing format of every file (detected per file from its columns when omitted; a file whose columns say otherwise is refused)',
    ).choices(BILLING_FORMAT_NAMES),
  )
  .addOption(requiredOption('--telemetry <paths...>', 'usage telemetry files: CSV, NDJSON or Parquet'))
  .addOption(requiredOption('--customers <csv>', 'customer dimension CSV'))
  .option('--rules <json>', 'allocation rules JSON (default: the shipped rules)')
  .option('--as-of <date>', 'alert evaluation day, YYYY-MM-DD (default: latest usage day - 1)', isoDate)
  .option(
    '--alerts-config <json>',
    'alert thresholds, service owners and renotify period (default: docs/alerts.md)',
  )
  .option('--state <json>', 'sent-alert state file: do not repeat an alert sent within the renotify period')
  .addOption(requiredOption('--out <dir>', 'output directory (replaced only when the run succeeds)'))
  .option('--json', 'print the run summary as one JSON document instead of text')
  .option(
    '--csv-row-limit <rows>',
    `write a CSV output only up to this many rows, else only its Parquet twin; none: every CSV (default: ${DEFAULT_CSV_ROW_LIMIT}, a spreadsheet sheet)`,
    rowLimit,
  )
  .option(
    '--memory-limit <size>',
    'memory the SQL engine may use before it spills to --temp-dir, e.g. 2GB (default: 3GB)',
    memorySize,
  )
  .option('--temp-dir <dir>', "where the SQL engine spills beyond --memory-limit (default: DuckDB's)")
  .addHelpText('after', '\nSee docs/local-run.md and docs/attribution.md')
  .action(async (options) => {
    // Loaded when used, as for demo and query: --help, --version and usage errors stay quick.
    const { runLocal } = await import('../lib/local/run-local.ts');
    const { summaryText } = await import('../lib/local/summary-text.ts');
    const progress = progressOption();
    const result = await runLocal({
      billing: options.cur,
      format: options.format as BillingFormatName | undefined,
      telemetry: options.telemetry,
      customers: options.customers,
      rulesFile: options.rules,
      asOf: options.asOf,
      alertsConfigFile: options.alertsConfig,
      stateFile: options.state,
      outDir: options.out,
      ...(options.csvRowLimit === undefined
        ? {}
        : { csvRowLimit: options.csvRowLimit === 'none' ? null : options.csvRowLimit }),
      engine: {
        ...(options.memoryLimit === undefined ? {} : { memoryLimit: options.memoryLimit }),
        ...(options.tempDir === undefined ? {} : { tempDirectory: options.tempDir }),
      },
      ...progress,
    });
    progress.onProgress?.('done');
    printRun(result, options.json === true, summaryText(result));
  });

program
  .command('demo')
  .description('Generate a realistic synthetic month, run the whole pipeline on it and write the results')
  .option('--out <dir>', 'output directory', 'out')
  .option('--seed <n>', 'random seed', integerIn(1, Number.MAX_SAFE_INTEGER), 7)
  // The generator's own limits, checked here so that a bad value is a usage error.
  .option('--customers <n>', 'number of customers, 5 to 100000', integerIn(5, 100_000), 60)
  .option(
    '--line-items <n>',
    'number of CUR line items, 100 to 1000000000',
    integerIn(100, 1_000_000_000),
    40_000,
  )
  .option('--json', 'print the run summary as one JSON document instead of text (as cpc run --json)')
  .addHelpText('after', '\nSee docs/local-run.md')
  .action(async (options) => {
    const { runDemo } = await import('../lib/local/demo.ts');
    const { summaryText } = await import('../lib/local/summary-text.ts');
    const progress = progressOption();
    const result = await runDemo({
      outDir: options.out,
      seed: options.seed,
      customers: options.customers,
      lineItems: options.lineItems,
      ...progress,
    });
    progress.onProgress?.('done');
    const { inputs } = result.demo;
    printRun(
      result,
      options.json === true,
      `${summaryText(result)}\nThe generated inputs are in ${join(options.out, 'input')}; run on them yourself with\n` +
        `  npx cpc run ${inputs.billing.map((path) => `--cur ${path}`).join(' ')} --telemetry ${inputs.telemetry}` +
        ` --customers ${inputs.customers} --rules ${inputs.rules} --alerts-config ${inputs.alertsConfig}` +
        ' --out out-rerun',
    );
  });

const results = requiredOption('--results <dir>', 'output directory of a run (cpc run, npm start)');
const views = FINANCE_VIEW_NAMES.map((name) => `  ${name.padEnd(32)} ${FINANCE_VIEWS[name].description}`);
const viewsWithCustomers = FINANCE_VIEW_NAMES.filter((name) => sourceTablesOf(name).includes('customers'));
program
  .command('query')
  .description('Run a finance view (docs/finance.md) on the results of a local run and print it')
  .addArgument(new Argument('<view>', 'finance view').choices(FINANCE_VIEW_NAMES))
  .addOption(results)
  .addOption(aliasOption(new Option('--out <dir>', 'the former name of --results, still accepted'), results))
  .addOption(
    new Option('--csv <file>', 'write the result as CSV (plain decimals) to <file>, or to stdout with -'),
  )
  .addOption(new Option('--json', 'print the rows as one JSON array of objects, unrounded').conflicts('csv'))
  .option(
    '--customers <csv>',
    `customer dimension CSV, for ${viewsWithCustomers.join(', ')} (default: <results>/input/customers.csv if present)`,
  )
  .addHelpText('after', `\nViews:\n${views.join('\n')}\n\nSee docs/finance.md`)
  .action(async (view: string, options) => {
    const { queryCommand } = await import('../lib/local/query-command.ts');
    const result = await queryCommand({
      view,
      outDir: options.results,
      customers: options.customers,
      csv: options.csv,
    });
    if (options.json === true) printResult(JSON.stringify(result.rows, null, 2));
    // Where the file went is a note for the person, not a result: stdout stays empty.
    else if (options.csv !== undefined && options.csv !== '-') process.stderr.write(`${result.text}\n`);
    else printResult(result.text);
  });

const collect = (value: string, previous: string[] = []) => [...previous, value];
program
  .command('telemetry')
  .description(
    'Convert usage from a Prometheus/OpenMetrics text dump or a CSV into the telemetry layout, one file per day',
  )
  .option(
    '--prometheus <file>',
    'a Prometheus text exposition or OpenMetrics dump, one sample per tenant and day',
  )
  .option('--csv <file>', 'a CSV with a header (name its columns with the --*-column options)')
  .requiredOption('--source <name>', 'the name of this usage source (one file per source and day)')
  .requiredOption(
    '--out <dir>',
    'where to write usage_day=YYYY-MM-DD/<source>/usage.json (never overwritten)',
  )
  .option('--tenant-label <label>', 'Prometheus: the label naming the tenant', 'tenant_id')
  .option('--date <date>', 'Prometheus: the day of samples without a timestamp, YYYY-MM-DD', isoDate)
  .option(
    '--metric <from=to>',
    'Prometheus: keep this metric, under the name the rules use (repeatable)',
    collect,
  )
  .option('--date-column <name>', 'CSV: the date or ISO timestamp column', 'usage_date')
  .option('--tenant-column <name>', 'CSV: the tenant column', 'tenant_id')
  .option('--metric-column <name>', 'CSV: the metric column', 'metric')
  .option('--metric-name <name>', 'CSV: the one metric of a file without a metric column')
  .option('--quantity-column <name>', 'CSV: the quantity column', 'quantity')
  .addHelpText('after', '\nSee docs/local-run.md')
  .action(async (options) => {
    const { telemetryCommand } = await import('../lib/local/telemetry-convert.ts');
    const result = telemetryCommand({
      prometheus: options.prometheus,
      csv: options.csv,
      source: options.source,
      outDir: options.out,
      tenantLabel: options.tenantLabel,
      date: options.date,
      metricMaps: options.metric ?? [],
      csvColumns: {
        date: options.dateColumn,
        tenant: options.tenantColumn,
        metricColumn: options.metricColumn,
        quantity: options.quantityColumn,
        ...(options.metricName === undefined ? {} : { metric: options.metricName }),
      },
    });
    printWarnings(result.warnings);
    printResult(result.text);
  });

try {
  await program.parseAsync();
} catch (error) {
  process.exitCode = reportError(error, process.stderr);
}
