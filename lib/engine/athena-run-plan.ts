import {
  ATTRIBUTION_STAGES,
  type AttributionRun,
  renderAttributionSql,
  runAttribution,
} from '../attribution/stages.ts';
import { AthenaRunLayout, type AthenaRunLayoutOptions } from './athena-engine.ts';
import type { QueryEngine, Row } from './query-engine.ts';

/** The checks of a run, by name; each fails the run as `runAttribution` says. */
export const RUN_CHECKS = {
  /** One row; the run fails when `invalid_groups` > 0. */
  invalid_line_items: 'invalid_line_items.sql',
  /** The days that break conservation; the run fails when there is any row. */
  conservation_check: 'conservation_check.sql',
} as const;
export type RunCheckName = keyof typeof RUN_CHECKS;

/** One statement of a run, in the order the state machine must run them. */
export interface PlannedStatement {
  /** The stage (table) a CTAS creates, or the check a SELECT performs. */
  readonly name: string;
  readonly kind: 'ctas' | 'check';
  readonly sql: string;
}

/** A statement that removes a run table from the catalog after publish. */
export interface CleanupStatement {
  readonly name: string;
  readonly kind: 'drop';
  readonly sql: string;
}

/** Where the run's tables live; the run id comes from the run. */
export type AthenaRunPlanOptions = Omit<AthenaRunLayoutOptions, 'runId'>;

/**
 * The statements a Step Functions state machine runs for one attribution run on Athena: each stage's
 * CTAS into the run's prefix and the two checks, in the order `runAttribution` runs them (the
 * invalid-line-items check right after classification, so bad billing data stops the run before the
 * expensive stages). They are obtained by running `runAttribution` itself on an engine that records
 * instead of executing, so the plan cannot drift from the local pipeline: same files, same
 * parameters, same order; only table references are Athena's.
 */
export async function planAthenaRun(
  run: AttributionRun,
  options: AthenaRunPlanOptions,
): Promise<PlannedStatement[]> {
  const layout = new AthenaRunLayout({ ...options, runId: run.runId });
  const statements: PlannedStatement[] = [];
  const store = async (name: string, select: string) => {
    statements.push({ name, kind: 'ctas', sql: layout.ctas(name, select) });
  };
  const recorder: QueryEngine = {
    tableRef: (name) => layout.tableRef(name),
    createTable: store,
    createView: store,
    query: async (sql): Promise<Row[]> => {
      const known = checks.find((c) => c.sql === sql);
      if (!known) throw new Error('planAthenaRun: runAttribution ran a query that is not a known check');
      statements.push({ name: known.name, kind: 'check', sql });
      // No rows: both checks pass, so runAttribution goes on to plan the rest.
      return [];
    },
  };
  const checks = Object.entries(RUN_CHECKS).map(([name, file]) => ({
    name,
    sql: renderAttributionSql(file, recorder, run),
  }));
  await runAttribution(recorder, run);
  return statements;
}

/**
 * DROP TABLE of every table a run creates, for after publish (and alerts): the catalog forgets the
 * run's tables, their Parquet files stay where the published partitions point.
 */
export function planAthenaCleanup(run: AttributionRun, options: AthenaRunPlanOptions): CleanupStatement[] {
  const layout = new AthenaRunLayout({ ...options, runId: run.runId });
  return ATTRIBUTION_STAGES.filter((stage) => !('inline' in stage))
    .reverse()
    .map((stage) => ({ name: stage.name, kind: 'drop' as const, sql: layout.dropTable(stage.name) }));
}
