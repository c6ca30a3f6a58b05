import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { RunLogger } from '../../lib/pipeline/start-run.ts';

/**
 * The cores' logging seam over Powertools' Logger. Its `info(message, ...attributes[])` takes a rest
 * array, which TypeScript does not accept for `RunLogger`'s optional second parameter; this passes an
 * attributes object through only when there is one.
 */
export function runLogger(logger: Logger): RunLogger {
  return {
    info: (message, attributes) =>
      attributes === undefined ? logger.info(message) : logger.info(message, attributes),
    warn: (message, attributes) =>
      attributes === undefined ? logger.warn(message) : logger.warn(message, attributes),
  };
}

/**
 * Powertools logger, metrics and tracer for one function, created once at module load, and `wrap`, the
 * middy chain every handler uses (Lambda context in logs, metrics flushed, the invocation traced).
 */
export function observability(serviceName: string, namespace: string) {
  const logger = new Logger({ serviceName });
  const metrics = new Metrics({ namespace, serviceName });
  const tracer = new Tracer({ serviceName });
  /** `captureResponse: false` keeps a large response (prepare-run's SQL) out of the trace segment. */
  const wrap = <TEvent, TResult>(
    handler: (event: TEvent, context: Context) => Promise<TResult>,
    { captureResponse = true }: { captureResponse?: boolean } = {},
  ) =>
    middy(handler)
      .use(injectLambdaContext(logger))
      .use(logMetrics(metrics))
      .use(captureLambdaHandler(tracer, { captureResponse }));
  return { logger, metrics, tracer, log: runLogger(logger), wrap };
}
