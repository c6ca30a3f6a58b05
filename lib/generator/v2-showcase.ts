/**
 * What the demo adds to a generated month to show the attribution model v2 (docs/attribution.md): a
 * Kubernetes (EKS on EC2) node whose cost CUR 2.0 split cost allocation data splits over namespaces
 * (2.2), a tag-defined shared search pool shared by a weighted driver (1.4, 4), customers whose MRR
 * changes mid-month (1.3, `effective_from`) and a non-AWS vendor's FOCUS CSV (1.1). Every amount is a
 * round constant so the results can be checked by hand (README, "The v2 model").
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDbEngine } from '../engine/duckdb-engine.ts';
import { sqlString } from '../sql/sql-template.ts';
import { CUR_COLUMNS } from './line-items.ts';

/** The EKS node shared by the namespaces: one EC2 instance, its own cost per day. */
export const EKS_NODE = { instanceId: 'i-0eks0demo0node01', dailyCost: 60 } as const;

/**
 * The namespaces on the node (each one a tenant of a showcase customer) and each one's split cost and
 * unused cost per day as CUR 2.0 writes them. W = 24 + 12 + 12 = 48, so the node's $60 a day goes
 * 60 x 24/48 = $30 to `ns-aurora` and 60 x 12/48 = $15 each to `ns-borealis` and `ns-cirrus`.
 */
export const EKS_NAMESPACES = [
  { namespace: 'ns-aurora', splitCost: 18, unusedCost: 6 },
  { namespace: 'ns-borealis', splitCost: 9, unusedCost: 3 },
  { namespace: 'ns-cirrus', splitCost: 9, unusedCost: 3 },
] as const;

/** The OpenSearch domain tagged `component=search` without a tenant: a shared pool, per day. */
export const SEARCH_DOMAIN = {
  resourceId: 'arn:aws:es:us-east-1:222222222222:domain/shared-search',
  dailyCost: 40,
} as const;

/** The fictional observability SaaS whose FOCUS export joins the run, and its daily charges. */
export const OBSERVABILITY_VENDOR = {
  provider: 'Pulsewatch',
  service: 'Pulsewatch APM',
  /** Untagged platform charge per day: shared by the `observability` rule (MRR). */
  sharedDailyCost: 12,
  /** Log ingestion tagged with `ns-borealis` per day: its direct cost. */
  taggedTenant: 'ns-borealis',
  taggedDailyCost: 2,
} as const;

/**
 * The showcase customers, one per namespace. Aurora's MRR rises from 2,000 to 3,500 on the 16th
 * (a second version with `effective_from`), so an `mrr` driver gives it a bigger share from that day.
 */
export const SHOWCASE_CUSTOMERS = [
  { id: 'ns-aurora', name: 'Aurora Kubernetes Co', tier: 'growth', mrr: 2000, team: 'team-platform' },
  { id: 'ns-borealis', name: 'Borealis Metrics', tier: 'growth', mrr: 1500, team: 'team-platform' },
  { id: 'ns-cirrus', name: 'Cirrus Forms', tier: 'self-serve', mrr: 500, team: 'team-growth' },
] as const;
/** Aurora's new MRR and the day of the month it takes effect. */
export const MRR_CHANGE = { customerId: 'ns-aurora', mrr: 3500, dayOfMonth: 16 } as const;

/**
 * The v2 rules of the demo: tenant key list, a tag-matched weighted pool and, with `vendor`, a rule
 * for the FOCUS vendor's provider (without its file the rule would match nothing, a warning).
 */
export function demoRules(vendor: boolean): Record<string, unknown> {
  return {
    version: 'demo-v2-1',
    costBasis: 'amortized',
    tenantTagKey: ['tenant_id', 'aws:eks:namespace'],
    rules: [
      { id: 'exclude-tax', match: { lineItemTypes: ['Tax'] }, action: 'exclude' },
      {
        id: 'search-pool',
        match: { services: ['AmazonES'], tags: { component: ['search'] } },
        driver: { weights: { requests: 0.7, storage_bytes: 0.3 } },
        owner: 'team-search',
      },
      ...(vendor
        ? [
            {
              id: 'observability',
              match: { providers: [OBSERVABILITY_VENDOR.provider] },
              driver: 'mrr',
              owner: 'team-platform',
            },
          ]
        : []),
      {
        id: 'compute-network',
        match: {
          services: [
            'AmazonEC2',
            'AWSLambda',
            'AmazonECS',
            'AmazonEKS',
            'AWSELB',
            'AmazonCloudFront',
            'AmazonApiGateway',
            'AmazonVPC',
            'AWSDataTransfer',
          ],
        },
        driver: 'requests',
      },
      {
        id: 'data-stores',
        match: {
          services: ['AmazonRDS', 'AmazonDynamoDB', 'AmazonS3', 'AmazonElastiCache', 'AmazonEFS', 'AmazonES'],
        },
        driver: 'storage_bytes',
      },
      { id: 'everything-else', match: {}, driver: 'even' },
    ],
  };
}

