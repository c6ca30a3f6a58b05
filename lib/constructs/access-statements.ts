import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';

/*
 * Hand-written statements for what the CDK grants give too broadly (lambdas/README.md, "Permissions"):
 * `bucket.grantRead` adds `s3:List*` on the whole bucket and `grantReadWrite` adds `s3:DeleteObject*`;
 * `table.grantReadWriteData` allows every item of the table. Each statement here names its actions and
 * its keys, prefixes or leading keys.
 */

/** What a principal reads from S3: `GetObject` on the objects of the patterns. */
export const S3_READ = ['s3:GetObject'];
/** What a principal writes to S3 (multipart uploads included, as Athena and the SDK's uploads use them). */
export const S3_WRITE = ['s3:PutObject', 's3:AbortMultipartUpload'];

/** Actions on the objects matching the key patterns (each ending in `*` or naming one key). */
export function objectStatement(
  sid: string,
  bucket: s3.IBucket,
  actions: readonly string[],
  patterns: readonly string[],
): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    actions: [...actions],
    resources: patterns.map((pattern) => bucket.arnForObjects(pattern)),
  });
}

/**
 * `s3:ListBucket` on the bucket, only for listings whose `prefix` matches one of the patterns
 * (`runs/*` allows listing `runs/run=x/`, not the bucket's root or another prefix).
 */
export function listStatement(
  sid: string,
  bucket: s3.IBucket,
  prefixes: readonly string[],
): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    actions: ['s3:ListBucket'],
    resources: [bucket.bucketArn],
    conditions: { StringLike: { 's3:prefix': [...prefixes] } },
  });
}

/**
 * DynamoDB actions on the items of the table whose partition key matches one of the patterns
 * (`dynamodb:LeadingKeys`). `ForAllValues` checks every key of a batch request; it is also true of a
 * request without keys (Scan), which is why no statement here allows one.
 */
export function itemStatement(
  sid: string,
  tableArn: string,
  actions: readonly string[],
  leadingKeys: readonly string[],
): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    actions: [...actions],
    resources: [tableArn],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...leadingKeys] } },
  });
}

/** KMS on the stack key: reading data it encrypted (S3, DynamoDB), and writing new data with it. */
export function keyStatement(sid: string, key: kms.IKey, use: 'read' | 'write'): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    actions:
      use === 'read'
        ? ['kms:Decrypt', 'kms:DescribeKey']
        : ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey*'],
    resources: [key.keyArn],
  });
}
