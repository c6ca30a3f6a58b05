/**
 * **write-report**: writes a run's HTML report next to its results and, when the period's pointer names
 * the run, as its billing period's report under `reports/`. Input, output, environment, metrics and permissions: lambdas/README.md.
 * The work is in lib/pipeline/write-report.ts.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { AthenaClient } from '@aws-sdk/client-athena';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { env, readConfig } from '../lib/pipeline/config.ts';
import { parseInput } from '../lib/pipeline/run-contract.ts';
import {
  type WriteRunReportResult,
  writeReportInputSchema,
  writeRunReport,
} from '../lib/pipeline/write-report.ts';
import { athenaEngine } from './commons/athena-engine.ts';
import { observability } from './commons/observability.ts';

const SERVICE = 'write-report';
const config = readConfig({
  DATABASE: env.database(),
  WORKGROUP: env.workgroup(),
  RESULTS_BUCKET: env.bucket(),
  TABLE_NAME: env.table(),
  ATHENA_MAX_WAIT_SECONDS: env.positiveInt(120),
  // The alert configuration's unit-cost targets alone (`{"unitCostTargets":[...]}`), validated as the
  // whole configuration is: the report measures each month against them.
  UNIT_COST_TARGETS: env.alertConfig(),
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1).default('CostPerCustomer'),
});

const { metrics, tracer, log, wrap } = observability(SERVICE, config.POWERTOOLS_METRICS_NAMESPACE);
const athena = tracer.captureAWSv3Client(new AthenaClient({}));
const s3 = tracer.captureAWSv3Client(new S3Client({}));
const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient({}));

export const lambdaHandler = async (event: unknown): Promise<WriteRunReportResult> => {
  const input = parseInput(writeReportInputSchema, event, 'write-report input');
  const { runId, billingPeriod } = input;
  const runResults = athenaEngine(athena, config, { database: config.DATABASE, runId, billingPeriod });
  const result = await writeRunReport(input, {
    runResults,
    s3,
    pointers: { dynamodb, tableName: config.TABLE_NAME },
    resultsBucket: config.RESULTS_BUCKET,
    unitCostTargets: config.UNIT_COST_TARGETS.unitCostTargets,
    logger: log,
  });
  metrics.addMetric('ReportsWritten', MetricUnit.Count, result.keys.length);
  metrics.addMetric('ReportBytes', MetricUnit.Bytes, result.bytes);
  return result;
};

export const handler = wrap(lambdaHandler);
