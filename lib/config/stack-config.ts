import type { Node } from 'constructs';
import * as z from 'zod';
import {
  type AlertConfig,
  type AlertConfigInput,
  alertConfigSchema,
  DEFAULT_ALERT_CONFIG,
} from '../alerts/alert-config.ts';
import { COST_BASES, type CostBasis } from '../attribution/rules.ts';
import { GLUE_NAME, WORKGROUP_NAME } from '../common/names.ts';
import {
  type CloudWatchSource,
  type CloudWatchSourceInput,
  cloudWatchSourcesSchema,
} from '../inputs/cloudwatch-sources.ts';
import { type BillingExportConfig, FURTHER_EXPORT_FORMATS } from './billing-exports.ts';

/**
 * Everything a user sets for the deployed pipeline (docs/aws-pipeline.md, "Configuration"). These are the
 * props of the `CostPerCustomer` construct; `bin/app.ts` reads them from `cdk.json` context, where each
 * key is the field name prefixed with `cpc:` (for example `cpc:tenantTagKey`).
 */
export interface CostPerCustomerConfig {
  /**
   * The cost allocation tag that carries the tenant id on AWS resources (docs/attribution.md 1.1).
   * @default 'tenant_id'
   */
  readonly tenantTagKey?: string;
  /**
   * Which cost the attribution uses (docs/attribution.md 2): `amortized`, `net_amortized` or `unblended`.
   * @default 'amortized'
   */
  readonly costBasis?: CostBasis;
  /**
   * Create the CUR 2.0 export (AWS Data Exports) that delivers into the CUR bucket. Leave false when an
   * export already exists (point it at the CUR bucket, `curPrefix` and `curExportName`).
   * @default false
   */
  readonly createCurExport?: boolean;
  /**
   * Create the telemetry stream: a Firehose Direct PUT stream that files usage records under
   * `telemetry/usage_day=YYYY-MM-DD/stream/` (docs/aws-pipeline.md, "Getting telemetry in"). It costs
   * nothing while nothing is sent.
   * @default true
   */
  readonly telemetryStream?: boolean;
  /**
   * CloudWatch metrics that carry the tenant in a dimension, read every day into the telemetry layout
   * (lib/pipeline/cloudwatch-telemetry.ts): `[{source, namespace, metricName, tenantDimension,
   * statistic, metric}]`. None: no reader is created.
   * @default []
   */
  readonly telemetryCloudWatch?: readonly CloudWatchSourceInput[];
  /**
   * Name of the CUR 2.0 export; also the second path segment of its files
   * (`<curPrefix>/<curExportName>/data/BILLING_PERIOD=YYYY-MM/`).
   * @default 'cost-per-customer'
   */
  readonly curExportName?: string;
  /**
   * Further existing exports in the CUR bucket, under the same `curPrefix`, each read through a Glue
   * table of its format: a FOCUS 1.0 export of AWS Data Exports (`format: "focus"`, Parquet), or a
   * legacy Cost and Usage Report (`format: "legacy"`, `exportName` = its report name; Athena-integration
   * Parquet or the CSV delivery). At most one per format; names unique, `curExportName` included.
   * @default [] (only the CUR 2.0 export)
   */
  readonly billingExports?: readonly BillingExportConfig[];
  /**
   * S3 prefix of the export inside the CUR bucket, without leading or trailing slash.
   * @default 'cur'
   */
  readonly curPrefix?: string;
  /**
   * The accounts whose CUR 2.0 exports deliver into this stack's CUR bucket: the management (payer)
   * account of each AWS Organization, whose CUR 2.0 covers its member accounts, or member accounts.
   * Each creates its export with the source-account stack (bin/source-account.ts), into
   * `<curPrefix>/<account>/<curExportName>/`; a run of a billing period reads every account's latest
   * delivery, so the period's results are the accounts' together. The stack then reads those folders
   * only, not `<curPrefix>/<curExportName>/` (so not with `createCurExport`).
   * @default [] (this account's export only)
   */
  readonly sourceAccountIds?: readonly string[];
  /**
   * The Secrets Manager secret (complete ARN) holding a Stripe API key that may read subscriptions:
   * with it, a daily function syncs MRR, tier and plan status from Stripe into the customer dimension
   * (docs/aws-pipeline.md, "MRR from Stripe"). None: no sync.
   * @default none
   */
  readonly stripeSecretArn?: string;
  /**
   * Athena bytes-scanned cutoff per query, in bytes; a query that would scan more is cancelled.
   * Athena's minimum is 10,000,000 bytes (10 MB).
   * @default 10737418240 (10 GiB)
   */
  readonly bytesScannedCutoffPerQuery?: number;
  /**
   * How long the serving table keeps an item after it was written (DynamoDB TTL on `expires_at`): old
   * serving versions and tombstones expire; the visible run's items are rewritten by each run only when
   * they change, so keep this longer than a billing period is looked at.
   * @default 400 (days)
   */
  readonly servingRetentionDays?: number;
  /**
   * What happens to data (buckets, the serving table, the KMS key) when the stack is deleted:
   * `retain` keeps it, `destroy` deletes it, including the objects in the buckets.
   * @default 'retain'
   */
  readonly removalPolicy?: 'retain' | 'destroy';
  /**
   * Alert thresholds, routing (service owners, default team) and renotify period: the same settings,
   * names and defaults as the local `--alerts-config` file (see the README, "Alerts").
   * @default - the docs/alerts.md defaults
   */
  readonly alerts?: AlertConfigInput;
  /**
   * Slack workspace (team) id for AWS Chatbot, such as `T0123ABCD`. Give it together with
   * `slackChannelId` to subscribe a Slack channel to the alert topic; the workspace must already be
   * authorized in the AWS Chatbot console.
   * @default - no Slack channel
   */
  readonly slackWorkspaceId?: string;
  /**
   * Slack channel id, such as `C0123ABCD`. Give it together with `slackWorkspaceId`.
   * @default - no Slack channel
   */
  readonly slackChannelId?: string;
  /**
   * Name of the Glue database (lower case letters, digits and `_`).
   * @default - the stack name in snake case, such as `cost_per_customer`
   */
  readonly databaseName?: string;
  /**
   * Name of the Athena workgroup.
   * @default - the stack name
   */
  readonly workgroupName?: string;
  /**
   * Who may assume the finance reader role (docs/aws-pipeline.md, "Finance access"): 12-digit AWS
   * account ids (that account's IAM then decides who) or IAM ARNs
   * `arn:aws:iam::<account>:role/<name>`, `...:user/<name>` or `...:root`. Each must exist at deploy.
   * The finance reader policy is created either way.
   * @default [] (no role, only the policy)
   */
  readonly financeReaderPrincipals?: readonly string[];
}

