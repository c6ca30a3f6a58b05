import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { cur2Columns } from './catalog/glue-schemas.ts';
import { billingExportsOf, exportFolders } from './config/billing-exports.ts';
import { type CostPerCustomerConfig, type ResolvedConfig, resolveConfig } from './config/stack-config.ts';
import { Alerting } from './constructs/alerting.ts';
import { Catalog } from './constructs/catalog.ts';
import { giveCdkHandlersLogRetention } from './constructs/cdk-handler-logs.ts';
import { CloudWatchTelemetry } from './constructs/cloudwatch-telemetry.ts';
import { CurExport } from './constructs/cur-export.ts';
import { EncryptionKey } from './constructs/encryption-key.ts';
import { FinanceReader } from './constructs/finance-reader.ts';
import { FinanceViews } from './constructs/finance-views.ts';
import {
  acknowledgeCloudWatchTelemetryFindings,
  acknowledgeFinanceReaderFindings,
  acknowledgeFinanceViewsFindings,
  acknowledgeRunPipelineFindings,
  acknowledgeTelemetryStreamFindings,
} from './constructs/nag-findings.ts';
import { QueryWorkgroup } from './constructs/query-workgroup.ts';
import { RunPipeline } from './constructs/run-pipeline.ts';
import { ServingTable } from './constructs/serving-table.ts';
import { Storage } from './constructs/storage.ts';
import { StripeMrr } from './constructs/stripe-mrr.ts';
import { TelemetryStream } from './constructs/telemetry-stream.ts';

/** Props of the CostPerCustomer construct: the user configuration, every field optional. */
export interface CostPerCustomerProps extends CostPerCustomerConfig {}

/**
 * The whole cost-per-customer product, as one construct to drop into any CDK stack: encryption key,
 * buckets, Glue catalog, Athena workgroup, serving table, alert topics and, optionally, the CUR 2.0
 * export. Props are validated first; a bad value throws a ConfigError naming it.
 */
export class CostPerCustomer extends Construct {
  /** The validated configuration with defaults applied. */
  readonly config: ResolvedConfig;
  readonly encryption: EncryptionKey;
  readonly storage: Storage;
  readonly catalog: Catalog;
  readonly queryWorkgroup: QueryWorkgroup;
  readonly servingTable: ServingTable;
  readonly alerting: Alerting;
  /** The attribution run: Lambdas, state machine, S3 trigger, dead-letter queue and alarms. */
  readonly pipeline: RunPipeline;
  /** The finance views and their saved queries in the workgroup. */
  readonly financeViews: FinanceViews;
  /** The finance reader policy, and its role when `financeReaderPrincipals` are given. */
  readonly financeReader: FinanceReader;
  /** Present when `createCurExport` is true. */
  readonly curExport?: CurExport;
  /** Present when `telemetryStream` is true (the default). */
  readonly telemetryStream?: TelemetryStream;
  /** Present when `telemetryCloudWatch` names sources. */
  readonly cloudWatchTelemetry?: CloudWatchTelemetry;
  /** Present when `stripeSecretArn` is set. */
  readonly stripeMrr?: StripeMrr;

