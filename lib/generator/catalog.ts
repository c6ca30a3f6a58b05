/**
 * Static vocabulary of the synthetic month: the AWS usage kinds line items are drawn from, customer
 * names, and the tenant ids that deliberately match no customer.
 */

/** How a usage kind's resource id is built. */
export type ResourceStyle =
  /** `head + 16 hex digits`, e.g. `i-0` + hex for an EC2 instance. */
  | 'hex'
  /** `head + account + tail + name`, where name carries the tenant (or `shared`) and a slot number. */
  | 'arn-name'
  /** `head + account + tail + 16 hex digits`. */
  | 'arn-hex'
  /** `head + name` without an account, e.g. an S3 bucket name. */
  | 'name'
  /** No resource id, as CUR shows for account-level usage. */
  | 'none';

/** One kind of AWS usage line item (product, usage type and operation with a price). */
export interface UsageKind {
  readonly product: string;
  readonly usageType: string;
  readonly operation: string;
  /** On-demand USD per usage unit. */
  readonly price: number;
  /** Typical usage amount of one line item for a mid-size tenant (per hour if hourly, else per day). */
  readonly base: number;
  readonly hourly: boolean;
  /** Usage counted in whole units (hours, requests) rather than fractions (GB-months, GB-seconds). */
  readonly integral: boolean;
  /** Eligible for the Compute Savings Plan. */
  readonly savingsPlan: boolean;
  /** 1-based index into RESERVATIONS when a reservation can cover this usage, else 0. */
  readonly reservation: number;
  /** Relative frequency among tenant-tagged line items (0 = never tagged to a tenant). */
  readonly tagWeight: number;
  /** Relative frequency among untagged, shared-infrastructure line items. */
  readonly sharedWeight: number;
  readonly style: ResourceStyle;
  readonly head: string;
  readonly tail: string;
  /** Word in generated resource names, e.g. `api` in `cust-00042-api-1`. */
  readonly word: string;
}

const R = 'us-east-1';

