import type { RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { AlertConfig } from '../alerts/alert-config.ts';
import type { CostBasis } from '../attribution/rules.ts';
import { CUSTOMERS_KEY, PREFIXES, RULES_KEY } from '../common/names.ts';
import { type BillingExport, billingExportsOf, exportFolders } from '../config/billing-exports.ts';
import {
  itemStatement,
  keyStatement,
  listStatement,
  objectStatement,
  S3_READ,
  S3_WRITE,
} from './access-statements.ts';
import { resultRunsTableName } from './catalog.ts';
import type { PipelineAccess } from './pipeline-access.ts';
import {
  PIPELINE_TIMEOUTS,
  PipelineFunction,
  type PipelineFunctionName,
  type PipelineFunctionProps,
} from './pipeline-function.ts';
import { SERVING_TABLE_KEYS } from './serving-table.ts';

/** The part of the product configuration the pipeline reads. */
export interface RunPipelineConfig {
  /** Prefix of the CUR export in the CUR bucket, without slashes at either end. */
  readonly curPrefix: string;
  /** Name of the CUR 2.0 export (the folder under `curPrefix`). */
  readonly curExportName: string;
  /** The cost allocation tag that carries the tenant id. */
  readonly tenantTagKey: string;
  /** Which cost the attribution uses. */
  readonly costBasis: CostBasis;
  /** Alert thresholds and routing, passed to evaluate-alerts as `ALERT_CONFIG`. */
  readonly alerts: AlertConfig;
  /**
   * Days a serving item lives after it was written (its `expires_at`), passed to load-serving-table as
   * `SERVING_RETENTION_DAYS`.
   * @default 400
   */
  readonly servingRetentionDays?: number;
}

/** What the run's functions read, write and are configured with. */
export interface RunFunctionsProps {
  /** The bucket AWS Data Exports delivers CUR 2.0 into. */
  readonly curBucket: s3.IBucket;
  /** The bucket with `telemetry/`, `customers/` and `rules/`. */
  readonly dataBucket: s3.IBucket;
  /** The bucket runs write their Parquet into (`runs/`). */
  readonly resultsBucket: s3.IBucket;
  /** The bucket of the workgroup's query results (`athena/`). */
  readonly queryResultsBucket: s3.IBucket;
  /** The key the functions' log groups are encrypted with. */
  readonly encryptionKey: kms.IKey;
  readonly databaseName: string;
  readonly workgroupName: string;
  /** The serving table (period pointers, deliveries, serving items, alert sent-state). */
  readonly servingTable: dynamodb.ITable;
  /** Topic of cost alerts. */
  readonly alertTopic: sns.ITopic;
  readonly config: RunPipelineConfig;
  /**
   * The exports read, each through its format's Glue table (lib/config/billing-exports.ts).
   * @default the CUR 2.0 export `config.curExportName`
   */
  readonly billingExports?: readonly BillingExport[];
  /** @default RemovalPolicy.RETAIN (of the log groups) */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The functions of a run (create-finance-views runs at deploy time, in FinanceViews; cloudwatch-telemetry
 * feeds the telemetry layout, in CloudWatchTelemetry).
 */
export type RunStepName = Exclude<
  PipelineFunctionName,
  'create-finance-views' | 'cloudwatch-telemetry' | 'stripe-mrr'
>;

/**
 * The functions the state machine invokes: every run step but on-delivery (starts it), on-input (asks
 * on-delivery for re-runs) and run-watch (watches).
 */
export type StateMachineStepName = Exclude<RunStepName, 'on-delivery' | 'run-watch' | 'on-input'>;

/** The leading keys of the serving table's items (lambdas/README.md, "What each step writes"). */
export const SERVING_ITEM_KEYS = {
  /** The period pointers: which run is visible, and the lease. */
  pointer: 'PUBLISHED#*',
  /** Daily and month-to-date serving items. */
  customer: 'CUSTOMER#*',
  /** Alert sent-state. */
  alert: 'ALERT#*',
  /** What on-delivery recorded of each delivery (run-watch reads it). */
  delivery: 'DELIVERY#*',
} as const;

/** `load-serving-table` -> `LoadServingTable`: construct ids are PascalCase. */
function pascal(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/** A run function in `scope` (the RunPipeline: ids and logical ids stay those of one construct). */
function runFunction(
  scope: Construct,
  props: RunFunctionsProps,
  name: RunStepName,
  memorySize: number,
  environment: Record<string, string>,
  extra: Partial<PipelineFunctionProps> = {},
): PipelineFunction {
  return new PipelineFunction(scope, `${pascal(name)}Function`, {
    handlerName: name,
    memorySize,
    timeout: PIPELINE_TIMEOUTS[name],
    environment,
    encryptionKey: props.encryptionKey,
    ...(props.removalPolicy ? { removalPolicy: props.removalPolicy } : {}),
    ...extra,
  });
}

/**
 * The statements a function's role gets, written out (lambdas/README.md, "Permissions"): S3 actions on
 * named prefixes, listing only under them, DynamoDB actions only on the items of the leading keys the
 * function owns, and the stack key for reading or writing what those services encrypt with it.
 */
class FunctionGrants {
  private keyUse: 'read' | 'write' | undefined;

  constructor(
    private readonly fn: PipelineFunction,
    private readonly props: RunFunctionsProps,
  ) {}

  objects(sid: string, bucket: s3.IBucket, actions: readonly string[], patterns: readonly string[]): this {
    this.fn.addToRolePolicy(objectStatement(sid, bucket, actions, patterns));
    if (actions.some((action) => action === 's3:GetObject')) this.useKey('read');
    if (actions.some((action) => action === 's3:PutObject')) this.useKey('write');
    return this;
  }

  list(sid: string, bucket: s3.IBucket, prefixes: readonly string[]): this {
    this.fn.addToRolePolicy(listStatement(sid, bucket, prefixes));
    return this;
  }

  /** `s3:GetBucketLocation` on the buckets Athena reads or writes for this function. */
  bucketLocation(...buckets: s3.IBucket[]): this {
    this.fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'AthenaBucketLocation',
        actions: ['s3:GetBucketLocation'],
        resources: buckets.map((bucket) => bucket.bucketArn),
      }),
    );
    return this;
  }

  items(sid: string, actions: readonly string[], leadingKeys: readonly string[]): this {
    this.fn.addToRolePolicy(itemStatement(sid, this.props.servingTable.tableArn, actions, leadingKeys));
    const writes = actions.some((action) => !/^dynamodb:(Get|BatchGet|Query)/.test(action));
    this.useKey(writes ? 'write' : 'read');
    return this;
  }

  statement(statement: iam.PolicyStatement): this {
    this.fn.addToRolePolicy(statement);
    return this;
  }

  private useKey(use: 'read' | 'write'): void {
    if (this.keyUse === 'write' || this.keyUse === use) return;
    this.keyUse = use;
  }

  /** Adds the key statement, once, for the strongest use recorded. */
  done(): PipelineFunction {
    if (this.keyUse) this.fn.addToRolePolicy(keyStatement('StackKey', this.props.encryptionKey, this.keyUse));
    return this.fn;
  }
}