  constructor(scope: Construct, id: string, props: CostPerCustomerProps = {}) {
    super(scope, id);
    const config = resolveConfig(props);
    this.config = config;
    const stackName = Stack.of(this).stackName;
    const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    this.encryption = new EncryptionKey(this, 'EncryptionKey', { removalPolicy });
    const encryptionKey = this.encryption.key;

    this.storage = new Storage(this, 'Storage', {
      encryptionKey,
      removalPolicy,
      curPrefix: config.curPrefix,
      sourceAccountIds: config.sourceAccountIds,
    });

    const billingExports = billingExportsOf(config);
    this.catalog = new Catalog(this, 'Catalog', {
      databaseName: config.databaseName ?? snakeCase(stackName),
      curBucket: this.storage.curBucket,
      curPrefix: config.curPrefix,
      curExportName: config.curExportName,
      billingExports,
      tenantTagKey: config.tenantTagKey,
      dataBucket: this.storage.dataBucket,
      resultsBucket: this.storage.resultsBucket,
    });

    this.queryWorkgroup = new QueryWorkgroup(this, 'QueryWorkgroup', {
      workgroupName: config.workgroupName ?? stackName,
      queryResultsBucket: this.storage.queryResultsBucket,
      encryptionKey,
      bytesScannedCutoffPerQuery: config.bytesScannedCutoffPerQuery,
    });

    this.servingTable = new ServingTable(this, 'ServingTable', { encryptionKey, removalPolicy });

    this.alerting = new Alerting(this, 'Alerting', {
      encryptionKey,
      ...(config.slackWorkspaceId && config.slackChannelId
        ? { slack: { workspaceId: config.slackWorkspaceId, channelId: config.slackChannelId } }
        : {}),
    });

    this.pipeline = new RunPipeline(this, 'Pipeline', {
      curBucket: this.storage.curBucket,
      dataBucket: this.storage.dataBucket,
      resultsBucket: this.storage.resultsBucket,
      queryResultsBucket: this.storage.queryResultsBucket,
      encryptionKey,
      databaseName: this.catalog.databaseName,
      workgroupName: this.queryWorkgroup.workgroupName,
      servingTable: this.servingTable.table,
      alertTopic: this.alerting.alertTopic,
      operationsTopic: this.alerting.operationsTopic,
      billingExports,
      config: {
        curPrefix: config.curPrefix,
        curExportName: config.curExportName,
        tenantTagKey: config.tenantTagKey,
        costBasis: config.costBasis,
        alerts: config.alerts,
        servingRetentionDays: config.servingRetentionDays,
      },
      removalPolicy,
    });
    // The queries name the workgroup and database by name: create them first.
    this.pipeline.node.addDependency(this.queryWorkgroup.workgroup, this.catalog.database);
    acknowledgeRunPipelineFindings(this.pipeline);

    this.financeViews = new FinanceViews(this, 'FinanceViews', {
      databaseName: this.catalog.databaseName,
      financeDatabaseName: this.catalog.financeDatabaseName,
      workgroupName: this.queryWorkgroup.workgroupName,
      queryResultsBucket: this.storage.queryResultsBucket,
      resultsBucket: this.storage.resultsBucket,
      encryptionKey,
      dependsOn: [
        this.queryWorkgroup.workgroup,
        this.catalog.database,
        this.catalog.financeDatabase,
        ...Object.values(this.catalog.tables),
      ],
      removalPolicy,
    });
    acknowledgeFinanceViewsFindings(this.financeViews);

    this.financeReader = new FinanceReader(this, 'FinanceReader', {
      databaseName: this.catalog.databaseName,
      financeDatabaseName: this.catalog.financeDatabaseName,
      workgroupName: this.queryWorkgroup.workgroupName,
      resultsBucket: this.storage.resultsBucket,
      queryResultsBucket: this.storage.queryResultsBucket,
      encryptionKey,
      principals: config.financeReaderPrincipals,
    });
    acknowledgeFinanceReaderFindings(this.financeReader);

    if (config.telemetryStream) {
      this.telemetryStream = new TelemetryStream(this, 'TelemetryStream', {
        dataBucket: this.storage.dataBucket,
        encryptionKey,
        operationsTopic: this.alerting.operationsTopic,
        removalPolicy,
      });
      acknowledgeTelemetryStreamFindings(this.telemetryStream, this.storage.dataBucket);
    }

    if (config.telemetryCloudWatch.length > 0) {
      this.cloudWatchTelemetry = new CloudWatchTelemetry(this, 'CloudWatchTelemetry', {
        sources: config.telemetryCloudWatch,
        dataBucket: this.storage.dataBucket,
        encryptionKey,
        removalPolicy,
      });
      acknowledgeCloudWatchTelemetryFindings(
        this.cloudWatchTelemetry,
        this.storage.dataBucket,
        config.telemetryCloudWatch,
      );
    }

    if (config.stripeSecretArn !== undefined) {
      this.stripeMrr = new StripeMrr(this, 'StripeMrr', {
        secretArn: config.stripeSecretArn,
        dataBucket: this.storage.dataBucket,
        encryptionKey,
        removalPolicy,
      });
    }

    if (config.createCurExport) {
      const curBucket = this.storage.curBucket;
      this.curExport = new CurExport(this, 'CurExport', {
        exportName: config.curExportName,
        bucket: curBucket,
        prefix: config.curPrefix,
        columns: cur2Columns(config.tenantTagKey).map((column) => column.name),
        removalPolicy,
        // Data Exports checks the bucket policy (and the key it writes with) when the export is created.
        ...(curBucket.policy ? { dependsOn: curBucket.policy } : {}),
      });
      this.curExport.node.addDependency(encryptionKey);
    }
    giveCdkHandlersLogRetention(this, { encryptionKey, removalPolicy });
  }
}