/** Usage kinds; the order is part of the deterministic output, so append only. */
export const USAGE_KINDS: readonly UsageKind[] = [
  k(
    'AmazonEC2',
    'USE1-BoxUsage:m7g.large',
    'RunInstances',
    0.0816,
    2,
    'h',
    { sp: true, ri: 1 },
    16,
    10,
    'hex',
    'i-0',
  ),
  k('AmazonEC2', 'USE1-BoxUsage:c7g.xlarge', 'RunInstances', 0.145, 2, 'h', { sp: true }, 8, 6, 'hex', 'i-0'),
  k(
    'AmazonEC2',
    'USE1-BoxUsage:r7g.2xlarge',
    'RunInstances',
    0.4284,
    1,
    'h',
    { sp: true },
    3,
    3,
    'hex',
    'i-0',
  ),
  k('AmazonEC2', 'USE1-EBS:VolumeUsage.gp3', 'CreateVolume-Gp3', 0.08, 6.5, 'd', {}, 6, 5, 'hex', 'vol-0'),
  k('AmazonEC2', 'USE1-DataTransfer-Regional-Bytes', 'InterZone-Out', 0.01, 50, 'd', {}, 3, 4, 'hex', 'i-0'),
  k('AWSDataTransfer', 'USE1-DataTransfer-Out-Bytes', 'RunInstances', 0.09, 20, 'd', {}, 4, 3, 'hex', 'i-0'),
  k(
    'AWSLambda',
    'USE1-Lambda-GB-Second',
    'Invoke',
    0.0000166667,
    100_000,
    'd',
    { sp: true },
    8,
    3,
    'arn-name',
    `arn:aws:lambda:${R}:`,
    ':function:',
    'api',
  ),
  k(
    'AWSLambda',
    'USE1-Request',
    'Invoke',
    0.0000002,
    500_000,
    'di',
    {},
    5,
    2,
    'arn-name',
    `arn:aws:lambda:${R}:`,
    ':function:',
    'api',
  ),
  k(
    'AmazonECS',
    'USE1-Fargate-vCPU-Hours:perCPU',
    'FargateTask',
    0.04048,
    2,
    'h',
    { sp: true },
    6,
    4,
    'arn-hex',
    `arn:aws:ecs:${R}:`,
    ':task/prod/',
  ),
  k(
    'AmazonECS',
    'USE1-Fargate-GB-Hours',
    'FargateTask',
    0.004445,
    8,
    'h',
    { sp: true },
    6,
    4,
    'arn-hex',
    `arn:aws:ecs:${R}:`,
    ':task/prod/',
  ),
  k(
    'AmazonEKS',
    'USE1-AmazonEKS-Hours:perCluster',
    'CreateOperation',
    0.1,
    1,
    'h',
    {},
    0,
    2,
    'arn-name',
    `arn:aws:eks:${R}:`,
    ':cluster/',
    'eks',
  ),
  k(
    'AWSELB',
    'USE1-LoadBalancerUsage',
    'LoadBalancing:Application',
    0.0225,
    1,
    'h',
    {},
    1,
    3,
    'arn-name',
    `arn:aws:elasticloadbalancing:${R}:`,
    ':loadbalancer/app/',
    'alb',
  ),
  k(
    'AWSELB',
    'USE1-LCUUsage',
    'LoadBalancing:Application',
    0.008,
    5,
    'hf',
    {},
    1,
    3,
    'arn-name',
    `arn:aws:elasticloadbalancing:${R}:`,
    ':loadbalancer/app/',
    'alb',
  ),
  k(
    'AmazonCloudFront',
    'US-DataTransfer-Out-Bytes',
    'WebDistribution',
    0.085,
    30,
    'd',
    {},
    2,
    2,
    'arn-hex',
    'arn:aws:cloudfront::',
    ':distribution/E',
  ),
  k(
    'AmazonApiGateway',
    'USE1-ApiGatewayRequest',
    'ApiGatewayRequest',
    0.0000035,
    200_000,
    'di',
    {},
    4,
    2,
    'hex',
    `arn:aws:apigateway:${R}::/restapis/`,
  ),
  k(
    'AmazonVPC',
    'USE1-NatGateway-Hours',
    'NatGateway',
    0.045,
    1,
    'h',
    {},
    0,
    3,
    'arn-hex',
    `arn:aws:ec2:${R}:`,
    ':natgateway/nat-0',
  ),
  k(
    'AmazonVPC',
    'USE1-NatGateway-Bytes',
    'NatGateway',
    0.045,
    2,
    'hf',
    {},
    0,
    3,
    'arn-hex',
    `arn:aws:ec2:${R}:`,
    ':natgateway/nat-0',
  ),
  k(
    'AmazonRDS',
    'USE1-InstanceUsage:db.r6g.large',
    'CreateDBInstance:0021',
    0.26,
    1,
    'h',
    { ri: 2 },
    3,
    4,
    'arn-name',
    `arn:aws:rds:${R}:`,
    ':db:',
    'db',
  ),
  k(
    'AmazonRDS',
    'USE1-RDS:GP3-Storage',
    'CreateDBInstance:0021',
    0.115,
    16.7,
    'd',
    {},
    2,
    3,
    'arn-name',
    `arn:aws:rds:${R}:`,
    ':db:',
    'db',
  ),
  k(
    'AmazonDynamoDB',
    'USE1-TimedStorage-ByteHrs',
    'StandardStorage',
    0.25,
    1.7,
    'd',
    {},
    3,
    2,
    'arn-name',
    `arn:aws:dynamodb:${R}:`,
    ':table/',
    'events',
  ),
  k(
    'AmazonDynamoDB',
    'USE1-ReadRequestUnits',
    'PayPerRequestThroughput',
    0.000000125,
    5_000_000,
    'di',
    {},
    4,
    2,
    'arn-name',
    `arn:aws:dynamodb:${R}:`,
    ':table/',
    'events',
  ),
  k(
    'AmazonDynamoDB',
    'USE1-WriteRequestUnits',
    'PayPerRequestThroughput',
    0.000000625,
    1_000_000,
    'di',
    {},
    3,
    2,
    'arn-name',
    `arn:aws:dynamodb:${R}:`,
    ':table/',
    'events',
  ),
  k(
    'AmazonS3',
    'TimedStorage-ByteHrs',
    'StandardStorage',
    0.023,
    33,
    'd',
    {},
    6,
    4,
    'name',
    'cpc-',
    '',
    'data',
  ),
  k(
    'AmazonS3',
    'USE1-Requests-Tier1',
    'PutObject',
    0.000005,
    50_000,
    'di',
    {},
    3,
    2,
    'name',
    'cpc-',
    '',
    'data',
  ),
  k(
    'AmazonS3',
    'USE1-Requests-Tier2',
    'GetObject',
    0.0000004,
    500_000,
    'di',
    {},
    3,
    2,
    'name',
    'cpc-',
    '',
    'data',
  ),
  k(
    'AmazonElastiCache',
    'USE1-NodeUsage:cache.r7g.large',
    'CreateCacheCluster:0002',
    0.219,
    1,
    'h',
    { ri: 3 },
    2,
    3,
    'arn-name',
    `arn:aws:elasticache:${R}:`,
    ':cluster:',
    'cache',
  ),
  k(
    'AmazonEFS',
    'USE1-TimedStorage-ByteHrs',
    'Storage',
    0.3,
    3.3,
    'd',
    {},
    1,
    2,
    'arn-hex',
    `arn:aws:elasticfilesystem:${R}:`,
    ':file-system/fs-0',
  ),
  k(
    'AmazonES',
    'USE1-ESInstance:r6g.large.search',
    'ESDomain',
    0.167,
    2,
    'h',
    {},
    1,
    2,
    'arn-name',
    `arn:aws:es:${R}:`,
    ':domain/',
    'search',
  ),
  k('AmazonCloudWatch', 'USE1-CW:MetricMonitorUsage', 'MetricStorage', 0.3, 3.3, 'd', {}, 0, 3, 'none', ''),
  k(
    'AmazonCloudWatch',
    'USE1-DataProcessing-Bytes',
    'PutLogEvents',
    0.5,
    5,
    'd',
    {},
    2,
    4,
    'arn-name',
    `arn:aws:logs:${R}:`,
    ':log-group:/aws/lambda/',
    'api',
  ),
  k(
    'AWSKMS',
    `${R}-KMS-Requests`,
    'GenerateDataKey',
    0.000003,
    100_000,
    'di',
    {},
    1,
    2,
    'arn-hex',
    `arn:aws:kms:${R}:`,
    ':key/',
  ),
  k(
    'AWSKMS',
    'USE1-KMS-Keys',
    'CreateKey',
    1,
    0.0333,
    'd',
    {},
    1,
    1,
    'arn-hex',
    `arn:aws:kms:${R}:`,
    ':key/',
  ),
  k(
    'AmazonSQS',
    'USE1-Requests-Tier1',
    'SendMessage',
    0.0000004,
    1_000_000,
    'di',
    {},
    3,
    2,
    'arn-name',
    `arn:aws:sqs:${R}:`,
    ':',
    'jobs',
  ),
  k(
    'AWSSecretsManager',
    'USE1-AWSSecretsManager-Secrets',
    'StoreSecret',
    0.4,
    0.0333,
    'd',
    {},
    1,
    1,
    'arn-name',
    `arn:aws:secretsmanager:${R}:`,
    ':secret:',
    'db-credentials',
  ),
  k(
    'AmazonGuardDuty',
    'USE1-PaidEventsAnalyzed',
    'CloudTrailAnalysis',
    0.000004,
    200_000,
    'di',
    {},
    0,
    1,
    'arn-hex',
    `arn:aws:guardduty:${R}:`,
    ':detector/',
  ),
  k(
    'AmazonVPC',
    'USE1-PublicIPv4:InUseAddress',
    'AssociateAddressVPC',
    0.005,
    1,
    'h',
    {},
    1,
    2,
    'hex',
    'eipalloc-0',
  ),
];

