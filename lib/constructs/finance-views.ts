import { CustomResource, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, type IDependable } from 'constructs';
import { RESULT_TABLES } from '../attribution/stages.ts';
import { PREFIXES } from '../common/names.ts';
import {
  FINANCE_SOURCE_TABLES,
  FINANCE_VIEW_NAMES,
  FINANCE_VIEWS,
  renderFinanceExample,
} from '../finance/finance-registry.ts';
import { financeViewsFingerprint } from '../pipeline/create-finance-views.ts';
import { keyStatement, listStatement, objectStatement, S3_READ, S3_WRITE } from './access-statements.ts';
import { PUBLISHED_RUNS_TABLE, resultRunsTableName } from './catalog.ts';
import { PIPELINE_TIMEOUTS, PipelineFunction } from './pipeline-function.ts';

export interface FinanceViewsProps {
  /**
   * Glue database of the `<result>_runs` tables, `published_runs`, the customers table, and the four
   * published views the function creates there (the results' names).
   */
  readonly databaseName: string;
  /** Glue database the views are created in (its own: `unattributed_cost` is a view and a table). */
  readonly financeDatabaseName: string;
  /** The Athena workgroup the views are created in and the named queries are saved to. */
  readonly workgroupName: string;
  /** The bucket of the workgroup's query results (`athena/`). */
  readonly queryResultsBucket: s3.IBucket;
  /** The bucket of the runs' results (the Athena engine names it; views read no file at creation). */
  readonly resultsBucket: s3.IBucket;
  /** Encrypts the function's and the provider's logs. */
  readonly encryptionKey: kms.IKey;
  /** Created before the views: the databases, the tables the views read, the workgroup. */
  readonly dependsOn: readonly IDependable[];
  /**
   * `DESTROY` drops the views with the stack; otherwise they stay, like the data they read.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The finance views of docs/finance.md in Athena after deploy: a custom resource whose handler
 * (lambdas/create-finance-views.ts) runs `CREATE OR REPLACE VIEW` for the four published views in the
 * main database (each `<result>_runs` table joined to `published_runs`: the visible run of each period),
 * then for each finance view over them, and one saved (named) query per view in the workgroup with the question it answers. The
 * resource carries a fingerprint of the views' SQL, so a deploy that changes a view replaces it.
 */
export class FinanceViews extends Construct {
  readonly function: PipelineFunction;
  readonly resource: CustomResource;
  readonly namedQueries: Readonly<Record<string, athena.CfnNamedQuery>>;
  /** The Provider framework that invokes the function for CloudFormation (its function is acknowledged in nag-findings.ts). */
  readonly provider: cr.Provider;
  /** ARN of the query-results bucket, whose `athena/` objects the function writes. */
  readonly queryResultsBucketArn: string;

  constructor(scope: Construct, id: string, props: FinanceViewsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const glueArn = (resource: string, resourceName?: string) =>
      stack.formatArn({ service: 'glue', resource, ...(resourceName ? { resourceName } : {}) });

    this.function = new PipelineFunction(this, 'CreateFinanceViewsFunction', {
      handlerName: 'create-finance-views',
      memorySize: 256,
      timeout: PIPELINE_TIMEOUTS['create-finance-views'],
      environment: {
        WORKGROUP: props.workgroupName,
        RESULTS_BUCKET: props.resultsBucket.bucketName,
      },
      encryptionKey: props.encryptionKey,
      removalPolicy,
    });
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'AthenaDdlInTheWorkgroup',
        actions: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:StopQueryExecution'],
        resources: [
          stack.formatArn({ service: 'athena', resource: 'workgroup', resourceName: props.workgroupName }),
        ],
      }),
    );
    // Views are Glue tables: each database's view names only, the finance views and, in the main
    // database under the results' names, the published views (one per result, over `<result>_runs`
    // joined to published_runs), created before the finance views that read them.
    const viewsOf = (sid: string, database: string, views: readonly string[]) =>
      new iam.PolicyStatement({
        sid,
        actions: [
          'glue:GetDatabase',
          'glue:GetTable',
          'glue:CreateTable',
          'glue:UpdateTable',
          'glue:DeleteTable',
        ],
        resources: [
          glueArn('catalog'),
          glueArn('database', database),
          ...views.map((view) => glueArn('table', `${database}/${view}`)),
        ],
      });
    this.function.addToRolePolicy(viewsOf('GlueFinanceViews', props.financeDatabaseName, FINANCE_VIEW_NAMES));
    this.function.addToRolePolicy(viewsOf('GluePublishedViews', props.databaseName, RESULT_TABLES));
    const sourceTables = [
      ...FINANCE_SOURCE_TABLES.filter((table) => !(RESULT_TABLES as readonly string[]).includes(table)),
      ...RESULT_TABLES.map(resultRunsTableName),
      PUBLISHED_RUNS_TABLE,
    ];
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'GlueTablesTheViewsRead',
        actions: ['glue:GetDatabase', 'glue:GetTable'],
        resources: [
          glueArn('catalog'),
          glueArn('database', props.databaseName),
          ...sourceTables.map((table) => glueArn('table', `${props.databaseName}/${table}`)),
        ],
      }),
    );
    // DDL output only: written and read under athena/, never deleted (the bucket's lifecycle does that).
    const queryResults = `${PREFIXES.queryResults}*`;
    this.function.addToRolePolicy(
      objectStatement(
        'AthenaQueryResults',
        props.queryResultsBucket,
        [...S3_READ, ...S3_WRITE],
        [queryResults],
      ),
    );
    this.function.addToRolePolicy(
      listStatement('AthenaQueryResultsList', props.queryResultsBucket, [queryResults]),
    );
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'AthenaBucketLocation',
        actions: ['s3:GetBucketLocation'],
        resources: [props.queryResultsBucket.bucketArn],
      }),
    );
    this.function.addToRolePolicy(keyStatement('StackKey', props.encryptionKey, 'write'));
    this.queryResultsBucketArn = props.queryResultsBucket.bucketArn;

    this.provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.function,
      logGroup: new logs.LogGroup(this, 'ProviderLogGroup', {
        retention: logs.RetentionDays.ONE_MONTH,
        encryptionKey: props.encryptionKey,
        removalPolicy,
      }),
    });
    this.resource = new CustomResource(this, 'Views', {
      serviceToken: this.provider.serviceToken,
      resourceType: 'Custom::FinanceViews',
      properties: {
        Database: props.databaseName,
        FinanceDatabase: props.financeDatabaseName,
        Fingerprint: financeViewsFingerprint(),
        DropOnDelete: String(removalPolicy === RemovalPolicy.DESTROY),
      },
    });
    this.resource.node.addDependency(...props.dependsOn);

    const queries: Record<string, athena.CfnNamedQuery> = {};
    for (const view of FINANCE_VIEW_NAMES) {
      const query = new athena.CfnNamedQuery(this, `${pascal(view)}Query`, {
        name: `Finance: ${FINANCE_VIEWS[view].example.title}`.slice(0, 128),
        description: `${view}: ${FINANCE_VIEWS[view].description}`.slice(0, 1024),
        database: props.financeDatabaseName,
        workGroup: props.workgroupName,
        queryString: renderFinanceExample(view, `"${props.financeDatabaseName}"."${view}"`),
      });
      query.node.addDependency(this.resource);
      queries[view] = query;
    }
    this.namedQueries = queries;
  }
}

/** `tier_margin` -> `TierMargin`: construct ids are PascalCase. */
function pascal(name: string): string {
  return name
    .split('_')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}
