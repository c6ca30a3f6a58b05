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

/*
 * Usage kinds, one per line: product | usage type | operation | USD per unit | typical amount per line
 * item | period | coverage | tag weight | shared weight | resource style | resource head | tail | name word.
 * Period: h = hourly whole units, hf = hourly fractional, d = daily fractional, di = daily whole units.
 * Coverage: sp = Compute Savings Plan eligible, riN = reservation N of RESERVATIONS can cover it.
 * The amounts are sized so an hourly instance row and a daily storage row cost about the same, which
 * keeps compute the biggest cost, as in most SaaS bills. Append only: the order is part of the output.
 */
const KIND_TABLE = `
AmazonEC2         | USE1-BoxUsage:m7g.large          | RunInstances              | 0.0816       | 2       | h  | sp ri1 | 16 | 10 | hex      | i-0                                     |                         |
AmazonEC2         | USE1-BoxUsage:c7g.xlarge         | RunInstances              | 0.145        | 2       | h  | sp     | 8  | 6  | hex      | i-0                                     |                         |
AmazonEC2         | USE1-BoxUsage:r7g.2xlarge        | RunInstances              | 0.4284       | 1       | h  | sp     | 3  | 3  | hex      | i-0                                     |                         |
AmazonEC2         | USE1-EBS:VolumeUsage.gp3         | CreateVolume-Gp3          | 0.08         | 3.3     | d  |        | 6  | 5  | hex      | vol-0                                   |                         |
AmazonEC2         | USE1-DataTransfer-Regional-Bytes | InterZone-Out             | 0.01         | 10      | d  |        | 3  | 4  | hex      | i-0                                     |                         |
AWSDataTransfer   | USE1-DataTransfer-Out-Bytes      | RunInstances              | 0.09         | 3       | d  |        | 4  | 3  | hex      | i-0                                     |                         |
AWSLambda         | USE1-Lambda-GB-Second            | Invoke                    | 0.0000166667 | 15000   | d  | sp     | 8  | 3  | arn-name | arn:aws:lambda:us-east-1:               | :function:              | api
AWSLambda         | USE1-Request                     | Invoke                    | 0.0000002    | 300000  | di |        | 5  | 2  | arn-name | arn:aws:lambda:us-east-1:               | :function:              | api
AmazonECS         | USE1-Fargate-vCPU-Hours:perCPU   | FargateTask               | 0.04048      | 2       | h  | sp     | 6  | 4  | arn-hex  | arn:aws:ecs:us-east-1:                  | :task/prod/             |
AmazonECS         | USE1-Fargate-GB-Hours            | FargateTask               | 0.004445     | 8       | h  | sp     | 6  | 4  | arn-hex  | arn:aws:ecs:us-east-1:                  | :task/prod/             |
AmazonEKS         | USE1-AmazonEKS-Hours:perCluster  | CreateOperation           | 0.1          | 1       | h  |        | 0  | 2  | arn-name | arn:aws:eks:us-east-1:                  | :cluster/               | eks
AWSELB            | USE1-LoadBalancerUsage           | LoadBalancing:Application | 0.0225       | 1       | h  |        | 1  | 3  | arn-name | arn:aws:elasticloadbalancing:us-east-1: | :loadbalancer/app/      | alb
AWSELB            | USE1-LCUUsage                    | LoadBalancing:Application | 0.008        | 5       | hf |        | 1  | 3  | arn-name | arn:aws:elasticloadbalancing:us-east-1: | :loadbalancer/app/      | alb
AmazonCloudFront  | US-DataTransfer-Out-Bytes        | WebDistribution           | 0.085        | 4       | d  |        | 2  | 2  | arn-hex  | arn:aws:cloudfront::                    | :distribution/E         |
AmazonApiGateway  | USE1-ApiGatewayRequest           | ApiGatewayRequest         | 0.0000035    | 40000   | di |        | 4  | 2  | hex      | arn:aws:apigateway:us-east-1::/restapis/ |                        |
AmazonVPC         | USE1-NatGateway-Hours            | NatGateway                | 0.045        | 1       | h  |        | 0  | 3  | arn-hex  | arn:aws:ec2:us-east-1:                  | :natgateway/nat-0       |
AmazonVPC         | USE1-NatGateway-Bytes            | NatGateway                | 0.045        | 2       | hf |        | 0  | 3  | arn-hex  | arn:aws:ec2:us-east-1:                  | :natgateway/nat-0       |
AmazonRDS         | USE1-InstanceUsage:db.r6g.large  | CreateDBInstance:0021     | 0.26         | 1       | h  | ri2    | 3  | 4  | arn-name | arn:aws:rds:us-east-1:                  | :db:                    | db
AmazonRDS         | USE1-RDS:GP3-Storage             | CreateDBInstance:0021     | 0.115        | 3.3     | d  |        | 2  | 3  | arn-name | arn:aws:rds:us-east-1:                  | :db:                    | db
AmazonDynamoDB    | USE1-TimedStorage-ByteHrs        | StandardStorage           | 0.25         | 1       | d  |        | 3  | 2  | arn-name | arn:aws:dynamodb:us-east-1:             | :table/                 | events
AmazonDynamoDB    | USE1-ReadRequestUnits            | PayPerRequestThroughput   | 0.000000125  | 1000000 | di |        | 4  | 2  | arn-name | arn:aws:dynamodb:us-east-1:             | :table/                 | events
AmazonDynamoDB    | USE1-WriteRequestUnits           | PayPerRequestThroughput   | 0.000000625  | 200000  | di |        | 3  | 2  | arn-name | arn:aws:dynamodb:us-east-1:             | :table/                 | events
AmazonS3          | TimedStorage-ByteHrs             | StandardStorage           | 0.023        | 10      | d  |        | 6  | 4  | name     | cpc-                                    |                         | data
AmazonS3          | USE1-Requests-Tier1              | PutObject                 | 0.000005     | 10000   | di |        | 3  | 2  | name     | cpc-                                    |                         | data
AmazonS3          | USE1-Requests-Tier2              | GetObject                 | 0.0000004    | 200000  | di |        | 3  | 2  | name     | cpc-                                    |                         | data
AmazonElastiCache | USE1-NodeUsage:cache.r7g.large   | CreateCacheCluster:0002   | 0.219        | 1       | h  | ri3    | 2  | 3  | arn-name | arn:aws:elasticache:us-east-1:          | :cluster:               | cache
AmazonEFS         | USE1-TimedStorage-ByteHrs        | Storage                   | 0.3          | 1       | d  |        | 1  | 2  | arn-hex  | arn:aws:elasticfilesystem:us-east-1:    | :file-system/fs-0       |
AmazonES          | USE1-ESInstance:r6g.large.search | ESDomain                  | 0.167        | 2       | h  |        | 1  | 2  | arn-name | arn:aws:es:us-east-1:                   | :domain/                | search
AmazonCloudWatch  | USE1-CW:MetricMonitorUsage       | MetricStorage             | 0.3          | 1       | d  |        | 0  | 3  | none     |                                         |                         |
AmazonCloudWatch  | USE1-DataProcessing-Bytes        | PutLogEvents              | 0.5          | 0.5     | d  |        | 2  | 4  | arn-name | arn:aws:logs:us-east-1:                 | :log-group:/aws/lambda/ | api
AWSKMS            | us-east-1-KMS-Requests           | GenerateDataKey           | 0.000003     | 30000   | di |        | 1  | 2  | arn-hex  | arn:aws:kms:us-east-1:                  | :key/                   |
AWSKMS            | USE1-KMS-Keys                    | CreateKey                 | 1            | 0.0333  | d  |        | 1  | 1  | arn-hex  | arn:aws:kms:us-east-1:                  | :key/                   |
AmazonSQS         | USE1-Requests-Tier1              | SendMessage               | 0.0000004    | 200000  | di |        | 3  | 2  | arn-name | arn:aws:sqs:us-east-1:                  | :                       | jobs
AWSSecretsManager | USE1-AWSSecretsManager-Secrets   | StoreSecret               | 0.4          | 0.0333  | d  |        | 1  | 1  | arn-name | arn:aws:secretsmanager:us-east-1:       | :secret:                | db-credentials
AmazonGuardDuty   | USE1-PaidEventsAnalyzed          | CloudTrailAnalysis        | 0.000004     | 50000   | di |        | 0  | 1  | arn-hex  | arn:aws:guardduty:us-east-1:            | :detector/              |
AmazonVPC         | USE1-PublicIPv4:InUseAddress     | AssociateAddressVPC       | 0.005        | 1       | h  |        | 1  | 2  | hex      | eipalloc-0                              |                         |
`;

