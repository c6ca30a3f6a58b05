import {
  type AttributionRun,
  attributionLevels,
  placeholderValues,
  type RunCheckName,
  type RunStep,
  STORED_STEPS,
} from '../attribution/stages.ts';
import {
  AthenaRunLayout,
  type AthenaRunLayoutOptions,
  BILLING_CSV_TABLE,
} from '../engine/athena-run-layout.ts';
import { loadSqlFile, renderSql } from '../sql/sql-template.ts';

/**
 * One statement of a run, in the order the state machine must run them: a CTAS the Athena `.sync` task
 * runs, or a check the run-check function renders and runs itself (only its name travels, so no SQL
 * in a state's input is ever executed by a Lambda).
 */
export type PlannedStatement =
  | { readonly name: string; readonly kind: 'ctas'; readonly sql: string }
  /** Athena DDL, run by the same task: the run's table over a CSV delivery, before the first CTAS. */
  | { readonly name: string; readonly kind: 'ddl'; readonly sql: string }
  | { readonly name: RunCheckName; readonly kind: 'check' };

/** A statement that removes a run table from the catalog after publish. */
export interface CleanupStatement {
  readonly name: string;
  readonly kind: 'drop';
  readonly sql: string;
}

/** Where the run's tables live; the run id comes from the run. */
export type AthenaRunPlanOptions = Omit<AthenaRunLayoutOptions, 'runId'>;

/**
 * The statements a Step Functions state machine runs for one attribution run on Athena, in levels: the
 * run's steps as {@link attributionLevels} orders them, each stored stage as a CTAS into the run's
 * prefix, each check by name. The statements of a level depend only on earlier levels, so the state
 * machine runs a level's statements side by side and the levels one after another. Same files, same
 * parameters as on DuckDB; only table references are Athena's. A CSV delivery (`billingCsv`) first gets
 * its own table, a level of its own.
 */
export function planAthenaRun(run: AttributionRun, options: AthenaRunPlanOptions): PlannedStatement[][] {
  const layout = new AthenaRunLayout({ ...options, runId: run.runId });
  const values = placeholderValues(layout.tableRef, run);
  const planned = (step: RunStep): PlannedStatement =>
    step.kind === 'check'
      ? { name: step.name, kind: 'check' }
      : {
          name: step.name,
          kind: 'ctas',
          sql: layout.ctas(step.name, renderSql(loadSqlFile(step.file), values, step.file)),
        };
  const levels = attributionLevels(run).map((level) => level.map(planned));
  return options.billingCsv === undefined
    ? levels
    : [[{ name: BILLING_CSV_TABLE, kind: 'ddl', sql: layout.createBillingCsvTable() }], ...levels];
}

/**
 * DROP TABLE of every table a run creates, for after publish (and alerts): the catalog forgets the
 * run's tables, their Parquet files stay where the published partitions point.
 */
export function planAthenaCleanup(run: AttributionRun, options: AthenaRunPlanOptions): CleanupStatement[] {
  const layout = new AthenaRunLayout({ ...options, runId: run.runId });
  const drop = (name: string) => ({ name, kind: 'drop' as const, sql: layout.dropTable(name) });
  return [
    ...[...STORED_STEPS].reverse().map((step) => drop(step.name)),
    // Last: the first stage read it.
    ...(options.billingCsv === undefined ? [] : [drop(BILLING_CSV_TABLE)]),
  ];
}
