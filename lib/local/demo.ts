import { renameSync, rmSync } from 'node:fs';
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

/** The month before `now`, as YYYY-MM: the most recent complete month, as a real export would hold. */
export function previousMonth(now = new Date()): string {
  const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  return first.toISOString().slice(0, 7);
}

/**
 * `npm start`: generates a synthetic month (CUR 2.0 Parquet, telemetry, customers), runs the local
 * pipeline on it and keeps the generated inputs in `<out>/input/`, so the same files can be fed to
 * `cpc run` by hand.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const out = resolve(options.outDir);
  // A sibling of the output directory: the run replaces `out` as a whole, so inputs join it afterwards.
  const inputDir = join(dirname(out), `.${basename(out)}.demo-input`);
  rmSync(inputDir, { recursive: true, force: true });
  const month = options.month ?? previousMonth();
  options.onProgress?.('generating data');
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
  const focus = v2 ? [writeFocusVendorFile(inputDir, month)] : [];
  const rulesFile = writeDemoRules(inputDir, v2);
  const alertsConfigFile = writeDemoAlertsConfig(inputDir);
  const result = await runLocal({
    billing: [...files.curFiles, showcase, v2Cur, ...focus],
    rulesFile,
    alertsConfigFile,
    telemetry: files.telemetryFiles,
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
