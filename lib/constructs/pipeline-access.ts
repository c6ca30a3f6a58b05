import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { type BillingFormat, deployedFormats } from '../attribution/billing-formats.ts';
import { RESULT_TABLES } from '../attribution/stages.ts';
import { PREFIXES } from '../common/names.ts';
import { MANIFEST_KEY_PATTERNS } from '../pipeline/manifest.ts';
import { PUBLISHED_PREFIX, resultRunsTableName } from './catalog.ts';

/** What {@link PipelineAccess} scopes its ARNs and patterns to. */
export interface PipelineAccessProps {
  readonly databaseName: string;
  readonly workgroupName: string;
  /** Prefix of the CUR export in the CUR bucket, without slashes at either end. */
  readonly curPrefix: string;
  /** Name of the CUR export (the folder under `curPrefix`). */
  readonly curExportName: string;
  /** The billing formats; those with a Glue table are what the run reads. */
  readonly billingFormats: readonly BillingFormat[];
}

/**
 * The resources the pipeline's grants name, in one place: the workgroup, the Glue catalog, database
 * and tables, the key patterns of the buckets, and the billing tables and CUR export folders that
 * the deployed billing formats (their descriptors) need. The functions and the state machine take
 * their statements from here, so the two cannot drift apart.
 */
export class PipelineAccess {
  readonly workgroupArn: string;
  readonly catalogArn: string;
  readonly databaseArn: string;
  /** The per-run tables `run_*` the CTAS statements create. */
  readonly runTablesArn: string;
  /** The four `<result>_runs` tables, partitioned by billing period and run. */
  readonly resultRunsTableArns: string[];
  /** The export's folder in the CUR bucket, `<curPrefix>/<export>`. */
  readonly exportPrefix: string;
  /** Glue names of the billing tables of the deployed formats (`cur2`). */
  readonly billingTableNames: string[];
  /** CUR bucket key patterns of the deployed formats' data (`<export>/data/*`). */
  readonly curDataPatterns: string[];
  /** CUR bucket key patterns of the manifests that deliver the deployed formats (`<export>/metadata/*`). */
  readonly curManifestPatterns: string[];
  /** Results bucket: everything the runs write. */
  readonly runs = `${PREFIXES.runs}*`;
  /** Results bucket: the Athena image of each period's pointer (`published/<period>.json`). */
  readonly published = `${PUBLISHED_PREFIX}*`;
  /** Query-results bucket: Athena's own output. */
  readonly queryResults = `${PREFIXES.queryResults}*`;
  /** The Athena actions of a function that runs queries and reads their results. */
  readonly athenaQueries: iam.PolicyStatement;
  private readonly stack: Stack;
  private readonly databaseName: string;

  constructor(scope: Construct, props: PipelineAccessProps) {
    const stack = Stack.of(scope);
    this.stack = stack;
    this.databaseName = props.databaseName;
    this.workgroupArn = stack.formatArn({
      service: 'athena',
      resource: 'workgroup',
      resourceName: props.workgroupName,
    });
    this.catalogArn = this.glueArn('catalog');
    this.databaseArn = this.glueArn('database', props.databaseName);
    this.runTablesArn = this.tableArn('run_*');
    this.resultRunsTableArns = RESULT_TABLES.map((name) => this.tableArn(resultRunsTableName(name)));
    this.exportPrefix = `${props.curPrefix}/${props.curExportName}`;

    const deployed = deployedFormats(props.billingFormats);
    this.billingTableNames = deployed.map((format) => format.glueTable.name);
    // Every billing table reads the export's data folder (lib/constructs/catalog.ts).
    this.curDataPatterns = unique(deployed.map(() => `${this.exportPrefix}/data/*`));
    this.curManifestPatterns = unique(
      deployed.flatMap((format) =>
        format.manifestKind ? [`${this.exportPrefix}/${MANIFEST_KEY_PATTERNS[format.manifestKind]}`] : [],
      ),
    );

    this.athenaQueries = new iam.PolicyStatement({
      sid: 'AthenaQueriesInTheWorkgroup',
      actions: [
        'athena:StartQueryExecution',
        'athena:GetQueryExecution',
        'athena:GetQueryResults',
        'athena:StopQueryExecution',
      ],
      resources: [this.workgroupArn],
    });
  }

  /** ARN of a table of the database. */
  tableArn(name: string): string {
    return this.glueArn('table', `${this.databaseName}/${name}`);
  }

  /** A Glue statement on the catalog, the database and the given table ARNs. */
  glue(sid: string, actions: string[], tableArns: string[]): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid,
      actions,
      resources: [this.catalogArn, this.databaseArn, ...tableArns],
    });
  }

  private glueArn(resource: string, resourceName?: string): string {
    return this.stack.formatArn({ service: 'glue', resource, ...(resourceName ? { resourceName } : {}) });
  }
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