/**
 * The configuration with every default applied, as the constructs consume it. It is itself a valid
 * CostPerCustomerConfig, so resolving twice gives the same result.
 */
export interface ResolvedConfig extends CostPerCustomerConfig {
  readonly tenantTagKey: string;
  readonly costBasis: CostBasis;
  readonly createCurExport: boolean;
  readonly telemetryStream: boolean;
  readonly telemetryCloudWatch: readonly CloudWatchSource[];
  readonly curExportName: string;
  readonly curPrefix: string;
  readonly sourceAccountIds: readonly string[];
  readonly billingExports: readonly BillingExportConfig[];
  readonly bytesScannedCutoffPerQuery: number;
  readonly servingRetentionDays: number;
  readonly removalPolicy: 'retain' | 'destroy';
  readonly alerts: AlertConfig;
  readonly financeReaderPrincipals: readonly string[];
}

/** Athena refuses a bytes-scanned cutoff below 10 MB. */
export const ATHENA_MIN_BYTES_SCANNED_CUTOFF = 10_000_000;

/** 10 GiB: a month of CUR 2.0 for a mid-size account scans well under this with column pruning. */
export const DEFAULT_BYTES_SCANNED_CUTOFF = 10 * 1024 ** 3;

/** Prefix of every configuration key in `cdk.json` context. */
export const CONTEXT_PREFIX = 'cpc:';

