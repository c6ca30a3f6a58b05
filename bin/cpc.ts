import { join } from 'node:path';
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { BILLING_FORMAT_NAMES, type BillingFormatName } from '../lib/attribution/billing-formats.ts';
import { FINANCE_VIEW_NAMES } from '../lib/finance/finance-registry.ts';
import { runLocal } from '../lib/local/run-local.ts';
import { summaryText } from '../lib/local/summary-text.ts';

const program = new Command()
  .name('cpc')
  .description('cost-per-customer: what each customer costs to serve on AWS')
  .showHelpAfterError();

program
  .command('run')
  .description('Attribute a billing export to customers and write the results')
  .requiredOption(
    '--cur <paths...>',
    'billing files: paths, directories or globs (CUR 2.0, legacy CUR or FOCUS)',
  )
  .addOption(
    new Option('--format <format>', 'billing format (detected from the columns when omitted)').choices(
      BILLING_FORMAT_NAMES,
    ),
  )
  .requiredOption('--telemetry <paths...>', 'usage telemetry files: CSV, NDJSON or Parquet')
  .requiredOption('--customers <csv>', 'customer dimension CSV')
  .option('--rules <json>', 'allocation rules JSON (default: the shipped rules)')
  .option('--as-of <date>', 'alert evaluation day, YYYY-MM-DD (default: latest usage day - 1)')
  .option(
    '--alerts-config <json>',
    'alert thresholds, service owners and renotify period (default: docs/alerts.md)',
  )
  .option('--state <json>', 'sent-alert state file: do not repeat an alert sent within the renotify period')
  .requiredOption('--out <dir>', 'output directory (replaced only when the run succeeds)')
  .action(async (options) => {
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
    });
    process.stdout.write(`${summaryText(result)}\n`);
  });

program
  .command('demo')
  .description('Generate a realistic synthetic month, run the whole pipeline on it and write the results')
  .option('--out <dir>', 'output directory', 'out')
  .option('--seed <n>', 'random seed', parsePositiveInt, 7)
  .option('--customers <n>', 'number of customers', parsePositiveInt, 60)
  .option('--line-items <n>', 'number of CUR line items', parsePositiveInt, 40_000)
  .action(async (options) => {
    const { runDemo } = await import('../lib/local/demo.ts');
    const result = await runDemo({
      outDir: options.out,
      seed: options.seed,
      customers: options.customers,
      lineItems: options.lineItems,
    });
    const input = join(options.out, 'input');
    process.stdout.write(
      `${summaryText(result)}\nThe generated inputs are in ${input}; run on them yourself with\n` +
        `  npx cpc run --cur ${join(input, 'cur')} --telemetry ${join(input, 'telemetry')}` +
        ` --customers ${join(input, 'customers.csv')} --out out-rerun\n`,
    );
  });

program
  .command('query')
  .description('Run a finance view (docs/finance.md) on the results of a local run and print it')
  .addArgument(new Argument('<view>', 'finance view').choices(FINANCE_VIEW_NAMES))
  .requiredOption('--out <dir>', 'output directory of a run (cpc run, npm start)')
  .option('--csv <file>', 'write the result as CSV (plain decimals) instead of printing it')
  .option(
    '--customers <csv>',
    'customer dimension CSV, for cost_growth_vs_customer_growth (default: <out>/input/customers.csv if present)',
  )
  .action(async (view: string, options) => {
    const { queryCommand } = await import('../lib/local/query-command.ts');
    const result = await queryCommand({
      view,
      outDir: options.out,
      customers: options.customers,
      csv: options.csv,
    });
    process.stdout.write(`${result.text}\n`);
  });

function parsePositiveInt(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new InvalidArgumentError('expected a positive integer');
  return parsed;
}

try {
  await program.parseAsync();
} catch (error) {
  // One clear line for the person at the terminal; the process fails so scripts notice.
  process.stderr.write(`cpc: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