/**
 * The functions the state machine invokes, each with its configuration (lambdas/README.md,
 * "Functions") and its least-privilege statements ("Permissions"), created in `scope`.
 */
export function createStepFunctions(
  scope: Construct,
  props: RunFunctionsProps,
  access: PipelineAccess,
): Record<StateMachineStepName, PipelineFunction> {
  const { config, curBucket, dataBucket, resultsBucket, queryResultsBucket, servingTable } = props;
  const billingExports = props.billingExports ?? billingExportsOf(config);
  const database = props.databaseName;
  const { runs, queryResults, runTablesArn, resultRunsTableArns } = access;
  const keys = SERVING_ITEM_KEYS;
  const fn = (name: RunStepName, memorySize: number, environment: Record<string, string>) =>
    new FunctionGrants(runFunction(scope, props, name, memorySize, environment), props);
  const queryEnv = {
    DATABASE: database,
    WORKGROUP: props.workgroupName,
    RESULTS_BUCKET: resultsBucket.bucketName,
  };
  const tableName = servingTable.tableName;
  /**
   * What a function needs to run queries in the workgroup: Athena there, its output under `athena/` of
   * the query-results bucket, and Glue read access to the tables its queries name.
   */
  const queries = (grants: FunctionGrants, glueActions: string[], tables: string[]) =>
    grants
      .statement(access.athenaQueries)
      .objects('AthenaQueryResults', queryResultsBucket, [...S3_READ, ...S3_WRITE], [queryResults])
      .list('AthenaQueryResultsList', queryResultsBucket, [queryResults])
      .statement(access.glue('GlueTablesQueried', glueActions, tables));
  /** Reading the run's own Parquet through Athena: its objects, listed under `runs/`. */
  const readRuns = (grants: FunctionGrants) =>
    grants
      .objects('RunObjectsRead', resultsBucket, S3_READ, [runs])
      .list('RunObjectsList', resultsBucket, [runs]);
  const readPointer = ['dynamodb:GetItem'];
  const changePointer = ['dynamodb:GetItem', 'dynamodb:UpdateItem'];

  // prepare-run: reads the manifest, the customers and the rules; runs nothing in Athena.
  const prepareRunGrants = fn('prepare-run', 512, {
    DATA_BUCKET: dataBucket.bucketName,
    RESULTS_BUCKET: resultsBucket.bucketName,
    DATABASE: database,
    TENANT_TAG_KEY: config.tenantTagKey,
    COST_BASIS: config.costBasis,
    BILLING_TABLES: JSON.stringify(
      Object.fromEntries(billingExports.map((e) => [e.format.name, e.format.glueTable.name])),
    ),
    // The export each format's table reads: a delivery of the format from elsewhere is refused.
    BILLING_EXPORTS: JSON.stringify(
      Object.fromEntries(billingExports.map((e) => [e.format.name, exportFolders(config.curPrefix, e)])),
    ),
  })
    .objects('CurManifests', curBucket, S3_READ, access.curManifestPatterns)
    .objects('CustomersAndRules', dataBucket, S3_READ, [`${PREFIXES.customers}*`, `${PREFIXES.rules}*`])
    .list('CustomersAndRulesList', dataBucket, [`${PREFIXES.customers}*`, `${PREFIXES.rules}*`]);
  // With source accounts, prepare-run checks that the other accounts' listed files exist: it lists
  // their export folders, as on-delivery lists its own delivery's.
  const sourceFolders = billingExports.flatMap((e) =>
    e.sourceAccounts?.length ? exportFolders(config.curPrefix, e) : [],
  );
  if (sourceFolders.length > 0) {
    prepareRunGrants.list(
      'SourceExportsList',
      curBucket,
      sourceFolders.map((folder) => `${folder}/*`),
    );
  }
  const prepareRun = prepareRunGrants.done();

  // run-check: runs a check query on the run's tables.
  const runCheck = queries(
    readRuns(fn('run-check', 256, queryEnv)),
    ['glue:GetDatabase', 'glue:GetTable'],
    [runTablesArn],
  )
    .bucketLocation(resultsBucket, queryResultsBucket)
    .done();

  // claim-period: takes the period's lease (the pointer item only).
  const claimPeriod = fn('claim-period', 256, { TABLE_NAME: tableName })
    .items('PeriodPointer', changePointer, [keys.pointer])
    .done();

  // load-serving-table: UNLOADs the run's changed serving rows (Athena writes with the caller's
  // credentials) and writes them as this run's version; reads the pointer.
  const loadServingTable = queries(
    readRuns(
      fn('load-serving-table', 1024, {
        ...queryEnv,
        TABLE_NAME: tableName,
        SERVING_RETENTION_DAYS: String(config.servingRetentionDays ?? 400),
      }),
    ),
    ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartition', 'glue:GetPartitions'],
    [runTablesArn, access.tableArn(resultRunsTableName('customer_daily_cost'))],
  )
    .objects('ServingUnload', resultsBucket, S3_WRITE, [runs])
    .bucketLocation(resultsBucket, queryResultsBucket)
    .items('ServingItems', ['dynamodb:BatchWriteItem'], [keys.customer])
    .items('PeriodPointerRead', readPointer, [keys.pointer])
    .done();

  // publish-run: registers the run's partitions, flips the pointer, writes its Athena image, then
  // retires the replaced run's partitions and tags its objects.
  const publishRun = fn('publish-run', 256, {
    TABLE_NAME: tableName,
    DATABASE: database,
    RESULTS_BUCKET: resultsBucket.bucketName,
  })
    .statement(
      access.glue(
        'GlueRunPartitions',
        [
          'glue:GetTable',
          'glue:GetPartition',
          'glue:GetPartitions',
          'glue:CreatePartition',
          'glue:BatchCreatePartition',
          'glue:DeletePartition',
          'glue:BatchDeletePartition',
        ],
        resultRunsTableArns,
      ),
    )
    .objects('PublishedImage', resultsBucket, ['s3:PutObject'], [access.published])
    .objects('TagReplacedRun', resultsBucket, ['s3:PutObjectTagging'], [runs])
    .list('RunObjectsList', resultsBucket, [runs])
    .items('PeriodPointer', changePointer, [keys.pointer])
    .done();

  // evaluate-alerts: queries the visible runs' partitions and publishes alerts.
  const evaluateAlerts = queries(
    readRuns(
      fn('evaluate-alerts', 256, {
        ...queryEnv,
        DATA_BUCKET: dataBucket.bucketName,
        TENANT_TAG_KEY: config.tenantTagKey,
        COST_BASIS: config.costBasis,
        TABLE_NAME: tableName,
        ALERT_TOPIC_ARN: props.alertTopic.topicArn,
        ALERT_CONFIG: JSON.stringify(config.alerts),
      }),
    ),
    ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartition', 'glue:GetPartitions'],
    [...resultRunsTableArns, access.tableArn('customers')],
  )
    .objects('CustomersAndRules', dataBucket, S3_READ, [`${PREFIXES.customers}*`, `${PREFIXES.rules}*`])
    .list('CustomersAndRulesList', dataBucket, [`${PREFIXES.customers}*`, `${PREFIXES.rules}*`])
    .objects('RunAlerts', resultsBucket, ['s3:PutObject'], [runs])
    .bucketLocation(resultsBucket, queryResultsBucket, dataBucket)
    .items('AlertSentState', ['dynamodb:BatchGetItem', 'dynamodb:PutItem'], [keys.alert])
    .items('PeriodPointerRead', readPointer, [keys.pointer])
    .done();
  props.alertTopic.grantPublish(evaluateAlerts);

  // write-report: the run's HTML report, and the period's when the pointer names the run.
  const writeReport = queries(
    readRuns(
      fn('write-report', 1024, {
        ...queryEnv,
        TABLE_NAME: tableName,
        // Only the targets the report measures each month against: it reads the run's saved alerts.
        UNIT_COST_TARGETS: JSON.stringify({ unitCostTargets: config.alerts.unitCostTargets }),
      }),
    ),
    ['glue:GetDatabase', 'glue:GetTable'],
    [runTablesArn],
  )
    .objects('Reports', resultsBucket, ['s3:PutObject'], [runs, `${PREFIXES.reports}*`])
    .bucketLocation(resultsBucket, queryResultsBucket)
    .items('PeriodPointerRead', readPointer, [keys.pointer])
    .done();

  // cleanup: drops the run's tables, releases the lease, tags the run's files when it is not visible.
  const cleanup = fn('cleanup', 256, {
    DATABASE: database,
    RESULTS_BUCKET: resultsBucket.bucketName,
    TABLE_NAME: tableName,
  })
    .statement(access.glue('GlueRunTables', ['glue:GetTable', 'glue:DeleteTable'], [runTablesArn]))
    // Retiring a run that is not visible, or finishing the visible run's publish after a failure.
    .statement(
      access.glue('GlueRunPartitions', ['glue:GetPartition', 'glue:DeletePartition'], resultRunsTableArns),
    )
    .objects('TagRun', resultsBucket, ['s3:PutObjectTagging'], [runs])
    .list('RunObjectsList', resultsBucket, [runs])
    .objects('PublishedImage', resultsBucket, ['s3:GetObject', 's3:PutObject'], [access.published])
    // The period report made to agree with the pointer: read (HeadObject) the run's and the period's,
    // copy the run's over the period's, or delete a report of an older run.
    .objects('RunReportRead', resultsBucket, S3_READ, [runs])
    .objects(
      'PeriodReport',
      resultsBucket,
      ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      [`${PREFIXES.reports}*`],
    )
    .items('PeriodPointer', changePointer, [keys.pointer])
    .done();

  return {
    'prepare-run': prepareRun,
    'run-check': runCheck,
    'claim-period': claimPeriod,
    'load-serving-table': loadServingTable,
    'publish-run': publishRun,
    'evaluate-alerts': evaluateAlerts,
    'write-report': writeReport,
    cleanup,
  };
}

