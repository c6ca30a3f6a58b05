import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { RESULT_TABLES } from '../attribution/stages.ts';
import { PREFIXES } from '../common/names.ts';
import { listStatement, objectStatement, S3_READ, S3_WRITE } from './access-statements.ts';
import { PUBLISHED_PREFIX, PUBLISHED_RUNS_TABLE, resultRunsTableName } from './catalog.ts';

/** A principal allowed to assume the finance reader role: a 12-digit account id or an IAM ARN. */
export type FinanceReaderPrincipal = string;

export interface FinanceReaderProps {
  /** Glue database of the published views (the results' names) and the tables they read. */
  readonly databaseName: string;
  /** Glue database of the finance views (`<databaseName>_finance`). */
  readonly financeDatabaseName: string;
  /** The Athena workgroup finance queries in. */
  readonly workgroupName: string;
  /** The bucket of the runs' results (`runs/`), the pointers' image (`published/`) and `reports/`. */
  readonly resultsBucket: s3.IBucket;
  /** The bucket the workgroup writes query results to (`athena/`, enforced by the workgroup). */
  readonly queryResultsBucket: s3.IBucket;
  /** The key the buckets and query results are encrypted with. */
  readonly encryptionKey: kms.IKey;
  /**
   * Who may assume the role that carries the policy: account ids (the account's root, so its IAM
   * decides who) or role, user or root ARNs. Each must exist when the stack deploys (IAM checks).
   * @default [] - no role, only the policy
   */
  readonly principals?: readonly FinanceReaderPrincipal[];
}

const ACCOUNT_ID = /^\d{12}$/;

/**
 * Read access to the product for finance, without admin rights: a managed policy that runs queries in the
 * workgroup, reads the finance views and the published views (with the Glue tables and S3 objects they
 * read, as Athena views run with the caller's permissions), reads `reports/`, and writes its own query
 * results where the workgroup puts them. Nothing else: no CUR bucket, no data bucket (telemetry,
 * customers, rules), no serving table, no functions or state machine. Optionally a role, assumable by
 * the given principals, that carries the policy.
 */
export class FinanceReader extends Construct {
  readonly policy: iam.ManagedPolicy;
  /** Present when principals are given. */
  readonly role?: iam.Role;
  /** The object key patterns the policy names, per bucket (each acknowledged for cdk-nag). */
  readonly objectPatterns: ReadonlyArray<{ readonly bucket: s3.IBucket; readonly pattern: string }>;
  /** The Glue table pattern of the finance database (its tables are all finance views). */
  readonly financeTablesArn: string;

  constructor(scope: Construct, id: string, props: FinanceReaderProps) {
    super(scope, id);
    const principals = props.principals ?? [];
    for (const principal of principals) {
      if (!ACCOUNT_ID.test(principal) && !principal.startsWith('arn:')) {
        throw new Error(`FinanceReader: not an account id or an ARN: ${JSON.stringify(principal)}`);
      }
    }
    const stack = Stack.of(this);
    const glueArn = (resource: string, resourceName?: string) =>
      stack.formatArn({ service: 'glue', resource, ...(resourceName ? { resourceName } : {}) });
    const runs = `${PREFIXES.runs}*`;
    const published = `${PUBLISHED_PREFIX}*`;
    const reports = `${PREFIXES.reports}*`;
    const queryResults = `${PREFIXES.queryResults}*`;
    this.objectPatterns = [
      ...[runs, published, reports].map((pattern) => ({ bucket: props.resultsBucket, pattern })),
      { bucket: props.queryResultsBucket, pattern: queryResults },
    ];
    this.financeTablesArn = glueArn('table', `${props.financeDatabaseName}/*`);

    const statements = [
      new iam.PolicyStatement({
        sid: 'AthenaQueriesInTheWorkgroup',
        actions: [
          'athena:GetWorkGroup',
          'athena:StartQueryExecution',
          'athena:StopQueryExecution',
          'athena:GetQueryExecution',
          'athena:BatchGetQueryExecution',
          'athena:ListQueryExecutions',
          'athena:GetQueryResults',
          'athena:GetQueryResultsStream',
          'athena:ListNamedQueries',
          'athena:GetNamedQuery',
          'athena:BatchGetNamedQuery',
        ],
        resources: [
          stack.formatArn({ service: 'athena', resource: 'workgroup', resourceName: props.workgroupName }),
        ],
      }),
      // Every table of the finance database is a finance view (create-finance-views makes them).
      new iam.PolicyStatement({
        sid: 'GlueFinanceViews',
        actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetTables'],
        resources: [
          glueArn('catalog'),
          glueArn('database', props.financeDatabaseName),
          this.financeTablesArn,
        ],
      }),
      // The published views and what they read: `<result>_runs` joined to published_runs. Not the
      // billing tables, telemetry or customers.
      new iam.PolicyStatement({
        sid: 'GluePublishedViews',
        actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
        resources: [
          glueArn('catalog'),
          glueArn('database', props.databaseName),
          ...[...RESULT_TABLES, ...RESULT_TABLES.map(resultRunsTableName), PUBLISHED_RUNS_TABLE].map(
            (table) => glueArn('table', `${props.databaseName}/${table}`),
          ),
        ],
      }),
      objectStatement('ResultsRead', props.resultsBucket, S3_READ, [runs, published, reports]),
      listStatement('ResultsList', props.resultsBucket, [runs, published, reports]),
      objectStatement('QueryResults', props.queryResultsBucket, [...S3_READ, ...S3_WRITE], [queryResults]),
      listStatement('QueryResultsList', props.queryResultsBucket, [queryResults]),
      new iam.PolicyStatement({
        sid: 'BucketLocation',
        actions: ['s3:GetBucketLocation'],
        resources: [props.resultsBucket.bucketArn, props.queryResultsBucket.bucketArn],
      }),
      // Only through S3: decrypting the objects above, and encrypting the query results Athena writes
      // as the caller (SSE-KMS with the stack key, which the workgroup enforces).
      new iam.PolicyStatement({
        sid: 'StackKeyThroughS3',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [props.encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` } },
      }),
    ];
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      description:
        'Cost per customer: query the finance and published views in the Athena workgroup, read reports/',
      statements,
    });

    if (principals.length > 0) {
      this.role = new iam.Role(this, 'Role', {
        description: 'Cost per customer: finance reader (assume it, then query in the Athena workgroup)',
        assumedBy: new iam.CompositePrincipal(
          ...principals.map((principal) =>
            ACCOUNT_ID.test(principal)
              ? new iam.AccountPrincipal(principal)
              : new iam.ArnPrincipal(principal),
          ),
        ),
        managedPolicies: [this.policy],
      });
    }
  }
}