const STYLES: readonly ResourceStyle[] = ['hex', 'arn-name', 'arn-hex', 'name', 'none'];

function parseKinds(table: string): UsageKind[] {
  return table
    .trim()
    .split('\n')
    .map((line) => {
      const cells = line.split('|').map((cell) => cell.trim());
      if (cells.length !== 13) throw new Error(`usage kind line needs 13 cells: ${line}`);
      const [
        product,
        usageType,
        operation,
        price,
        base,
        period,
        cover,
        tagW,
        sharedW,
        style,
        head,
        tail,
        word,
      ] = cells as [
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
      ];
      if (!STYLES.includes(style as ResourceStyle)) throw new Error(`unknown resource style: ${line}`);
      const covers = cover.split(' ');
      const ri = covers.find((c) => c.startsWith('ri'));
      return {
        product,
        usageType,
        operation,
        price: Number(price),
        base: Number(base),
        hourly: period.startsWith('h'),
        integral: period === 'h' || period === 'di',
        savingsPlan: covers.includes('sp'),
        reservation: ri ? Number(ri.slice(2)) : 0,
        tagWeight: Number(tagW),
        sharedWeight: Number(sharedW),
        style: style as ResourceStyle,
        head,
        tail,
        word: word || 'res',
      };
    });
}

/** The usage kinds line items are drawn from. */
export const USAGE_KINDS: readonly UsageKind[] = parseKinds(KIND_TABLE);

/** The reservations (RIs) the month's DiscountedUsage and RIFee rows refer to; index 1-based from kinds. */
export const RESERVATIONS = [
  {
    product: 'AmazonEC2',
    usageType: 'USE1-HeavyUsage:m7g.large',
    operation: 'RunInstances',
    arn: 'arn:aws:ec2:us-east-1:{account}:reserved-instances/',
  },
  {
    product: 'AmazonRDS',
    usageType: 'USE1-HeavyUsage:db.r6g.large',
    operation: 'CreateDBInstance:0021',
    arn: 'arn:aws:rds:us-east-1:{account}:ri:aurora-pg-',
  },
  {
    product: 'AmazonElastiCache',
    usageType: 'USE1-HeavyUsage:cache.r7g.large',
    operation: 'CreateCacheCluster:0002',
    arn: 'arn:aws:elasticache:us-east-1:{account}:reserved-instance:cache-',
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