/** Options of on-delivery besides the shared props. */
export interface OnDeliveryOptions {
  /**
   * Retries of a failed asynchronous invocation (Lambda's), which is also how long a delivery may stay
   * incomplete: the attempt after the last retry reports it (`IncompleteDeliveries`).
   * @default 2
   */
  readonly retryAttempts?: number;
}

/**
 * on-delivery, created in `scope` once the state machine exists: invoked asynchronously by the CUR
 * bucket's notification of `*-Manifest.json` under the export; after two retries the event goes to
 * the dead-letter queue.
 */
export function createOnDeliveryFunction(
  scope: Construct,
  props: RunFunctionsProps,
  access: PipelineAccess,
  stateMachine: sfn.IStateMachine,
  deadLetterQueue: sqs.IQueue,
  options: OnDeliveryOptions = {},
): PipelineFunction {
  const { config, curBucket } = props;
  const retryAttempts = options.retryAttempts ?? 2;
  const onDelivery = new FunctionGrants(
    runFunction(
      scope,
      props,
      'on-delivery',
      256,
      {
        STATE_MACHINE_ARN: stateMachine.stateMachineArn,
        CUR_BUCKET: curBucket.bucketName,
        CUR_PREFIX: config.curPrefix,
        CUR_EXPORT_NAME: config.curExportName,
        // The further exports a re-run request may name, with the kind of manifest each writes.
        FURTHER_EXPORTS: JSON.stringify(
          Object.fromEntries(
            (props.billingExports ?? billingExportsOf(config))
              .filter((e) => e.exportName !== config.curExportName && e.format.manifestKind !== undefined)
              .map((e) => [e.exportName, e.format.manifestKind]),
          ),
        ),
        SOURCE_ACCOUNTS: JSON.stringify(
          (props.billingExports ?? billingExportsOf(config)).find((e) => e.format.name === 'cur2')
            ?.sourceAccounts ?? [],
        ),
        TABLE_NAME: props.servingTable.tableName,
        DELIVERY_ATTEMPTS: String(retryAttempts + 1),
      },
      { retryAttempts, onFailure: new destinations.SqsDestination(deadLetterQueue) },
    ),
    props,
  )
    .objects('CurManifests', curBucket, S3_READ, access.curManifestPatterns)
    // Listing, not HeadObject, finds the missing data files: one request per folder, and a listing is
    // what an `s3:prefix` condition can scope (HeadObject of a missing key needs unconditioned ListBucket).
    .list(
      'CurExportList',
      curBucket,
      access.exportPrefixes.map((prefix) => `${prefix}/*`),
    )
    .items('Deliveries', ['dynamodb:UpdateItem'], [SERVING_ITEM_KEYS.delivery])
    .done();
  stateMachine.grantStartExecution(onDelivery);
  // One notification per export, on its own folder: the folders do not overlap (names are unique
  // path segments), as S3 requires of two filters on one event type.
  for (const prefix of access.exportPrefixes) {
    curBucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.LambdaDestination(onDelivery), {
      prefix: `${prefix}/`,
      suffix: '-Manifest.json',
    });
  }
  return onDelivery;
}