/** Context key of the stack name (an app setting, not a construct prop). */
export const STACK_NAME_CONTEXT_KEY = `${CONTEXT_PREFIX}stackName`;

export const DEFAULT_STACK_NAME = 'CostPerCustomer';

/** A configuration that cannot be used; the message lists every problem found. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

// Values from `cdk -c key=value` arrive as strings; cdk.json gives real JSON types. Accept both.
const fromText = (parse: (text: string) => unknown) => (value: unknown) => {
  if (typeof value !== 'string') return value;
  try {
    return parse(value.trim());
  } catch {
    return value;
  }
};
const numberFromText = fromText((text) =>
  /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : text,
);
const booleanFromText = fromText((text) => (text === 'true' ? true : text === 'false' ? false : text));
const jsonFromText = fromText((text) => JSON.parse(text));

// AWS tag keys: letters, digits, spaces and _ . : / = + - @, at most 128 characters, not aws: prefixed.
const TAG_KEY = /^[\p{L}\p{N} _.:/=+\-@]{1,128}$/u;
// Data Exports names: letters, digits, - and _ (it is also an S3 path segment and Glue location).
const EXPORT_NAME = /^[A-Za-z0-9_-]{1,128}$/;
// S3 key segments that need no escaping in a Glue location or an IAM ARN.
const S3_PREFIX = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;
const SLACK_ID = /^[A-Z0-9]{1,255}$/;
// Who may assume the finance reader role: an account id, or a role, user or root ARN of an account
// (path allowed before a role or user name; IAM's name characters).
const ACCOUNT_ID = /^\d{12}$/;
const IAM_PRINCIPAL_ARN =
  /^arn:aws(-cn|-us-gov)?:iam::\d{12}:(root|(role|user)\/([\w+=,.@-]+\/)*[\w+=,.@-]{1,128})$/;
// `-c cpc:financeReaderPrincipals=...` gives a string: a JSON list, or ids and ARNs separated by commas
// (not JSON.parse'd, which would turn an account id into a number).
const listFromText = (value: unknown) => {
  if (typeof value !== 'string') return value;
  const text = value.trim();
  if (text.startsWith('[')) return jsonFromText(text);
  return text === '' ? [] : text.split(',').map((item) => item.trim());
};

const configSchema = z
  .object({
    tenantTagKey: z
      .string({ error: 'must be a string' })
      .regex(TAG_KEY, 'must be a valid AWS tag key (1-128 letters, digits, spaces, _ . : / = + - @)')
      .refine((key) => !key.toLowerCase().startsWith('aws:'), 'cannot use the reserved aws: prefix')
      .default('tenant_id'),
    costBasis: z.enum(COST_BASES, { error: `must be one of ${COST_BASES.join(', ')}` }).default('amortized'),
    createCurExport: z
      .preprocess(booleanFromText, z.boolean({ error: 'must be true or false' }))
      .default(false),
    telemetryStream: z
      .preprocess(booleanFromText, z.boolean({ error: 'must be true or false' }))
      .default(true),
    telemetryCloudWatch: z.preprocess(jsonFromText, cloudWatchSourcesSchema).default([]),
    curExportName: z
      .string({ error: 'must be a string' })
      .regex(EXPORT_NAME, 'must be 1-128 letters, digits, - or _')
      .default('cost-per-customer'),
    billingExports: z
      .preprocess(
        jsonFromText,
        z.array(
          z
            .object({
              format: z.enum(FURTHER_EXPORT_FORMATS, {
                error: `must be one of ${FURTHER_EXPORT_FORMATS.join(', ')} (the CUR 2.0 export is curExportName)`,
              }),
              exportName: z
                .string({ error: 'must be a string' })
                .regex(EXPORT_NAME, 'must be 1-128 letters, digits, - or _'),
            })
            .strict(),
          { error: 'must be a list of { "format": ..., "exportName": ... }' },
        ),
      )
      .default([]),
    curPrefix: z
      .string({ error: 'must be a string' })
      .regex(S3_PREFIX, 'must be S3 path segments of letters, digits, _ . - without leading or trailing /')
      .max(256, 'must be at most 256 characters')
      .default('cur'),
    sourceAccountIds: z
      .preprocess(
        listFromText,
        z
          .array(
            z.string({ error: 'must be a string' }).regex(ACCOUNT_ID, 'must be a 12-digit AWS account id'),
            {
              error: 'must be a list of 12-digit AWS account ids',
            },
          )
          .max(50, 'takes at most 50 accounts')
          .refine((ids) => new Set(ids).size === ids.length, 'names an account twice'),
      )
      .default([]),
    stripeSecretArn: z
      .string({ error: 'must be a string' })
      .regex(
        /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/,
        'must be the complete ARN of a Secrets Manager secret (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<suffix>)',
      )
      .optional(),
    bytesScannedCutoffPerQuery: z
      .preprocess(
        numberFromText,
        z
          .number({ error: 'must be a number of bytes' })
          .int('must be a whole number of bytes')
          .min(
            ATHENA_MIN_BYTES_SCANNED_CUTOFF,
            `must be at least ${ATHENA_MIN_BYTES_SCANNED_CUTOFF} (Athena's 10 MB minimum)`,
          )
          .max(Number.MAX_SAFE_INTEGER, 'is too large'),
      )
      .default(DEFAULT_BYTES_SCANNED_CUTOFF),
    servingRetentionDays: z
      .preprocess(
        numberFromText,
        z
          .number({ error: 'must be a number of days' })
          .int('must be a whole number of days')
          .min(32, 'must be at least 32 (a billing period and a day)')
          .max(3650, 'must be at most 3650 (ten years)'),
      )
      .default(400),
    removalPolicy: z
      .enum(['retain', 'destroy'], { error: 'must be "retain" or "destroy"' })
      .default('retain'),
    alerts: z.preprocess(jsonFromText, alertConfigSchema).default(DEFAULT_ALERT_CONFIG),
    slackWorkspaceId: z
      .string({ error: 'must be a string' })
      .regex(SLACK_ID, 'must be a Slack workspace id such as T0123ABCD')
      .optional(),
    slackChannelId: z
      .string({ error: 'must be a string' })
      .regex(SLACK_ID, 'must be a Slack channel id such as C0123ABCD')
      .optional(),
    databaseName: z
      .string({ error: 'must be a string' })
      .regex(GLUE_NAME, 'must be lower case letters, digits and _')
      .optional(),
    workgroupName: z
      .string({ error: 'must be a string' })
      .regex(WORKGROUP_NAME, 'must be 1-128 letters, digits, . _ or -')
      .optional(),
    financeReaderPrincipals: z
      .preprocess(
        listFromText,
        z
          .array(
            z
              .string({ error: 'must be a string' })
              .refine(
                (principal) => ACCOUNT_ID.test(principal) || IAM_PRINCIPAL_ARN.test(principal),
                'must be a 12-digit AWS account id or an IAM ARN arn:aws:iam::<account>:role/<name>, :user/<name> or :root',
              ),
            { error: 'must be a list of AWS account ids or IAM role/user ARNs' },
          )
          .refine((list) => new Set(list).size === list.length, 'must not name a principal twice'),
      )
      .default([]),
  })
  .strict()
  .superRefine((config, ctx) => {
    const names = new Map<string, string>([[config.curExportName, 'curExportName']]);
    const formats = new Set<string>();
    config.billingExports.forEach((billingExport, index) => {
      const earlier = names.get(billingExport.exportName);
      if (earlier !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['billingExports', index, 'exportName'],
          message: `${billingExport.exportName} is already the name of ${earlier}`,
        });
      }
      if (formats.has(billingExport.format)) {
        ctx.addIssue({
          code: 'custom',
          path: ['billingExports', index, 'format'],
          message: `a second ${billingExport.format} export: each format is read through one Glue table, so at most one export of it`,
        });
      }
      names.set(billingExport.exportName, `billingExports.${index}`);
      formats.add(billingExport.format);
    });
    if (config.createCurExport && config.sourceAccountIds.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['createCurExport'],
        message:
          'cannot be true with sourceAccountIds: the stack then reads the source accounts’ folders only; ' +
          'to include this account, list it in sourceAccountIds and deploy the source-account stack here too',
      });
    }
    if ((config.slackWorkspaceId === undefined) !== (config.slackChannelId === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [config.slackWorkspaceId === undefined ? 'slackWorkspaceId' : 'slackChannelId'],
        message: 'slackWorkspaceId and slackChannelId must be given together (or neither)',
      });
    }
  });

function describeIssues(error: z.ZodError, keyPrefix: string): string {
  return error.issues
    .map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        const parent = issue.path.map(String).join('.');
        return issue.keys
          .map((key) => `${keyPrefix}${parent === '' ? key : `${parent}.${key}`}: unknown setting`)
          .join('\n  ');
      }
      const where = issue.path.map(String).join('.');
      return where === '' ? issue.message : `${keyPrefix}${where}: ${issue.message}`;
    })
    .join('\n  ');
}

/**
 * Validates a configuration and applies the defaults. Throws a ConfigError that names every bad
 * setting, so a deploy fails before anything is created.
 *
 * @param input construct props or settings read from context
 * @param source where the settings came from, for the error message
 * @param keyPrefix how a setting is named in that source (`cpc:` for context)
 */
