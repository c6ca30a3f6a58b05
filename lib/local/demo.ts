import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { addAlertShowcase, writeDemoAlertsConfig } from '../generator/alert-showcase.ts';
import { generateSyntheticMonth } from '../generator/synthetic-month.ts';
import {
  addShowcaseCustomers,
  daysOf,
  EKS_NAMESPACES,
  EKS_NODE,
  writeDemoRules,
  writeFocusVendorFile,
  writeShowcaseCur,
} from '../generator/v2-showcase.ts';
import { type LocalRunResult, runLocal } from './run-local.ts';

export interface DemoOptions {
  readonly outDir: string;
  readonly seed: number;
  readonly customers: number;
  readonly lineItems: number;
  /** @default the month before the current one */
  readonly month?: string;
  /**
   * Called as each long phase starts: `generating data`, then the phases of the run (`onProgress` of
   * `runLocal`). @default none
   */
  readonly onProgress?: (phase: string) => void;
  /**
   * Also feed the run customers with an `effective_from` version (an MRR change mid-month) and a
   * non-AWS vendor's FOCUS CSV beside the CUR. The EKS split rows, the tag-defined search pool and the
   * v2 rules file are always part of the demo.
   * @default true
   */
  readonly v2Inputs?: boolean;
  /**
   * How many months the demo generates, ending with `month`: three by default, so month-over-month,
   * trend and 90-day views have data. The showcases (alerts, v2) are in the last month.
   * @default 3
   */
  readonly months?: number;
}

/** What the demo put into the month to show the v2 model, for the summary. */
export interface DemoFacts {
  /** Cost of the EKS node's own line items that split cost allocation hands to its namespaces. */
  readonly splitParentCost: number;
  readonly splitNamespaces: readonly string[];
  /** The generated inputs, kept in `<out>/input/`, as `cpc run` takes them to run the same month again. */
  readonly inputs: {
    /** Each a `--cur`: the CUR folder and, with the v2 inputs, the FOCUS vendor file. */
    readonly billing: readonly string[];
    readonly telemetry: string;
    readonly customers: string;
    readonly rules: string;
    readonly alertsConfig: string;
  };
}

export type DemoResult = LocalRunResult & { readonly demo: DemoFacts };

/** The customers file header with the version column the multi-month demo writes. */
const CUSTOMERS_HEADER =
  'customer_id,tenant_id,name,tier,plan_status,mrr,start_date,end_date,owner_team,effective_from';

/**
 * The data rows of a generated customers file as versions: `effective_from` set to `from` where the row
 * has none (a row of the v2 showcase with its own day keeps it). The generator's rows hold no comma
 * inside a field but in quoted names, which stay whole: only the last field is looked at.
 */
function customerVersions(file: string, from: string): string[] {
  const [header = '', ...rows] = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '');
  const versioned = header.endsWith(',effective_from');
  return rows.map((row) => {
    if (!versioned) return `${row},${from}`;
    return row.endsWith(',') ? `${row}${from}` : row;
  });
}

/** The month `count` months before `month` (YYYY-MM). */
export function monthBefore(month: string, count: number): string {
  const [year, mon] = month.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(year, mon - 1 - count, 1)).toISOString().slice(0, 7);
}

/** The month before `now`, as YYYY-MM: the most recent complete month, as a real export would hold. */
export function previousMonth(now = new Date()): string {
  const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  return first.toISOString().slice(0, 7);
}

/**
 * `npm start`: generates three synthetic months (CUR 2.0 Parquet, telemetry, customers with a version per
 * month), runs the local pipeline on them and keeps the generated inputs in `<out>/input/`, so the same
 * files can be fed to `cpc run` by hand.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const out = resolve(options.outDir);
  // A sibling of the output directory: the run replaces `out` as a whole, so inputs join it afterwards.
  const inputDir = join(dirname(out), `.${basename(out)}.demo-input`);
  rmSync(inputDir, { recursive: true, force: true });
  const month = options.month ?? previousMonth();
  options.onProgress?.('generating data');
  // The months before the last one, oldest first: the same customers (one seed), each month's customer
  // rows kept as the version in force from that month (effective_from), their bills and telemetry.
  const earlier = Array.from({ length: (options.months ?? 3) - 1 }, (_, i) =>
    monthBefore(month, (options.months ?? 3) - 1 - i),
  );
  const earlierFiles = [];
  for (const [index, earlierMonth] of earlier.entries()) {
    const monthFiles = await generateSyntheticMonth({
      outDir: inputDir,
      month: earlierMonth,
      seed: options.seed,
      lineItems: options.lineItems,
      customers: options.customers,
    });
    earlierFiles.push({
      ...monthFiles,
      customerRows: customerVersions(monthFiles.customersFile, index === 0 ? '' : `${earlierMonth}-01`),
    });
  }
  const files = await generateSyntheticMonth({
    outDir: inputDir,
    month,
    seed: options.seed,
    lineItems: options.lineItems,
    customers: options.customers,
  });
  const showcase = await addAlertShowcase(inputDir, month, files.customersFile);
  const v2 = options.v2Inputs !== false;
  const v2Cur = await writeShowcaseCur(inputDir, month);
  addShowcaseCustomers(files.customersFile, month, v2);
  if (earlierFiles.length > 0) {
    // The last month's rows are its versions, from its first day (a showcase version keeps its own day).
    const latest = customerVersions(files.customersFile, `${month}-01`);
    writeFileSync(
      files.customersFile,
      `${[CUSTOMERS_HEADER, ...earlierFiles.flatMap((f) => f.customerRows), ...latest].join('\n')}\n`,
    );
  }
  const focus = v2 ? [writeFocusVendorFile(inputDir, month)] : [];
  const rulesFile = writeDemoRules(inputDir, v2);
  const alertsConfigFile = writeDemoAlertsConfig(inputDir);
  const result = await runLocal({
    billing: [...earlierFiles.flatMap((f) => f.curFiles), ...files.curFiles, showcase, v2Cur, ...focus],
    rulesFile,
    alertsConfigFile,
    telemetry: [...earlierFiles.flatMap((f) => f.telemetryFiles), ...files.telemetryFiles],
    customers: files.customersFile,
    outDir: out,
    ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
  });
  const kept = join(out, 'input');
  renameSync(inputDir, kept);
  return {
    ...result,
    demo: {
      splitParentCost: EKS_NODE.dailyCost * daysOf(month).length,
      splitNamespaces: EKS_NAMESPACES.map((ns) => ns.namespace),
      inputs: {
        billing: [join(kept, 'cur'), ...focus.map((file) => join(kept, basename(file)))],
        telemetry: join(kept, 'telemetry'),
        customers: join(kept, basename(files.customersFile)),
        rules: join(kept, basename(rulesFile)),
        alertsConfig: join(kept, basename(alertsConfigFile)),
      },
    },
  };
}