/**
 * Builds a UsageKind. `period` is 'h' (hourly, whole units), 'hf' (hourly, fractional), 'd' (daily,
 * fractional) or 'di' (daily, whole units).
 */
function k(
  product: string,
  usageType: string,
  operation: string,
  price: number,
  base: number,
  period: 'h' | 'hf' | 'd' | 'di',
  cover: { sp?: boolean; ri?: number },
  tagWeight: number,
  sharedWeight: number,
  style: ResourceStyle,
  head: string,
  tail = '',
  word = 'res',
): UsageKind {
  return {
    product,
    usageType,
    operation,
    price,
    base,
    hourly: period === 'h' || period === 'hf',
    integral: period === 'h' || period === 'di',
    savingsPlan: cover.sp ?? false,
    reservation: cover.ri ?? 0,
    tagWeight,
    sharedWeight,
    style,
    head,
    tail,
    word,
  };
}

/** The reservations (RIs) the month's DiscountedUsage and RIFee rows refer to; index 1-based from kinds. */
export const RESERVATIONS = [
  {
    product: 'AmazonEC2',
    usageType: 'USE1-HeavyUsage:m7g.large',
    operation: 'RunInstances',
    arn: `arn:aws:ec2:${R}:{account}:reserved-instances/`,
  },
  {
    product: 'AmazonRDS',
    usageType: 'USE1-HeavyUsage:db.r6g.large',
    operation: 'CreateDBInstance:0021',
    arn: `arn:aws:rds:${R}:{account}:ri:aurora-pg-`,
  },
  {
    product: 'AmazonElastiCache',
    usageType: 'USE1-HeavyUsage:cache.r7g.large',
    operation: 'CreateCacheCluster:0002',
    arn: `arn:aws:elasticache:${R}:{account}:reserved-instance:cache-`,
  },
] as const;