export function resolveConfig(
  input: unknown,
  source = 'CostPerCustomer props',
  keyPrefix = '',
): ResolvedConfig {
  const result = configSchema.safeParse(input ?? {});
  if (!result.success) {
    throw new ConfigError(`Invalid ${source}:\n  ${describeIssues(result.error, keyPrefix)}`);
  }
  const config: ResolvedConfig = result.data;
  // Leave out absent optional fields rather than carrying `undefined` values.
  return Object.fromEntries(
    Object.entries(config).filter(([, value]) => value !== undefined),
  ) as ResolvedConfig;
}

/** What `bin/app.ts` needs from context: the stack name and the validated configuration. */
export interface AppSettings {
  readonly stackName: string;
  readonly config: ResolvedConfig;
}

/**
 * Reads the `cpc:*` keys of the CDK context (cdk.json, `cdk.context.json` and `-c key=value`), rejects
 * unknown `cpc:` keys (a typo would otherwise silently keep a default) and validates the values.
 */
export function settingsFromContext(node: Node): AppSettings {
  const all = node.getAllContext() as Record<string, unknown>;
  const input: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(all)) {
    if (!key.startsWith(CONTEXT_PREFIX) || key === STACK_NAME_CONTEXT_KEY) continue;
    input[key.slice(CONTEXT_PREFIX.length)] = value;
  }
  const stackName = all[STACK_NAME_CONTEXT_KEY] ?? DEFAULT_STACK_NAME;
  if (typeof stackName !== 'string' || !/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName)) {
    throw new ConfigError(
      `Invalid cdk.json context:\n  ${STACK_NAME_CONTEXT_KEY}: must start with a letter and contain only letters, digits and -`,
    );
  }
  return { stackName, config: resolveConfig(input, 'cdk.json context', CONTEXT_PREFIX) };
}
