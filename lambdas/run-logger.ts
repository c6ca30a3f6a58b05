import type { Logger } from '@aws-lambda-powertools/logger';
import type { RunLogger } from '../lib/pipeline/start-run.ts';

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
