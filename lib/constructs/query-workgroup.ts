import { Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Athena's name for engine version 3 (Trino), the engine the attribution SQL is written for. */
export const ATHENA_ENGINE_VERSION = 'Athena engine version 3';

export interface QueryWorkgroupProps {
  /** Name of the workgroup. */
  readonly workgroupName: string;
  /** Bucket for query results (scratch; expired by lifecycle). */
  readonly queryResultsBucket: s3.IBucket;
  /**
   * Prefix of query results in that bucket, ending with `/`.
   * @default 'athena/'
   */
  readonly queryResultsPrefix?: string;
  /** Customer-managed key for query results (SSE_KMS). */
  readonly encryptionKey: kms.IKey;
  /** A query that would scan more bytes than this is cancelled (Athena minimum 10 MB). */
  readonly bytesScannedCutoffPerQuery: number;
}

/**
 * The Athena workgroup the pipeline runs in. Its settings are enforced (a query cannot override the
 * output location, the encryption or the cutoff), results are SSE-KMS encrypted with the CMK, the
 * bytes-scanned cutoff caps what one bad query can cost, and metrics go to CloudWatch.
 *
 * Result reuse is off: Athena has no workgroup switch for it; it is a per-query option
 * (`ResultReuseConfiguration` on StartQueryExecution) that defaults to off, and the pipeline never
 * sets it, because a reused result does not notice that AWS overwrote the CUR since.
 */
export class QueryWorkgroup extends Construct {
  readonly workgroup: athena.CfnWorkGroup;
  readonly workgroupName: string;
  readonly workgroupArn: string;

  constructor(scope: Construct, id: string, props: QueryWorkgroupProps) {
    super(scope, id);
    if (
      !Number.isInteger(props.bytesScannedCutoffPerQuery) ||
      props.bytesScannedCutoffPerQuery < 10_000_000
    ) {
      throw new Error(
        'QueryWorkgroup: bytesScannedCutoffPerQuery must be a whole number of at least 10,000,000',
      );
    }
    const prefix = props.queryResultsPrefix ?? 'athena/';
    const stack = Stack.of(this);
    this.workgroupName = props.workgroupName;
    this.workgroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: props.workgroupName,
      description: 'Cost per customer: attribution runs and finance queries',
      state: 'ENABLED',
      // Deleting the workgroup also deletes its saved queries and history (not data: results stay in S3).
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        engineVersion: { selectedEngineVersion: ATHENA_ENGINE_VERSION },
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.bytesScannedCutoffPerQuery,
        requesterPaysEnabled: false,
        resultConfiguration: {
          outputLocation: props.queryResultsBucket.s3UrlForObject(prefix),
          expectedBucketOwner: stack.account,
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: props.encryptionKey.keyArn },
        },
      },
    });
    this.workgroupArn = stack.formatArn({
      service: 'athena',
      resource: 'workgroup',
      resourceName: props.workgroupName,
    });
  }
}
