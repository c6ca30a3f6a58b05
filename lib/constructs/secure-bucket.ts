import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

export interface SecureBucketProps {
  /**
   * The customer-managed key for SSE-KMS (with an S3 Bucket Key, which cuts KMS requests). Required
   * unless `accessLogTarget` is true.
   * @default - none; only allowed for the access-log bucket
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * This bucket receives S3 server access logs. S3 log delivery cannot write to SSE-KMS buckets, so it
   * is encrypted with S3-managed keys, and it does not log its own access (that would loop).
   * @default false
   */
  readonly accessLogTarget?: boolean;
  /**
   * Where this bucket's server access logs go. Required unless `accessLogTarget` is true.
   * @default - none; only allowed for the access-log bucket
   */
  readonly serverAccessLogs?: { readonly bucket: s3.IBucket; readonly prefix: string };
  /**
   * Keep object versions, so an overwrite or a delete can be undone while noncurrent versions live.
   * @default true
   */
  readonly versioned?: boolean;
  /**
   * How long noncurrent versions are kept (versioned buckets only).
   * @default Duration.days(30)
   */
  readonly noncurrentVersionExpiration?: Duration;
  /** Lifecycle rules besides the noncurrent-version and multipart-upload clean-up. */
  readonly lifecycleRules?: s3.LifecycleRule[];
  /**
   * RETAIN keeps the bucket and its objects when the stack is deleted; DESTROY deletes both.
   */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * An S3 bucket with this project's secure defaults in one place: all public access blocked, TLS 1.2+
 * only (a bucket policy denies plain HTTP), ACLs disabled, SSE-KMS with the customer-managed key,
 * server access logs, versioning, and clean-up of noncurrent versions and abandoned multipart uploads.
 */
export class SecureBucket extends s3.Bucket {
  constructor(scope: Construct, id: string, props: SecureBucketProps) {
    const accessLogTarget = props.accessLogTarget ?? false;
    if (!accessLogTarget && props.encryptionKey === undefined) {
      throw new Error(
        `SecureBucket ${id}: encryptionKey is required (only the access-log bucket uses S3-managed keys)`,
      );
    }
    if (!accessLogTarget && props.serverAccessLogs === undefined) {
      throw new Error(
        `SecureBucket ${id}: serverAccessLogs is required (only the access-log bucket does not log)`,
      );
    }
    if (accessLogTarget && (props.encryptionKey !== undefined || props.serverAccessLogs !== undefined)) {
      throw new Error(
        `SecureBucket ${id}: an access-log target uses S3-managed encryption and does not log its own access`,
      );
    }
    const versioned = props.versioned ?? true;
    const destroy = props.removalPolicy === RemovalPolicy.DESTROY;
    super(scope, id, {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      ...(props.encryptionKey
        ? { encryption: s3.BucketEncryption.KMS, encryptionKey: props.encryptionKey, bucketKeyEnabled: true }
        : { encryption: s3.BucketEncryption.S3_MANAGED }),
      ...(props.serverAccessLogs
        ? {
            serverAccessLogsBucket: props.serverAccessLogs.bucket,
            serverAccessLogsPrefix: props.serverAccessLogs.prefix,
          }
        : {}),
      versioned,
      lifecycleRules: [
        {
          id: 'AbortIncompleteMultipartUploads',
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
        ...(versioned
          ? [
              {
                id: 'ExpireNoncurrentVersions',
                noncurrentVersionExpiration: props.noncurrentVersionExpiration ?? Duration.days(30),
                expiredObjectDeleteMarker: true,
              },
            ]
          : []),
        ...(props.lifecycleRules ?? []),
      ],
      removalPolicy: props.removalPolicy,
      // A bucket that still holds objects cannot be deleted: emptying it is what "destroy" asks for.
      autoDeleteObjects: destroy,
    });
  }
}
