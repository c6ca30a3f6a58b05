/**
 * **create-finance-views**: the `onEvent` handler of the custom resource that creates the finance views
 * in Athena at deploy time, so finance can query them right after `cdk deploy`. Input, output, errors,
 * environment, metrics and permissions: lambdas/README.md. The work is in
 * lib/pipeline/create-finance-views.ts.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { AthenaClient } from '@aws-sdk/client-athena';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import * as z from 'zod';
import { FINANCE_VIEW_NAMES } from '../lib/finance/finance-registry.ts';
import { env, readConfig } from '../lib/pipeline/config.ts';
import {
  applyParsedFinanceViews,
  type FinanceViewsResponse,
  parseFinanceViewsRequest,
  publishedViewRef,
  type ViewEngine,
} from '../lib/pipeline/create-finance-views.ts';
import { RESULT_TABLES } from '../lib/sql/tables.ts';
import { athenaEngine } from './commons/athena-engine.ts';
import { observability } from './commons/observability.ts';

const SERVICE = 'create-finance-views';
const config = readConfig({
  WORKGROUP: env.workgroup(),
  RESULTS_BUCKET: env.bucket(),
  ATHENA_MAX_WAIT_SECONDS: env.positiveInt(60),
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1).default('CostPerCustomer'),
});

const { metrics, tracer, log, wrap } = observability(SERVICE, config.POWERTOOLS_METRICS_NAMESPACE);
const athena = tracer.captureAWSv3Client(new AthenaClient({}));

/**
 * Athena over the published views of `database`: statements run in the workgroup, results resolve to
 * the published views, the customers to the engine's typed table. The run id only names run tables,
 * which views never create.
 */
function engineFor(database: string): ViewEngine {
  const engine = athenaEngine(athena, config, { database, runId: SERVICE });
  return { run: (sql) => engine.run(sql), tableRef: publishedViewRef(database, engine.tableRef) };
}

export const lambdaHandler = async (
  event: CloudFormationCustomResourceEvent,
): Promise<FinanceViewsResponse> => {
  const response = await applyParsedFinanceViews(parseFinanceViewsRequest(event), { engineFor, logger: log });
  if (event.RequestType !== 'Delete') {
    metrics.addMetric('FinanceViewsCreated', MetricUnit.Count, FINANCE_VIEW_NAMES.length);
    metrics.addMetric('PublishedViewsCreated', MetricUnit.Count, RESULT_TABLES.length);
  }
  return response;
};

export const handler = wrap(lambdaHandler);
