import { RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as bcm from 'aws-cdk-lib/aws-bcmdataexports';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, type IDependable } from 'constructs';
import { nagFindingText } from './nag-findings.ts';

/** AWS Data Exports is a us-east-1 service, whatever region the bucket is in. */
export const DATA_EXPORTS_REGION = 'us-east-1';

/** The CUR 2.0 table of AWS Data Exports. */
const CUR2_TABLE = 'COST_AND_USAGE_REPORT';

/**
 * CUR 2.0 table settings: resource ids (the tenant tag alone leaves shared cost unexplained), split
 * cost allocation data for ECS and EKS, and daily granularity, which is what the attribution uses
 * (hourly rows would multiply the bytes every query scans by up to 24).
 */
const CUR2_TABLE_CONFIGURATION = {
  TIME_GRANULARITY: 'DAILY',
  INCLUDE_RESOURCES: 'TRUE',
  INCLUDE_SPLIT_COST_ALLOCATION_DATA: 'TRUE',
  INCLUDE_MANUAL_DISCOUNT_COMPATIBILITY: 'FALSE',
};

export interface CurExportProps {
  /** Name of the export (letters, digits, - and _). */
  readonly exportName: string;
  /** The bucket the export writes into; its policy must let Data Exports write (see Storage). */
  readonly bucket: s3.IBucket;
  /** Prefix of the export in the bucket, without slashes at either end. */
  readonly prefix: string;
  /** CUR 2.0 columns to export; the query selects exactly these. */
  readonly columns: readonly string[];
  /**
   * RETAIN leaves the export delivering when the stack is deleted; DESTROY deletes it.
   */
  readonly removalPolicy: RemovalPolicy;
  /**
   * The account that owns `bucket`, when it is not the stack's: an export delivering into the cost
   * account's bucket from the Organization's management account (`S3BucketOwner`).
   * @default - the stack's account owns the bucket
   */
  readonly bucketOwner?: string;
  /**
   * The bucket's region.
   * @default - the stack's region
   */
  readonly bucketRegion?: string;
  /**
   * What must exist before the export is created: Data Exports checks the bucket policy then.
   * @default - no extra dependency
   */
  readonly dependsOn?: IDependable;
}

/**
 * A CUR 2.0 export (AWS Data Exports): Parquet, overwriting the billing period on each refresh,
 * resource ids and split cost allocation data included, refreshed as billing data changes.
 *
 * Data Exports exists only in us-east-1. In a us-east-1 stack the export is a native
 * `AWS::BCMDataExports::Export`; elsewhere a custom resource calls the Data Exports API in us-east-1
 * (CreateExport, UpdateExport, and DeleteExport only with DESTROY). Renaming an export in place is not
 * supported by the API: change `exportName` by removing the export and adding it again.
 */
export class CurExport extends Construct {
  /** ARN of the export. */
  readonly exportArn: string;

  constructor(scope: Construct, id: string, props: CurExportProps) {
    super(scope, id);
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(props.exportName)) {
      throw new Error(`CurExport: exportName must be 1-128 letters, digits, - or _, got ${props.exportName}`);
    }
    if (props.columns.length === 0 || props.columns.some((c) => !/^[a-z][a-z0-9_]*$/.test(c))) {
      throw new Error('CurExport: columns must be CUR 2.0 column names (lower case snake case)');
    }
    const stack = Stack.of(this);
    const queryStatement = `SELECT ${props.columns.join(', ')} FROM ${CUR2_TABLE}`;
    const description = 'Cost per customer: CUR 2.0 for per-customer cost attribution';
    const destination = {
      s3Bucket: props.bucket.bucketName,
      s3Prefix: props.prefix,
      s3Region: props.bucketRegion ?? stack.region,
      // Only for delivering to another account's bucket.
      ...(props.bucketOwner === undefined ? {} : { s3BucketOwner: props.bucketOwner }),
    };

    if (!Token.isUnresolved(stack.region) && stack.region === DATA_EXPORTS_REGION) {
      const cfnExport = new bcm.CfnExport(this, 'Export', {
        export: {
          name: props.exportName,
          description,
          dataQuery: { queryStatement, tableConfigurations: { [CUR2_TABLE]: CUR2_TABLE_CONFIGURATION } },
          destinationConfigurations: {
            s3Destination: {
              ...destination,
              s3OutputConfigurations: {
                outputType: 'CUSTOM',
                format: 'PARQUET',
                compression: 'PARQUET',
                overwrite: 'OVERWRITE_REPORT',
              },
            },
          },
          refreshCadence: { frequency: 'SYNCHRONOUS' },
        },
      });
      cfnExport.applyRemovalPolicy(props.removalPolicy);
      if (props.dependsOn) cfnExport.node.addDependency(props.dependsOn);
      this.exportArn = cfnExport.attrExportArn;
      return;
    }

