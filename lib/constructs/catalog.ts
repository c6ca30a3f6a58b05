import { Stack } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { RESULT_TABLES, type ResultTable } from '../attribution/stages.ts';
import {
  billingTableColumns,
  CUSTOMER_COLUMNS,
  type GlueColumn,
  RESULT_COLUMNS,
  TELEMETRY_COLUMNS,
} from '../catalog/glue-schemas.ts';
import { GLUE_NAME, isBillingPeriod, PREFIXES } from '../common/names.ts';
import {
  type BillingExport,
  billingExportsOf,
  checkBillingExports,
  exportTableLocation,
  SOURCE_ACCOUNT_PARTITION,
} from '../config/billing-exports.ts';

const PARQUET = {
  inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
  outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
  serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
};
/** The `<result>_runs` table holding every run's partitions of a result. */
export function resultRunsTableName(result: ResultTable): string {
  return `${result}_runs`;
}

/** Results bucket prefix of the pointers' Athena image (`published/<period>.json`). */
export const PUBLISHED_PREFIX = 'published/';
/** The table over that image, which the published views join. */
export const PUBLISHED_RUNS_TABLE = 'published_runs';
/** Its columns, all strings, in this order. */
export const PUBLISHED_RUNS_COLUMNS = ['billing_period', 'run_id', 'delivered_at', 'published_at'] as const;

const TEXT_INPUT = 'org.apache.hadoop.mapred.TextInputFormat';
const TEXT_OUTPUT = 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat';

/**
 * Names of the catalog's tables: the billing tables (one per deployed billing format, named by its
 * descriptor), the other inputs, then one per result table.
 */
export type CatalogTableName = string;

export interface CatalogProps {
  /** Name of the Glue database (lower case letters, digits and `_`). */
  readonly databaseName: string;
  /** The bucket AWS Data Exports writes CUR 2.0 into. */
  readonly curBucket: s3.IBucket;
  /** Prefix of the export in the CUR bucket, without slashes at either end. */
  readonly curPrefix: string;
  /** Name of the CUR 2.0 export (the folder under `curPrefix`). */
  readonly curExportName: string;
  /**
   * The exports read, each through its format's Glue table over its own folder
   * (`<curPrefix>/<exportName>/<dataFolder>/`).
   * @default the CUR 2.0 export `curExportName`, read through the `cur2` table
   */
  readonly billingExports?: readonly BillingExport[];
  /** The tenant tag key; CUR 2.0 keeps tags in one map column, so it does not change the schema. */
  readonly tenantTagKey: string;
  /** The bucket with `telemetry/` and `customers/`. */
  readonly dataBucket: s3.IBucket;
  /** The bucket the runs write result Parquet into. */
  readonly resultsBucket: s3.IBucket;
  /**
   * First billing period the projected tables enumerate (YYYY-MM). Data Exports backfills at most
   * 36 months, and CUR 2.0 exists since late 2023.
   * @default '2020-01'
   */
  readonly firstBillingPeriod?: string;
}

/**
 * The Glue Data Catalog of the pipeline: one database with the input tables the attribution SQL
 * reads (a billing table per deployed format, `telemetry`, `customers`) and a table per published result. Partition projection
 * on the input tables means no crawler and no partition maintenance: Athena computes the partitions
 * from the query's filter. The `<result>_runs` tables have explicit partitions instead, one per
 * (billing period, run), registered by publish-run; `published_runs` names the visible run of each
 * period, and the views of the result names (created by create-finance-views) join the two.
 */
export class Catalog extends Construct {
  readonly database: glue.CfnDatabase;
  readonly databaseName: string;
  /**
   * The database of the finance views (`<databaseName>_finance`): their own, because the view
   * `unattributed_cost` shares its name with a results table.
   */
  readonly financeDatabase: glue.CfnDatabase;
  readonly financeDatabaseName: string;
  /** Every table, by Glue name: the billing tables first, then telemetry, customers and the results. */
  readonly tables: Readonly<Record<CatalogTableName, glue.CfnTable>>;
  /** The billing tables, by Glue name. */
  readonly billingTables: Readonly<Record<string, glue.CfnTable>>;

