import * as z from 'zod';
import { type AlertConfig, parseAlertConfig } from '../alerts/alert-config.ts';
import { bucketNameSchema, GLUE_NAME, glueNameSchema, WORKGROUP_NAME } from '../common/names.ts';

/**
 * A Lambda's environment is missing a variable or holds an invalid one. Raised while the module loads, so
 * the function fails on its first cold start (an INIT error in the logs) rather than on some later event.
 */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
  /** One line per variable: `NAME: problem`. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid Lambda configuration: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

/** Validators for the environment variables the pipeline's functions read. */
export const env = {
  /** An S3 bucket name (the lower-case rules of new buckets). */
  bucket: () => bucketNameSchema,
  /** A Glue database name, as Athena accepts it. */
  database: () => z.string().regex(GLUE_NAME, 'is not a Glue database name (a-z, 0-9, _)'),
  /** An Athena workgroup name. */
  workgroup: () => z.string().regex(WORKGROUP_NAME, 'is not an Athena workgroup name'),
  /** A DynamoDB table name. */
  table: () => z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, 'is not a DynamoDB table name'),
  /** An ARN of the given service. */
  arn: (service: string) =>
    z
      .string()
      .regex(new RegExp(`^arn:aws[a-z-]*:${service}:[a-z0-9-]+:\\d{12}:.+$`), `is not an ${service} ARN`),
  /** A JSON document (parsed). */
  json: () =>
    z.string().transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch (error: unknown) {
        ctx.addIssue({
          code: 'custom',
          message: `is not JSON (${error instanceof Error ? error.message : String(error)})`,
        });
        return z.NEVER;
      }
    }),
  /** Alert thresholds and routing as JSON (`{}` = the docs/alerts.md defaults), validated as `--alerts-config` is. */
  alertConfig: () =>
    env.json().transform((document, ctx): AlertConfig => {
      try {
        return parseAlertConfig(document, 'ALERT_CONFIG');
      } catch (error: unknown) {
        ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
        return z.NEVER;
      }
    }),
  /**
   * The Glue table of each deployed billing format, as JSON (`{"cur2":"cur2"}`): keys are format names
   * (passed in, so that this module stays free of the format registry), values Glue table names.
   */
  billingTables: <const Name extends string>(
    formatNames: readonly [Name, ...Name[]],
    fallback: Readonly<Partial<Record<Name, string>>>,
  ) =>
    z
      .string()
      .default(JSON.stringify(fallback))
      .pipe(env.json().pipe(z.partialRecord(z.enum(formatNames), glueNameSchema)))
      .transform((tables) => tables as Partial<Record<Name, string>>),
  /**
   * The export folder (`<curPrefix>/<export>`) each billing format's table reads, as JSON
   * (`{"cur2":"cur/cost-per-customer"}`); `{}` when unset (not checked).
   */
  billingExports: <const Name extends string>(formatNames: readonly [Name, ...Name[]]) =>
    z
      .string()
      .default('{}')
      .pipe(
        env.json().pipe(
          z.partialRecord(
            z.enum(formatNames),
            // One folder, or the folders of several source accounts' exports (a list).
            z
              .union([z.string().transform((folder) => [folder]), z.array(z.string()).min(1)])
              .pipe(
                z.array(
                  z
                    .string()
                    .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, 'is not an S3 folder (prefix/export)'),
                ),
              ),
          ),
        ),
      )
      .transform((folders) => folders as Partial<Record<Name, readonly string[]>>),
  /** A positive integer given as text, with a default. */
  positiveInt: (fallback: number) => z.coerce.number().int().positive().default(fallback),
} as const;

/**
 * Reads and validates a function's configuration from the environment, once, at module load.
 *
 * @param schema the variables, by name, each with its validator (see {@link env})
 * @param source the environment. @default process.env
 * @throws ConfigurationError naming every missing or invalid variable (never its value: some are ARNs of
 *   resources in the account, none are secrets, but a log line need not carry them)
 */
export function readConfig<T extends z.ZodRawShape>(
  schema: T,
  source: Readonly<Record<string, string | undefined>> = process.env,
): z.infer<z.ZodObject<T>> {
  const result = z.object(schema).safeParse(source);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.length > 0 ? issue.path.join('.') : '(environment)';
    const missing = issue.code === 'invalid_type' && source[String(issue.path[0])] === undefined;
    return `${name}: ${missing ? 'is not set' : issue.message}`;
  });
  throw new ConfigurationError(problems);
}