/** Tenant ids on tags that match no customer: deleted tenants and sandboxes, as seen in real bills. */
export const UNKNOWN_TAG_TENANTS = [
  'deleted-tenant-17',
  'deleted-tenant-42',
  'sandbox-qa',
  'sandbox-perf-01',
  'sandbox-demo',
] as const;

/** Tenant ids in telemetry that match no customer: internal traffic. */
export const UNKNOWN_TELEMETRY_TENANTS = ['internal-canary', 'loadtest-bot'] as const;

/** Every tenant id the generator emits that is deliberately absent from customers.csv. */
export const UNKNOWN_TENANT_IDS: readonly string[] = [...UNKNOWN_TAG_TENANTS, ...UNKNOWN_TELEMETRY_TENANTS];

export const NAME_PREFIXES = [
  'Acme',
  'Globex',
  'Initech',
  'Umbrella',
  'Stark',
  'Wayne',
  'Hooli',
  'Vandelay',
  'Soylent',
  'Tyrell',
  'Cyberdyne',
  'Wonka',
  'Aperture',
  'Massive',
  'Nimbus',
  'Bluebird',
  'Redwood',
  'Northwind',
  'Contoso',
  'Fabrikam',
  'Brightline',
  'Quantum',
  'Helix',
  'Orbit',
  'Pioneer',
  'Summit',
  'Lumen',
  'Vertex',
  'Maple',
  'Cobalt',
  'Björk',
  'Ærø',
  'Sørensen',
  'Crème',
  'Ñandú',
  'Łódź',
] as const;

export const NAME_SUFFIXES = [
  'Robotics',
  'Analytics',
  'Labs',
  'Health',
  'Logistics',
  'Systems',
  'Media',
  'Foods',
  'Energy',
  'Finance',
  'Studios',
  'Cloud',
  'Retail',
  'Software',
  'Bio',
  'Data AG',
  'GmbH',
  'Inc.',
] as const;

/**
 * Fixed names for the first customers, so even the smallest month exercises CSV quoting (apostrophe,
 * comma) and non-ASCII text.
 */
export const FIXED_NAMES: Readonly<Record<number, string>> = {
  1: 'Acme Robotics 1',
  2: "O'Brien Analytics",
  3: 'Zürich Data AG',
  4: 'Smith, Jones & Co',
};

/** Telemetry metric shapes; names not listed get the default flow shape. */
export interface MetricShape {
  /** Daily quantity per unit of tenant weight. */
  readonly perWeight: number;
  /** A stock (like stored bytes) grows slowly and ignores weekends; a flow follows daily activity. */
  readonly stock: boolean;
  readonly integral: boolean;
}

export const METRIC_SHAPES: Readonly<Record<string, MetricShape>> = {
  requests: { perWeight: 60, stock: false, integral: true },
  storage_bytes: { perWeight: 25_000_000, stock: true, integral: true },
  compute_seconds: { perWeight: 15, stock: false, integral: false },
  active_users: { perWeight: 0.03, stock: false, integral: true },
};

export const DEFAULT_METRIC_SHAPE: MetricShape = { perWeight: 10, stock: false, integral: false };