/** One CUR 2.0 row of the showcase, before it is written (only the columns that differ per row). */
export interface ShowcaseCurRow {
  readonly day: string;
  readonly productCode: string;
  readonly usageType: string;
  readonly operation: string;
  readonly resourceId: string;
  readonly unblendedCost: number;
  readonly tags: Readonly<Record<string, string>>;
  readonly splitParent: string | null;
  readonly splitCost: number | null;
  readonly unusedCost: number | null;
}

/** The days of a month YYYY-MM, as YYYY-MM-DD. */
export function daysOf(month: string): string[] {
  const [year, mon] = month.split('-').map(Number) as [number, number];
  const count = new Date(Date.UTC(year, mon, 0)).getUTCDate();
  return Array.from({ length: count }, (_, i) => `${month}-${String(i + 1).padStart(2, '0')}`);
}

/**
 * The node's own line item and one split row per namespace (`EKSPod-EC2`, unblended cost 0), and the
 * search domain's line item, for every day of the month.
 */
export function showcaseCurRows(month: string): ShowcaseCurRow[] {
  const rows: ShowcaseCurRow[] = [];
  for (const day of daysOf(month)) {
    rows.push({
      day,
      productCode: 'AmazonEC2',
      usageType: 'USE1-BoxUsage:m7g.4xlarge',
      operation: 'RunInstances',
      resourceId: EKS_NODE.instanceId,
      unblendedCost: EKS_NODE.dailyCost,
      tags: { aws_eks_cluster_name: 'demo-cluster' },
      splitParent: null,
      splitCost: null,
      unusedCost: null,
    });
    for (const ns of EKS_NAMESPACES) {
      rows.push({
        day,
        productCode: 'AmazonEC2',
        usageType: 'USE1-BoxUsage:m7g.4xlarge',
        operation: 'EKSPod-EC2',
        resourceId: `${EKS_NODE.instanceId}/${ns.namespace}`,
        unblendedCost: 0,
        tags: { aws_eks_namespace: ns.namespace, aws_eks_cluster_name: 'demo-cluster' },
        splitParent: EKS_NODE.instanceId,
        splitCost: ns.splitCost,
        unusedCost: ns.unusedCost,
      });
    }
    rows.push({
      day,
      productCode: 'AmazonES',
      usageType: 'USE1-ESInstance:r6g.large.search',
      operation: 'ESDomain',
      resourceId: SEARCH_DOMAIN.resourceId,
      unblendedCost: SEARCH_DOMAIN.dailyCost,
      tags: { user_component: 'search' },
      splitParent: null,
      splitCost: null,
      unusedCost: null,
    });
  }
  return rows;
}

/** The split cost allocation columns the showcase file adds to {@link CUR_COLUMNS}. */
export const SPLIT_COLUMNS: readonly (readonly [name: string, type: string])[] = [
  ['split_line_item_parent_resource_id', 'VARCHAR'],
  ['split_line_item_split_cost', 'DOUBLE'],
  ['split_line_item_unused_cost', 'DOUBLE'],
  ['split_line_item_net_split_cost', 'DOUBLE'],
  ['split_line_item_net_unused_cost', 'DOUBLE'],
];

function num(value: number | null): string {
  return value === null ? 'NULL' : String(value);
}

/** Writes {@link showcaseCurRows} as one CUR 2.0 Parquet file beside the month's parts; returns its path. */
export async function writeShowcaseCur(outDir: string, month: string): Promise<string> {
  const s = (value: string) => sqlString(value).sql;
  const values = showcaseCurRows(month)
    .map((r) => {
      const tags = Object.entries(r.tags)
        .map(([k, v]) => `${s(k)}: ${s(v)}`)
        .join(', ');
      return `(${[
        `DATE ${s(r.day)}`,
        s(r.productCode),
        s(r.usageType),
        s(r.operation),
        s(r.resourceId),
        num(r.unblendedCost),
        `MAP {${tags}}`,
        r.splitParent === null ? 'NULL' : s(r.splitParent),
        num(r.splitCost),
        num(r.unusedCost),
      ].join(', ')})`;
    })
    .join(',\n');
  const monthStart = `DATE ${s(`${month}-01`)}`;
  const exprs: Record<string, string> = {
    bill_billing_period_start_date: `CAST(${monthStart} AS TIMESTAMP)`,
    bill_billing_period_end_date: `CAST(${monthStart} + INTERVAL 1 MONTH AS TIMESTAMP)`,
    bill_payer_account_id: `'111111111111'`,
    line_item_usage_account_id: `'222222222222'`,
    line_item_line_item_type: `'Usage'`,
    line_item_usage_start_date: 'CAST(day AS TIMESTAMP)',
    line_item_usage_end_date: 'CAST(day AS TIMESTAMP) + INTERVAL 1 DAY',
    line_item_product_code: 'product_code',
    line_item_usage_type: 'usage_type',
    line_item_operation: 'operation',
    line_item_resource_id: 'resource_id',
    line_item_usage_amount: '24',
    line_item_currency_code: `'USD'`,
    line_item_unblended_cost: 'cost',
    line_item_net_unblended_cost: 'cost',
    resource_tags: 'tags',
    split_line_item_parent_resource_id: 'parent',
    split_line_item_split_cost: 'split_cost',
    split_line_item_unused_cost: 'unused_cost',
    split_line_item_net_split_cost: 'split_cost',
    split_line_item_net_unused_cost: 'unused_cost',
  };
  const select = `
    WITH r(day, product_code, usage_type, operation, resource_id, cost, tags, parent, split_cost, unused_cost)
      AS (VALUES ${values})
    SELECT ${[...CUR_COLUMNS, ...SPLIT_COLUMNS].map(([name, type]) => `CAST(${exprs[name] ?? 'NULL'} AS ${type}) AS ${name}`).join(', ')}
    FROM r ORDER BY day, resource_id`;
  const file = join(outDir, 'cur', 'data', `BILLING_PERIOD=${month}`, 'v2-showcase.parquet');
  const engine = await DuckDbEngine.create({ threads: 1 });
  try {
    await engine.run(`COPY (${select}) TO ${s(file)} (FORMAT parquet)`);
  } finally {
    engine.close();
  }
  return file;
}