export interface CostPerCustomerStackProps extends StackProps {
  /** Configuration of the product. @default - every default of CostPerCustomerConfig */
  readonly config?: CostPerCustomerConfig;
}

/** A stack holding one CostPerCustomer construct: what `bin/app.ts` deploys. */
export class CostPerCustomerStack extends Stack {
  readonly costPerCustomer: CostPerCustomer;

  constructor(scope: Construct, id: string, props: CostPerCustomerStackProps = {}) {
    super(scope, id, {
      description: 'Cost per customer: attributes the AWS bill to SaaS customers',
      ...props,
    });
    const product = new CostPerCustomer(this, 'CostPerCustomer', props.config ?? {});
    this.costPerCustomer = product;
    // What a user needs after deploy: where billing data and inputs go, and where to query.
    const outputs: Record<string, [string, string]> = {
      CurBucketName: [
        product.storage.curBucket.bucketName,
        'Bucket an existing CUR 2.0 export should deliver to',
      ],
      CurExportPath: [
        `${product.config.curPrefix}/${product.config.curExportName}`,
        'Export prefix/name the cur2 table reads (S3 prefix and export name of the export)',
      ],
      BillingExportPaths: [
        billingExportsOf(product.config)
          .flatMap((e) =>
            exportFolders(product.config.curPrefix, e).map((folder) => `${e.format.name}=${folder}`),
          )
          .join(' '),
        'Every export read, as format=prefix/name (cpc:curExportName and cpc:billingExports)',
      ],
      DataBucketName: [
        product.storage.dataBucket.bucketName,
        'Upload telemetry/, customers/ and rules/ here',
      ],
      ResultsBucketName: [
        product.storage.resultsBucket.bucketName,
        "Run results (runs/) and each billing period's HTML report (reports/billing_period=YYYY-MM/report.html)",
      ],
      GlueDatabaseName: [product.catalog.databaseName, 'Glue database of the CUR, input and result tables'],
      FinanceDatabaseName: [product.catalog.financeDatabaseName, 'Glue database of the finance views'],
      AthenaWorkgroupName: [product.queryWorkgroup.workgroupName, 'Athena workgroup to query the results in'],
      ServingTableName: [product.servingTable.table.tableName, 'DynamoDB table serving per-customer results'],
      AlertTopicArn: [
        product.alerting.alertTopic.topicArn,
        'SNS topic of cost alerts (subscribe with a filter)',
      ],
      OperationsTopicArn: [product.alerting.operationsTopic.topicArn, 'SNS topic of pipeline failures'],
      StateMachineArn: [
        product.pipeline.stateMachine.stateMachineArn,
        'The attribution run: one execution per run',
      ],
      OnDeliveryFunctionName: [
        product.pipeline.functions['on-delivery'].functionName,
        'Invoke with {"rerun":{"billingPeriod":"YYYY-MM","requestId":"<id>"}} to re-run a billing period',
      ],
      FinanceReaderPolicyArn: [
        product.financeReader.policy.managedPolicyArn,
        'Managed policy to attach to a finance role: query the finance views in the workgroup, read reports/',
      ],
    };
    if (product.telemetryStream) {
      outputs.TelemetryStreamName = [
        product.telemetryStream.deliveryStream.ref,
        'Firehose stream to send usage records to ({usage_date, tenant_id, metric, quantity} JSON)',
      ];
    }
    const financeRole = product.financeReader.role;
    if (financeRole) {
      outputs.FinanceReaderRoleArn = [
        financeRole.roleArn,
        'Role that cpc:financeReaderPrincipals assume to query the finance views',
      ];
    }
    for (const [id, [value, description]] of Object.entries(outputs)) {
      new CfnOutput(this, id, { value, description });
    }
  }
}

/** `CostPerCustomer` -> `cost_per_customer`: a Glue-safe name from a stack name. */
function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toLowerCase()
    .slice(0, 255);
}
