import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/**
 * Key attributes of the serving table. Item layouts (which pk/sk values a daily cost, a month-to-date
 * summary or an alert sent-state uses) belong to the code that writes them.
 */
export const SERVING_TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Epoch seconds after which DynamoDB deletes the item (alert sent-state, superseded items). */
  timeToLive: 'expires_at',
  /** Lists the month-to-date summaries of a billing period, ordered by cost. */
  byPeriodCost: { indexName: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
} as const;

export interface ServingTableProps {
  /** Customer-managed key the table is encrypted with. */
  readonly encryptionKey: kms.IKey;
  /**
   * RETAIN keeps the table (and turns on deletion protection); DESTROY deletes it with the stack.
   */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The DynamoDB table that serves per-customer results to the product and customer-success tools, and
 * keeps alert sent-state. On-demand capacity, encrypted with the CMK, point-in-time recovery, TTL on
 * `expires_at`. The index `gsi1` has a string partition key (for example the billing period) and a
 * NUMBER sort key (the cost), so "customers of 2025-01 by month-to-date cost" is one Query, in either
 * order, negative costs (credits) included.
 */
export class ServingTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: ServingTableProps) {
    super(scope, id);
    const keys = SERVING_TABLE_KEYS;
    // Table rather than TableV2: TableV2 cannot render a customer-managed key in a region-agnostic stack.
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: keys.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: keys.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.encryptionKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: keys.timeToLive,
      deletionProtection: props.removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy: props.removalPolicy,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: keys.byPeriodCost.indexName,
      partitionKey: { name: keys.byPeriodCost.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: keys.byPeriodCost.sortKey, type: dynamodb.AttributeType.NUMBER },
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }
}
