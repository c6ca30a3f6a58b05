import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { ManifestKind } from '../attribution/billing-formats.ts';
import { RESULT_TABLES } from '../attribution/stages.ts';
import { PREFIXES } from '../common/names.ts';
import { type BillingExport, exportFolders } from '../config/billing-exports.ts';
import { DATA_KEY_PATTERNS, MANIFEST_KEY_PATTERNS } from '../pipeline/manifest.ts';
import { PUBLISHED_PREFIX, resultRunsTableName } from './catalog.ts';

/** What {@link PipelineAccess} scopes its ARNs and patterns to. */
export interface PipelineAccessProps {
  readonly databaseName: string;
  readonly workgroupName: string;
  /** Prefix of the CUR export in the CUR bucket, without slashes at either end. */
  readonly curPrefix: string;
  /** The exports read (lib/config/billing-exports.ts), the CUR 2.0 export first. */
  readonly billingExports: readonly BillingExport[];
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
  /** Each export's folder in the CUR bucket, `<curPrefix>/<export>`, the CUR 2.0 export's first. */
  readonly exportPrefixes: string[];
  /** Glue names of the billing tables of the exports' formats (`cur2`, `focus`, `legacy`). */
  readonly billingTableNames: string[];
  /**
   * CUR bucket key patterns of the exports' data: `<export>/data/*` for Data Exports, `<report>/*` for a
   * legacy report (its Athena-integration Parquet and its CSV deliveries are both under the report folder).
   */
  readonly curDataPatterns: string[];
  /** CUR bucket key patterns of the exports' manifests (`<export>/metadata/*`, `<report>/*`). */
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
    const exports = props.billingExports;
    this.exportPrefixes = exports.flatMap((e) => exportFolders(props.curPrefix, e));
    this.billingTableNames = exports.map((e) => e.format.glueTable.name);
    // Each export only under its own folder: its data (what its table and a per-run CSV table read) and
    // its manifests.
    const kindPattern = (patterns: Readonly<Record<ManifestKind, string>>) =>
      unique(
        exports.flatMap((e) =>
          e.format.manifestKind === undefined
            ? []
            : exportFolders(props.curPrefix, e).map(
                (folder) => `${folder}/${patterns[e.format.manifestKind as ManifestKind]}`,
              ),
        ),
      );
    this.curDataPatterns = kindPattern(DATA_KEY_PATTERNS);
    this.curManifestPatterns = kindPattern(MANIFEST_KEY_PATTERNS);

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
