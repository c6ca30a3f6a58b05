import { createHash } from 'node:crypto';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import * as z from 'zod';
import { GLUE_NAME } from '../common/names.ts';
import {
  createFinanceViewStatements,
  FINANCE_VIEW_NAMES,
  type FinanceViewStatement,
  financeViewRef,
} from '../finance/finance-registry.ts';
import { sqlIdentifier } from '../sql/sql-template.ts';
import { isResultTable, RESULT_TABLES } from '../sql/tables.ts';
import { createPublishedViewStatements } from './published-views.ts';
import { parseInput } from './run-contract.ts';
import type { RunLogger } from './start-run.ts';

/**
 * The published views and the finance views in Athena (docs/finance.md: "every view exists after
 * deploy"). A CloudFormation custom resource first runs `CREATE OR REPLACE VIEW` for the four published
 * views in the results database (lib/pipeline/published-views.ts: each result's `_runs` table joined to
 * `published_runs`, so a query sees the visible run of each period), then for each view of the finance
 * registry in its own database, over those published views: Athena works out the views' columns and types itself, from the same SQL the
 * local `cpc query` runs. Finance views live in their own database because `unattributed_cost` names a
 * view and a results table alike.
 */

const glueName = z.string().regex(GLUE_NAME, 'is not a Glue database name (a-z, 0-9, _)');

/** The custom resource's properties, as CloudFormation passes them (every value a string). */
export const financeViewsPropertiesSchema = z.object({
  /** Database of the published results tables and the customers table. */
  Database: glueName,
  /** Database the views are created in. */
  FinanceDatabase: glueName,
  /** {@link financeViewsFingerprint}: changes whenever a view's SQL does, so CloudFormation updates. */
  Fingerprint: z.string().min(1),
  /** Drop the views when the resource is deleted (the stack's removal policy is `destroy`). */
  DropOnDelete: z.enum(['true', 'false']),
});
export type FinanceViewsProperties = z.infer<typeof financeViewsPropertiesSchema>;

export function dropFinanceViewStatements(financeDatabase: string): FinanceViewStatement[] {
  return FINANCE_VIEW_NAMES.map((view) => ({
    view,
    sql: `DROP VIEW IF EXISTS ${financeViewRef(view, financeDatabase)}`,
  }));
}

/** The published views, dropped after the finance views that read them. */
export function dropPublishedViewStatements(database: string): { view: string; sql: string }[] {
  return RESULT_TABLES.map((view) => ({
    view,
    sql: `DROP VIEW IF EXISTS ${sqlIdentifier(database).sql}.${sqlIdentifier(view).sql}`,
  }));
}

/**
 * Where the finance views read a table: a result is its published view in `database`
 * (`"db"."customer_daily_cost"`), an input is the engine's (the typed customers).
 */
export function publishedViewRef(database: string, inputs: (table: string) => string) {
  return (table: string): string =>
    isResultTable(table) ? `${sqlIdentifier(database).sql}.${sqlIdentifier(table).sql}` : inputs(table);
}

/** A digest of every view's SQL (with stand-in table references): the resource updates when it changes. */
export function financeViewsFingerprint(): string {
  const statements = [
    ...createPublishedViewStatements('results'),
    ...createFinanceViewStatements('finance', (table) => `"results"."${table}"`),
  ];
  const digest = createHash('sha256');
  for (const statement of statements) digest.update(statement.sql).update('\0');
  return digest.digest('hex').slice(0, 32);
}

/** What the resource needs of an engine over one database of published results. */
export interface ViewEngine {
  /** Runs one DDL statement to completion (AthenaEngine.run). */
  run(sql: string): Promise<void>;
  /** `"db"."customer_daily_cost"` (the published view) for a result, the typed customers for `customers`. */
  tableRef(table: string): string;
}

export interface ApplyFinanceViewsOptions {
  /** The engine over the published results of a (validated) database. */
  readonly engineFor: (database: string) => ViewEngine;
  readonly logger?: RunLogger;
}

export interface FinanceViewsResponse {
  readonly PhysicalResourceId: string;
  readonly Data: { readonly Views: string };
}

/**
 * The custom resource's event handler (CDK Provider framework `onEvent`): Create and Update create or
 * replace every view (the published ones first: the finance views read them); Delete drops them only when `DropOnDelete` is `"true"` (by default the stack
 * retains what it made, like its data). The physical id is the finance database, so moving the views
 * to another database makes CloudFormation delete the old resource after creating the new one.
 *
 * @throws PipelineInputError for properties that are not {@link financeViewsPropertiesSchema}
 * @throws AthenaQueryError when a statement fails (the deployment fails and rolls back)
 */
export async function applyFinanceViews(
  event: CloudFormationCustomResourceEvent,
  options: ApplyFinanceViewsOptions,
): Promise<FinanceViewsResponse> {
  return applyParsedFinanceViews(parseFinanceViewsRequest(event), options);
}

/** A custom resource event with its properties validated. */
export interface FinanceViewsRequest {
  readonly requestType: CloudFormationCustomResourceEvent['RequestType'];
  /** The physical id CloudFormation holds (absent on Create). */
  readonly physicalResourceId?: string;
  readonly properties: FinanceViewsProperties;
}

/**
 * Parses the custom resource event once (the handler's step).
 * @throws PipelineInputError for properties that are not {@link financeViewsPropertiesSchema}
 */
export function parseFinanceViewsRequest(event: CloudFormationCustomResourceEvent): FinanceViewsRequest {
  return {
    requestType: event.RequestType,
    ...('PhysicalResourceId' in event ? { physicalResourceId: event.PhysicalResourceId } : {}),
    properties: parseInput(
      financeViewsPropertiesSchema,
      event.ResourceProperties,
      'finance views properties',
    ),
  };
}

/** {@link applyFinanceViews} on a parsed request. */
export async function applyParsedFinanceViews(
  request: FinanceViewsRequest,
  options: ApplyFinanceViewsOptions,
): Promise<FinanceViewsResponse> {
  const { properties } = request;
  const engine = options.engineFor(properties.Database);
  const views = FINANCE_VIEW_NAMES.join(',');
  if (request.requestType === 'Delete') {
    if (properties.DropOnDelete === 'true') {
      for (const statement of dropFinanceViewStatements(properties.FinanceDatabase)) {
        await engine.run(statement.sql);
      }
      for (const statement of dropPublishedViewStatements(properties.Database)) {
        await engine.run(statement.sql);
      }
      options.logger?.info('Finance views dropped', { database: properties.FinanceDatabase });
    }
    return {
      PhysicalResourceId: request.physicalResourceId ?? properties.FinanceDatabase,
      Data: { Views: views },
    };
  }
  for (const statement of createPublishedViewStatements(properties.Database)) {
    await engine.run(statement.sql);
    options.logger?.info('Published view created', { view: statement.view, database: properties.Database });
  }
  const tableRef = (table: string) => engine.tableRef(table);
  for (const statement of createFinanceViewStatements(properties.FinanceDatabase, tableRef)) {
    await engine.run(statement.sql);
    options.logger?.info('Finance view created', {
      view: statement.view,
      database: properties.FinanceDatabase,
    });
  }
  return { PhysicalResourceId: properties.FinanceDatabase, Data: { Views: views } };
}