/** CSV field: quoted when it holds a comma, a quote or a line break. */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** The FOCUS CSV of {@link OBSERVABILITY_VENDOR}: the minimal columns of docs/attribution.md 1.1. */
export function focusVendorCsv(month: string): string {
  const v = OBSERVABILITY_VENDOR;
  const header = [
    'ChargePeriodStart',
    'BillingPeriodStart',
    'ChargeCategory',
    'ServiceName',
    'BilledCost',
    'EffectiveCost',
    'ProviderName',
    'BillingCurrency',
    'Tags',
    'ResourceId',
  ];
  const lines = [header.join(',')];
  for (const day of daysOf(month)) {
    const common = [`${day}T00:00:00Z`, `${month}-01T00:00:00Z`, 'Usage', v.service];
    lines.push(
      [...common, v.sharedDailyCost, v.sharedDailyCost, v.provider, 'USD', '{}', 'pw-platform']
        .map(String)
        .join(','),
      [
        ...common,
        v.taggedDailyCost,
        v.taggedDailyCost,
        v.provider,
        'USD',
        csvField(JSON.stringify({ tenant_id: v.taggedTenant })),
        'pw-logs',
      ]
        .map(String)
        .join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Writes {@link focusVendorCsv} to `<outDir>/focus/pulsewatch-YYYY-MM.csv`; returns its path. */
export function writeFocusVendorFile(outDir: string, month: string): string {
  const file = join(outDir, `pulsewatch-focus-${month}.csv`);
  writeFileSync(file, focusVendorCsv(month));
  return file;
}

/**
 * The customers rows of the showcase customers. With `versions`, every row gets an `effective_from`
 * and Aurora gets its second version from {@link MRR_CHANGE}; without, the v1 columns only.
 */
export function showcaseCustomerRows(month: string, versions: boolean): string[] {
  const start = `${month}-01`;
  const row = (c: (typeof SHOWCASE_CUSTOMERS)[number], mrr: number, from: string) =>
    [c.id, c.id, c.name, c.tier, 'paid', mrr, start, '', c.team, ...(versions ? [from] : [])].join(',');
  const rows = SHOWCASE_CUSTOMERS.map((c) => row(c, c.mrr, ''));
  if (versions) {
    const c = SHOWCASE_CUSTOMERS.find((x) => x.id === MRR_CHANGE.customerId);
    if (c === undefined) throw new Error(`no showcase customer ${MRR_CHANGE.customerId}`);
    rows.push(row(c, MRR_CHANGE.mrr, `${month}-${String(MRR_CHANGE.dayOfMonth).padStart(2, '0')}`));
  }
  return rows;
}

/**
 * Appends the showcase customers to a customers CSV. With `versions`, first adds an empty
 * `effective_from` column to every existing row (in force from the beginning), then the versioned rows.
 */
export function addShowcaseCustomers(customersFile: string, month: string, versions: boolean): void {
  const text = readFileSync(customersFile, 'utf8');
  const lines = text.split('\n').filter((line) => line !== '');
  const existing = versions
    ? lines.map((line, i) => (i === 0 ? `${line},effective_from` : `${line},`))
    : lines;
  writeFileSync(customersFile, `${[...existing, ...showcaseCustomerRows(month, versions)].join('\n')}\n`);
}

/** Writes the demo's v2 rules file to `<outDir>/rules.json`; returns its path. */
export function writeDemoRules(outDir: string, vendor: boolean): string {
  const file = join(outDir, 'rules.json');
  writeFileSync(file, `${JSON.stringify(demoRules(vendor), null, 2)}\n`);
  return file;
}