/**
 * run-watch, created in `scope`: every hour, compares the deliveries on-delivery recorded with the
 * period pointers and publishes `OverduePeriods` (deliveries without a visible run 26 hours on).
 */
export function createRunWatchFunction(scope: Construct, props: RunFunctionsProps): PipelineFunction {
  const runWatch = new FunctionGrants(
    runFunction(scope, props, 'run-watch', 256, { TABLE_NAME: props.servingTable.tableName }),
    props,
  )
    .items('PeriodPointerRead', ['dynamodb:GetItem'], [SERVING_ITEM_KEYS.pointer])
    .statement(
      new iam.PolicyStatement({
        sid: 'DeliveriesIndex',
        actions: ['dynamodb:Query'],
        resources: [`${props.servingTable.tableArn}/index/${SERVING_TABLE_KEYS.byPeriodCost.indexName}`],
      }),
    )
    .done();
  return runWatch;
}

/**
 * on-input: the data bucket's notifications of uploads under `customers/incoming/` and `rules/incoming/`
 * and of telemetry objects, and the hourly sweep of late-telemetry re-runs (lib/pipeline/on-input.ts).
 * It reads the uploads and the current files, writes exactly the two current files, tells the
 * operations topic of a rejected upload, and asks on-delivery for re-runs; nothing else.
 */