    // Same export through the API (SDK v3 shapes: PascalCase).
    const exportDefinition = {
      Name: props.exportName,
      Description: description,
      DataQuery: {
        QueryStatement: queryStatement,
        TableConfigurations: { [CUR2_TABLE]: CUR2_TABLE_CONFIGURATION },
      },
      DestinationConfigurations: {
        S3Destination: {
          S3Bucket: destination.s3Bucket,
          S3Prefix: destination.s3Prefix,
          S3Region: destination.s3Region,
          ...(props.bucketOwner === undefined ? {} : { S3BucketOwner: props.bucketOwner }),
          S3OutputConfigurations: {
            OutputType: 'CUSTOM',
            Format: 'PARQUET',
            Compression: 'PARQUET',
            Overwrite: 'OVERWRITE_REPORT',
          },
        },
      },
      RefreshCadence: { Frequency: 'SYNCHRONOUS' },
    };
    const sdkCall = (action: string, parameters: Record<string, unknown>): cr.AwsSdkCall => ({
      service: '@aws-sdk/client-bcm-data-exports',
      action,
      region: DATA_EXPORTS_REGION,
      parameters,
      physicalResourceId: cr.PhysicalResourceId.fromResponse('ExportArn'),
    });
    const destroy = props.removalPolicy === RemovalPolicy.DESTROY;
    const exportArns = `arn:${stack.partition}:bcm-data-exports:${DATA_EXPORTS_REGION}:${stack.account}:export/*`;
    const tableArn = `arn:${stack.partition}:bcm-data-exports:${DATA_EXPORTS_REGION}:${stack.account}:table/${CUR2_TABLE}`;
    const reportDefinitions = `arn:${stack.partition}:cur:${DATA_EXPORTS_REGION}:${stack.account}:definition/*`;
    const logGroup = new logs.LogGroup(this, 'ProviderLogGroup', {
      retention: logs.RetentionDays.ONE_YEAR,
      removalPolicy: props.removalPolicy,
    });
    const resource = new cr.AwsCustomResource(this, 'Export', {
      resourceType: 'Custom::CurExport',
      onCreate: sdkCall('CreateExport', { Export: exportDefinition }),
      onUpdate: sdkCall('UpdateExport', {
        ExportArn: new cr.PhysicalResourceIdReference(),
        Export: exportDefinition,
      }),
      ...(destroy
        ? {
            onDelete: {
              service: '@aws-sdk/client-bcm-data-exports',
              action: 'DeleteExport',
              region: DATA_EXPORTS_REGION,
              parameters: { ExportArn: new cr.PhysicalResourceIdReference() },
            },
          }
        : {}),
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({
          // CreateExport and UpdateExport authorize against the export and the table they read.
          actions: [
            'bcm-data-exports:CreateExport',
            'bcm-data-exports:UpdateExport',
            ...(destroy ? ['bcm-data-exports:DeleteExport'] : []),
          ],
          resources: [exportArns, tableArn],
        }),
        new iam.PolicyStatement({
          // A CUR 2.0 export is also a CUR report definition: creating one is authorized as that too.
          actions: [
            'cur:PutReportDefinition',
            'cur:ModifyReportDefinition',
            ...(destroy ? ['cur:DeleteReportDefinition'] : []),
          ],
          resources: [reportDefinitions],
        }),
      ]),
      installLatestAwsSdk: false,
      logGroup,
    });
    if (props.dependsOn) resource.node.addDependency(props.dependsOn);
    this.exportArn = resource.getResponseField('ExportArn');

    const why =
      'Data Exports assigns the export ARN (name plus a generated id) and the CUR report definition name at ' +
      "creation, so the custom resource's policy is scoped to this account's exports and report definitions.";
    Validations.of(resource).acknowledge(
      { id: `AwsSolutions-IAM5[Resource::${nagFindingText(this, exportArns)}]`, reason: why },
      { id: `AwsSolutions-IAM5[Resource::${nagFindingText(this, reportDefinitions)}]`, reason: why },
    );
    this.acknowledgeProviderFindings();
  }

  /**
   * The custom resource runs on CDK's singleton provider function (one per stack, outside this
   * construct), whose role has the AWS managed basic-execution policy.
   */
  private acknowledgeProviderFindings(): void {
    const stack = Stack.of(this);
    const provider = stack.node.tryFindChild(
      `AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replaceAll('-', '')}`,
    );
    const role = provider?.node.tryFindChild('ServiceRole')?.node.defaultChild as iam.CfnRole | undefined;
    const managedPolicies = role
      ? (stack.resolve(role.managedPolicyArns) as unknown[] | undefined)
      : undefined;
    for (const policyArn of managedPolicies ?? []) {
      const text = nagFindingText(stack, policyArn);
      if (!text.endsWith(':iam::aws:policy/service-role/AWSLambdaBasicExecutionRole')) continue;
      Validations.of(role as iam.CfnRole).acknowledge({
        id: `AwsSolutions-IAM4[Policy::${text}]`,
        reason:
          "CDK's AwsCustomResource provider function uses AWSLambdaBasicExecutionRole, which grants only writing " +
          'its own CloudWatch Logs; the provider is created by CDK and its role is not configurable per call.',
      });
    }
  }
}
