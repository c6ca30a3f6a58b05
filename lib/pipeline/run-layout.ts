import { PREFIXES } from '../common/names.ts';
import { AthenaRunLayout } from '../engine/athena-run-layout.ts';

/** The part of a function's configuration that says where runs live. */
export interface RunLayoutConfig {
  /** Glue database of the inputs and the run's tables. */
  readonly database: string;
  /** Bucket the runs write their results into (`runs/run=<run id>/`). */
  readonly resultsBucket: string;
}

/**
 * Where one run's tables and files are (`s3://<results>/runs/run=<run id>/<table>/`, Glue tables
 * `run_<run id>_<table>`), for every core that reads or writes them, so that they agree on the layout.
 */
export function runLayout(
  run: { readonly runId: string; readonly billingPeriod: string },
  config: RunLayoutConfig,
): AthenaRunLayout {
  return new AthenaRunLayout({
    database: config.database,
    resultsBucket: config.resultsBucket,
    runPrefix: PREFIXES.runs.replace(/\/$/, ''),
    runId: run.runId,
    billingPeriod: run.billingPeriod,
  });
}

/** The options `planAthenaRun` and `planAthenaCleanup` take: the run's layout without its id. */
export function runPlanOptions(
  run: { readonly billingPeriod: string },
  config: RunLayoutConfig,
  inputTables: { readonly billing_source: string },
) {
  return {
    database: config.database,
    resultsBucket: config.resultsBucket,
    runPrefix: PREFIXES.runs.replace(/\/$/, ''),
    billingPeriod: run.billingPeriod,
    inputTables,
  };
}