export function createOnInputFunction(
  scope: Construct,
  props: RunFunctionsProps,
  onDelivery: lambda.IFunction,
  operationsTopic: sns.ITopic,
  deadLetterQueue: sqs.IQueue,
): PipelineFunction {
  const { config, dataBucket } = props;
  const onInput = new FunctionGrants(
    runFunction(
      scope,
      props,
      'on-input',
      512,
      {
        DATA_BUCKET: dataBucket.bucketName,
        CUR_PREFIX: config.curPrefix,
        TENANT_TAG_KEY: config.tenantTagKey,
        COST_BASIS: config.costBasis,
        TABLE_NAME: props.servingTable.tableName,
        ON_DELIVERY_FUNCTION: onDelivery.functionArn,
        OPERATIONS_TOPIC_ARN: operationsTopic.topicArn,
      },
      { retryAttempts: 2, onFailure: new destinations.SqsDestination(deadLetterQueue) },
    ),
    props,
  )
    .objects('InputUploadsAndCurrent', dataBucket, S3_READ, [
      `${PREFIXES.customersIncoming}*`,
      `${PREFIXES.rulesIncoming}*`,
      `${PREFIXES.customers}*`,
      `${PREFIXES.rules}*`,
    ])
    .objects('CurrentInputs', dataBucket, ['s3:PutObject'], [CUSTOMERS_KEY, RULES_KEY])
    .list('CurrentCustomersList', dataBucket, [`${PREFIXES.customers}*`])
    .items('Deliveries', ['dynamodb:GetItem', 'dynamodb:UpdateItem'], [SERVING_ITEM_KEYS.delivery])
    .statement(
      new iam.PolicyStatement({
        sid: 'DeliveriesIndex',
        actions: ['dynamodb:Query'],
        resources: [`${props.servingTable.tableArn}/index/${SERVING_TABLE_KEYS.byPeriodCost.indexName}`],
      }),
    )
    // The function itself, not its versions (grantInvoke would add `<arn>:*`): on-delivery has no aliases.
    .statement(
      new iam.PolicyStatement({
        sid: 'RerunRequests',
        actions: ['lambda:InvokeFunction'],
        resources: [onDelivery.functionArn],
      }),
    )
    .done();
  operationsTopic.grantPublish(onInput);
  // One notification per folder; the three do not overlap, as S3 requires of filters on one event type.
  for (const prefix of [PREFIXES.customersIncoming, PREFIXES.rulesIncoming, PREFIXES.telemetry]) {
    dataBucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.LambdaDestination(onInput), {
      prefix,
    });
  }
  return onInput;
}
