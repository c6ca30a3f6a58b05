import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { cur2Columns } from './catalog/glue-schemas.ts';
import { CurExport } from './constructs/cur-export.ts';

export interface SourceAccountStackProps extends StackProps {
  /** The cost account: where CostPerCustomerStack runs and owns the CUR bucket. */
  readonly costAccountId: string;
  /** The cost stack's CUR bucket (its `CurBucketName` output) and the bucket's region. */
  readonly curBucketName: string;
  readonly curBucketRegion: string;
  /**
   * The cost stack's `cpc:curPrefix` and `cpc:curExportName`: the export writes into
   * `<curPrefix>/<this account>/<exportName>/`, the folder the cost stack reads for this account.
   */
  readonly curPrefix: string;
  readonly exportName: string;
  /** The cost stack's `cpc:tenantTagKey`: the export's columns are those its table declares. */
  readonly tenantTagKey: string;
  /**
   * RETAIN leaves the export delivering when this stack is deleted; DESTROY deletes it.
   * @default RemovalPolicy.DESTROY: deleting this stack stops the delivery, which is what deleting it means
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * What a source account deploys (docs/aws-pipeline.md, "Organizations"): the CUR 2.0 export of AWS Data
 * Exports, delivering into the cost account's CUR bucket (`S3BucketOwner`) in this account's folder
 * `<curPrefix>/<account>/`, with the settings the cost stack's own export would have (Parquet, overwrite, daily, resource
 * ids and split cost allocation data, exactly the columns its table declares). Deployed in the
 * Organization's management account, the export covers every member account. Nothing else: the cost
 * account's bucket policy and key policy decide what may be written.
 */
export class SourceAccountStack extends Stack {
  readonly curExport: CurExport;

  constructor(scope: Construct, id: string, props: SourceAccountStackProps) {
    super(scope, id, props);
    if (!/^\d{12}$/.test(props.costAccountId)) {
      throw new Error(
        `SourceAccountStack: costAccountId must be a 12-digit account id, got ${props.costAccountId}`,
      );
    }
    this.curExport = new CurExport(this, 'CurExport', {
      exportName: props.exportName,
      bucket: s3.Bucket.fromBucketName(this, 'CostAccountCurBucket', props.curBucketName),
      bucketOwner: props.costAccountId,
      bucketRegion: props.curBucketRegion,
      // The account's own folder: the cost account's bucket policy lets it write there only.
      prefix: `${props.curPrefix}/${this.account}`,
      columns: cur2Columns(props.tenantTagKey).map((column) => column.name),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
  }
}
