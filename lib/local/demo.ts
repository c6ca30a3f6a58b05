import { renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { addAlertShowcase } from '../generator/alert-showcase.ts';
import { generateSyntheticMonth } from '../generator/synthetic-month.ts';
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
}

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
export async function runDemo(options: DemoOptions): Promise<LocalRunResult> {
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
  const result = await runLocal({
    billing: [...files.curFiles, showcase],
    telemetry: files.telemetryFiles,
    customers: files.customersFile,
    outDir: out,
    ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
  });
  renameSync(inputDir, join(out, 'input'));
  return result;
}
