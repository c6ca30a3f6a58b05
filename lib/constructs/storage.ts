import { Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { PREFIXES } from '../common/names.ts';
import { SUPERSEDED_RUN_TAG } from '../pipeline/run-contract.ts';
import { SecureBucket } from './secure-bucket.ts';

/** Billing services that deliver CUR and CUR 2.0 files (legacy CUR and AWS Data Exports). */
export const BILLING_DELIVERY_PRINCIPALS = ['billingreports.amazonaws.com', 'bcm-data-exports.amazonaws.com'];

export interface StorageProps {
  /** The customer-managed key every data bucket is encrypted with. */
  readonly encryptionKey: kms.IKey;
  /** RETAIN keeps the buckets and their objects when the stack is deleted. */
  readonly removalPolicy: RemovalPolicy;
  /**
   * The CUR prefix (without slashes at either end): AWS billing may write under it only.
   */
  readonly curPrefix: string;
  /**
   * Accounts whose AWS Data Exports exports may deliver, each under `<curPrefix>/<account>/` only:
   * the payer accounts of Organizations, or member accounts (docs/aws-pipeline.md, "Organizations").
   * @default []
   */
  readonly sourceAccountIds?: readonly string[];
  /**
   * How long superseded runs' result files stay after they were written (S3 counts from the object's
   * creation), so queries that started before a publish can finish.
   * @default Duration.days(30)
   */
  readonly supersededRunExpiration?: Duration;
  /**
   * How long Athena query results are kept.
   * @default Duration.days(7)
   */
  readonly queryResultsExpiration?: Duration;
  /**
   * How long server access logs are kept.
   * @default Duration.days(365)
   */
  readonly accessLogExpiration?: Duration;
}

/**
 * The buckets of the pipeline: CUR (written by AWS billing), data (telemetry, customers, rules),
 * results (run-scoped Parquet), Athena query results, and the server access logs of all four.
 */
export class Storage extends Construct {
  readonly accessLogBucket: s3.Bucket;
  readonly curBucket: s3.Bucket;
  readonly dataBucket: s3.Bucket;
  readonly resultsBucket: s3.Bucket;
  readonly queryResultsBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    // Log delivery through a bucket policy (not the legacy log-delivery ACL, which needs ACLs enabled),
    // whatever the app's feature flags say.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const { encryptionKey, removalPolicy } = props;

    this.accessLogBucket = new SecureBucket(this, 'AccessLogBucket', {
      accessLogTarget: true,
      versioned: false,
      lifecycleRules: [
        { id: 'ExpireAccessLogs', expiration: props.accessLogExpiration ?? Duration.days(365) },
      ],
      removalPolicy,
    });
    Validations.of(this.accessLogBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This is the server access log target of the other buckets; logging its own access would log each log delivery.',
    });
    const logsTo = (prefix: string) => ({ bucket: this.accessLogBucket, prefix });

    this.curBucket = new SecureBucket(this, 'CurBucket', {
      encryptionKey,
      serverAccessLogs: logsTo('cur/'),
      // Each refresh overwrites the month-to-date files (up to three times a day): keep a week of them.
      noncurrentVersionExpiration: Duration.days(7),
      removalPolicy,
    });
    this.allowBillingDelivery(this.curBucket, encryptionKey, props.curPrefix, props.sourceAccountIds ?? []);

    this.dataBucket = new SecureBucket(this, 'DataBucket', {
      encryptionKey,
      serverAccessLogs: logsTo('data/'),
      removalPolicy,
    });

    this.resultsBucket = new SecureBucket(this, 'ResultsBucket', {
      encryptionKey,
      serverAccessLogs: logsTo('results/'),
      noncurrentVersionExpiration: Duration.days(7),
      lifecycleRules: [
        {
          id: 'ExpireSupersededRuns',
          prefix: PREFIXES.runs,
          tagFilters: { [SUPERSEDED_RUN_TAG.key]: SUPERSEDED_RUN_TAG.value },
          expiration: props.supersededRunExpiration ?? Duration.days(30),
        },
      ],
      removalPolicy,
    });

    this.queryResultsBucket = new SecureBucket(this, 'QueryResultsBucket', {
      encryptionKey,
      serverAccessLogs: logsTo('query-results/'),
      // Scratch output of Athena; results that matter are UNLOADed to the results bucket.
      versioned: false,
      lifecycleRules: [
        { id: 'ExpireQueryResults', expiration: props.queryResultsExpiration ?? Duration.days(7) },
      ],
      removalPolicy,
    });
  }

  /**
   * Lets AWS billing deliver CUR files for this account and the source accounts only: the bucket policy
   * AWS Data Exports documents (policy check on the bucket, PutObject on the objects under the CUR prefix
   * only), restricted by `aws:SourceAccount` and `aws:SourceArn` to this account's CUR report definitions
   * and exports and to the source accounts' exports (Data Exports delivers across accounts; legacy CUR
   * does not), and the key grant the SSE-KMS writes need, under the same conditions.
   */
  private allowBillingDelivery(
    bucket: s3.Bucket,
    key: kms.IKey,
    curPrefix: string,
    sourceAccountIds: readonly string[],
  ): void {
    if (!/^[^/].*[^/]$|^[^/]$/.test(curPrefix)) {
      throw new Error(`Storage: curPrefix must not start or end with "/", got ${JSON.stringify(curPrefix)}`);
    }
    const stack = Stack.of(this);
    const sources = sourceAccountIds.filter((account) => account !== stack.account);
    const exportsOf = (account: string) =>
      `arn:${stack.partition}:bcm-data-exports:us-east-1:${account}:export/*`;
    const own = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: {
        'aws:SourceArn': [
          `arn:${stack.partition}:cur:us-east-1:${stack.account}:definition/*`,
          exportsOf(stack.account),
        ],
      },
    };
    // This account's exports and report definitions, or any source account's exports.
    const conditions =
      sources.length === 0
        ? own
        : {
            StringEquals: { 'aws:SourceAccount': [stack.account, ...sources] },
            ArnLike: { 'aws:SourceArn': [...own.ArnLike['aws:SourceArn'], ...sources.map(exportsOf)] },
          };
    const principals = BILLING_DELIVERY_PRINCIPALS.map((service) => new iam.ServicePrincipal(service));
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowBillingDeliveryPolicyCheck',
        principals,
        actions: ['s3:GetBucketPolicy', 's3:GetBucketAcl'],
        resources: [bucket.bucketArn],
        conditions,
      }),
    );
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowBillingDeliveryWrite',
        principals,
        actions: ['s3:PutObject'],
        resources: [bucket.arnForObjects(`${curPrefix}/*`)],
        conditions: own,
      }),
    );
    // Each source account only under its own folder: one payer's export cannot overwrite another's.
    for (const account of sources) {
      bucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: `AllowSourceAccountDelivery${account}`,
          principals: [new iam.ServicePrincipal('bcm-data-exports.amazonaws.com')],
          actions: ['s3:PutObject'],
          resources: [bucket.arnForObjects(`${curPrefix}/${account}/*`)],
          conditions: {
            StringEquals: { 'aws:SourceAccount': account },
            ArnLike: { 'aws:SourceArn': exportsOf(account) },
          },
        }),
      );
    }
    // Multipart uploads to SSE-KMS need Decrypt besides GenerateDataKey.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowBillingDeliveryEncryption',
        principals,
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        resources: ['*'],
        conditions,
      }),
    );
  }
}
