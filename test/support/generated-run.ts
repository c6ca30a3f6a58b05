import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDbEngineOptions } from '../../lib/engine/duckdb-engine.ts';
import { generateSyntheticMonth, type SyntheticMonthFiles } from '../../lib/generator/synthetic-month.ts';
import { type LocalRunResult, runLocal } from '../../lib/local/run-local.ts';
import { tempDir } from './fixtures.ts';

export interface GeneratedRunOptions {
  readonly seed: number;
  readonly lineItems: number;
  readonly customers: number;
  /** @default '2026-10' */
  readonly month?: string;
  readonly runId?: string;
  readonly engine?: DuckDbEngineOptions;
  /** An alert configuration document for the run (`--alerts-config`). @default the defaults */
  readonly alertsConfig?: Readonly<Record<string, unknown>>;
}

/**
 * A synthetic month (lib/generator) run through the whole local pipeline into a fresh temporary
 * folder: the results of a real run for tests that check what is built from them.
 */
export async function generatedRun(options: GeneratedRunOptions): Promise<{
  readonly files: SyntheticMonthFiles;
  readonly outDir: string;
  readonly result: LocalRunResult;
}> {
  const dir = tempDir();
  const files = await generateSyntheticMonth({
    outDir: join(dir, 'in'),
    month: options.month ?? '2026-10',
    seed: options.seed,
    lineItems: options.lineItems,
    customers: options.customers,
  });
  const outDir = join(dir, 'out');
  const alertsConfigFile = options.alertsConfig === undefined ? undefined : join(dir, 'alerts-config.json');
  if (alertsConfigFile !== undefined) writeFileSync(alertsConfigFile, JSON.stringify(options.alertsConfig));
  const result = await runLocal({
    billing: files.curFiles,
    telemetry: files.telemetryFiles,
    customers: files.customersFile,
    outDir,
    ...(options.runId ? { runId: options.runId } : {}),
    ...(options.engine ? { engine: options.engine } : {}),
    ...(alertsConfigFile ? { alertsConfigFile } : {}),
  });
  return { files, outDir, result };
}