  constructor(scope: Construct, id: string, props: CatalogProps) {
    super(scope, id);
    const firstPeriod = props.firstBillingPeriod ?? '2020-01';
    if (!isBillingPeriod(firstPeriod)) {
      throw new Error(`Catalog: firstBillingPeriod must be YYYY-MM, got ${JSON.stringify(firstPeriod)}`);
    }
    if (!GLUE_NAME.test(props.databaseName)) {
      throw new Error(
        `Catalog: databaseName must be lower case letters, digits and _, got ${props.databaseName}`,
      );
    }
    const catalogId = Stack.of(this).account;
    this.databaseName = props.databaseName;
    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId,
      databaseInput: {
        name: props.databaseName,
        description:
          'Cost per customer: billing exports, telemetry and customers in; attribution results out',
      },
    });
    this.financeDatabaseName = `${props.databaseName}_finance`.slice(0, 255);
    this.financeDatabase = new glue.CfnDatabase(this, 'FinanceDatabase', {
      catalogId,
      databaseInput: {
        name: this.financeDatabaseName,
        description: 'Cost per customer: finance views over the published results (docs/finance.md)',
      },
    });

    const table = (
      constructId: string,
      name: CatalogTableName,
      input: Omit<glue.CfnTable.TableInputProperty, 'name'>,
    ): glue.CfnTable => {
      const cfn = new glue.CfnTable(this, constructId, {
        catalogId,
        databaseName: props.databaseName,
        tableInput: { name, tableType: 'EXTERNAL_TABLE', ...input },
      });
      cfn.node.addDependency(this.database);
      return cfn;
    };
    const columns = (list: readonly GlueColumn[]) => list.map((column) => ({ ...column }));

    const billingExports = props.billingExports ?? billingExportsOf({ curExportName: props.curExportName });
    checkBillingExports(billingExports, 'Catalog');
    const billingTables = Object.fromEntries(
      billingExports.map((billingExport) => {
        const { format } = billingExport;
        const { glueTable } = format;
        const { folder, template } = exportTableLocation(props.curPrefix, billingExport);
        const location = props.curBucket.s3UrlForObject(folder);
        // Read from several accounts' folders, the table has the account as its first partition.
        const sources = billingExport.sourceAccounts ?? [];
        const sourcePartition =
          sources.length === 0
            ? { keys: [], projection: {} }
            : {
                keys: [
                  { name: SOURCE_ACCOUNT_PARTITION, comment: 'the account whose export delivered the file' },
                ],
                projection: {
                  [`projection.${SOURCE_ACCOUNT_PARTITION}.type`]: 'enum',
                  [`projection.${SOURCE_ACCOUNT_PARTITION}.values`]: sources.join(','),
                },
              };
        const cfn = table(glueTable.constructId, glueTable.name, {
          description: `${glueTable.description}: export ${billingExport.exportName}${
            sources.length === 0 ? '' : ` of accounts ${sources.join(', ')}`
          }`,
          parameters: {
            classification: 'parquet',
            'projection.enabled': 'true',
            ...sourcePartition.projection,
            ...glueTable.projection(firstPeriod),
            'storage.location.template': `${location}/${template}`,
          },
          partitionKeys: [...sourcePartition.keys, ...glueTable.partitionKeys].map((key) => ({
            ...key,
            type: 'string',
          })),
          storageDescriptor: {
            columns: columns(billingTableColumns(format, props.tenantTagKey)),
            location: `${location}/`,
            ...PARQUET,
          },
        });
        return [glueTable.name, cfn];
      }),
    );

    const telemetryLocation = props.dataBucket.s3UrlForObject('telemetry');
    const telemetry = table('TelemetryTable', 'telemetry', {
      description:
        'Usage telemetry: newline-delimited JSON objects under telemetry/usage_day=YYYY-MM-DD/. ' +
        'Filter on usage_day so that Athena reads only the days it needs.',
      parameters: {
        classification: 'json',
        'projection.enabled': 'true',
        'projection.usage_day.type': 'date',
        'projection.usage_day.format': 'yyyy-MM-dd',
        'projection.usage_day.range': `${firstPeriod}-01,NOW`,
        'projection.usage_day.interval': '1',
        'projection.usage_day.interval.unit': 'DAYS',
        'storage.location.template': `${telemetryLocation}/usage_day=\${usage_day}/`,
      },
      partitionKeys: [{ name: 'usage_day', type: 'string', comment: 'YYYY-MM-DD, the folder of the file' }],
      storageDescriptor: {
        columns: columns(TELEMETRY_COLUMNS),
        location: `${telemetryLocation}/`,
        inputFormat: TEXT_INPUT,
        outputFormat: TEXT_OUTPUT,
        // The Hive JSON SerDe reads DATE from 'YYYY-MM-DD' text and fails on malformed rows
        // rather than skipping them: bad telemetry must stop a run, not shrink a customer's share.
        serdeInfo: { serializationLibrary: 'org.apache.hive.hcatalog.data.JsonSerDe' },
      },
    });

    // The current customers file only: uploads wait under customers/incoming/ until on-input validates them.
    const customersLocation = props.dataBucket.s3UrlForObject(PREFIXES.customers.replace(/\/$/, ''));
    const customers = table('CustomersTable', 'customers', {
      description: 'Customer dimension: CSV with a header row, columns in the documented order',
      parameters: { classification: 'csv', 'skip.header.line.count': '1' },
      storageDescriptor: {
        columns: columns(CUSTOMER_COLUMNS),
        location: `${customersLocation}/`,
        inputFormat: TEXT_INPUT,
        outputFormat: TEXT_OUTPUT,
        serdeInfo: {
          serializationLibrary: 'org.apache.hadoop.hive.serde2.OpenCSVSerde',
          parameters: { separatorChar: ',', quoteChar: '"', escapeChar: '\\' },
        },
      },
    });

    // Every run's results, one partition per (billing period, run): publish-run registers a run's
    // partitions, and the views of the same names (create-finance-views) show the visible run's only.
    const runsLocation = props.resultsBucket.s3UrlForObject('runs');
    const results = Object.fromEntries(
      RESULT_TABLES.map((name) => {
        const tableName = resultRunsTableName(name);
        const cfn = table(`${pascalCase(tableName)}Table`, tableName, {
          description:
            `Attribution result ${name} of every run, partitioned by billing period and run; ` +
            `the view ${name} shows the visible run of each period`,
          parameters: { classification: 'parquet' },
          partitionKeys: [
            { name: 'billing_period', type: 'string', comment: 'YYYY-MM' },
            { name: 'run_id', type: 'string', comment: 'the run that wrote the partition' },
          ],
          storageDescriptor: {
            columns: columns(RESULT_COLUMNS[name]),
            location: `${runsLocation}/`,
            ...PARQUET,
          },
        });
        return [tableName, cfn];
      }),
    ) as Record<string, glue.CfnTable>;

    // The Athena image of the period pointers: one JSON line per billing period, written by publish-run.
    const publishedLocation = props.resultsBucket.s3UrlForObject(PUBLISHED_PREFIX.replace(/\/$/, ''));
    const publishedRuns = table('PublishedRunsTable', PUBLISHED_RUNS_TABLE, {
      description: 'The visible run of each billing period (one JSON object per period, written at publish)',
      parameters: { classification: 'json' },
      storageDescriptor: {
        columns: PUBLISHED_RUNS_COLUMNS.map((name) => ({ name, type: 'string' })),
        location: `${publishedLocation}/`,
        inputFormat: TEXT_INPUT,
        outputFormat: TEXT_OUTPUT,
        serdeInfo: { serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
      },
    });

    this.billingTables = billingTables;
    this.tables = {
      ...billingTables,
      telemetry,
      customers,
      ...results,
      [PUBLISHED_RUNS_TABLE]: publishedRuns,
    };
  }

  /** ARN of the catalog, the database and the given tables, for IAM statements scoped to them. */
  arnsFor(...tableNames: CatalogTableName[]): string[] {
    const stack = Stack.of(this);
    const arn = (resource: string, resourceName: string) =>
      stack.formatArn({ service: 'glue', resource, resourceName });
    return [
      stack.formatArn({ service: 'glue', resource: 'catalog' }),
      arn('database', this.databaseName),
      ...tableNames.map((name) => arn('table', `${this.databaseName}/${name}`)),
    ];
  }
}

function pascalCase(snake: string): string {
  return snake.replace(/(^|_)([a-z])/g, (_match, _sep: string, letter: string) => letter.toUpperCase());
}
