import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRules } from '../../lib/attribution/rules.ts';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import {
  addShowcaseCustomers,
  daysOf,
  demoRules,
  EKS_NODE,
  focusVendorCsv,
  showcaseCurRows,
  writeShowcaseCur,
} from '../../lib/generator/v2-showcase.ts';
import { sqlString } from '../../lib/sql/sql-template.ts';

const MONTH = '2026-02'; // 28 days

describe('v2 showcase: EKS split rows', () => {
  const rows = showcaseCurRows(MONTH);

  it('has per day one node line item, three EKSPod-EC2 split rows and one search line item', () => {
    // 28 days x (1 node + 3 pods + 1 search) = 140 rows
    expect(daysOf(MONTH)).toHaveLength(28);
    expect(rows).toHaveLength(140);
    const splits = rows.filter((r) => r.splitParent !== null);
    expect(splits).toHaveLength(84); // 28 x 3
    for (const r of splits) {
      expect(r.operation).toBe('EKSPod-EC2');
      expect(r.splitParent).toBe(EKS_NODE.instanceId);
      expect(r.unblendedCost).toBe(0);
    }
    expect(new Set(splits.map((r) => r.tags.aws_eks_namespace))).toEqual(
      new Set(['ns-aurora', 'ns-borealis', 'ns-cirrus']),
    );
  });

  it('shares the node by split + unused cost as worked in the README: 30, 15, 15 of 60 a day', () => {
    const day = rows.filter((r) => r.day === `${MONTH}-10`);
    const parent = day.filter((r) => r.resourceId === EKS_NODE.instanceId);
    // C(p, s) = 60, the node's own cost of the day
    const c = parent.reduce((sum, r) => sum + r.unblendedCost, 0);
    expect(c).toBe(60);
    const pods = day.filter((r) => r.splitParent !== null);
    // w = split + unused: aurora 18 + 6 = 24, borealis 9 + 3 = 12, cirrus 9 + 3 = 12; W = 48
    const w = pods.map((r) => (r.splitCost ?? 0) + (r.unusedCost ?? 0));
    const total = w.reduce((a: number, b: number) => a + b, 0);
    expect(total).toBe(48);
    const shares = Object.fromEntries(
      pods.map((r, i) => [r.tags.aws_eks_namespace, (c * (w[i] ?? 0)) / total]),
    );
    expect(shares).toEqual({ 'ns-aurora': 30, 'ns-borealis': 15, 'ns-cirrus': 15 });
    // conservation: the shares add up to the node's cost
    expect(Object.values(shares).reduce((a: number, b) => a + Number(b), 0)).toBe(c);
  });

  it('tags the search domain component=search and no tenant', () => {
    const search = rows.filter((r) => r.productCode === 'AmazonES');
    expect(search).toHaveLength(28);
    for (const r of search) expect(r.tags).toEqual({ user_component: 'search' });
  });
});

describe('v2 showcase: written Parquet', () => {
  let dir: string;
  let engine: DuckDbEngine;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'gen-v2-'));
    engine = await DuckDbEngine.create({ threads: 1 });
  });
  afterAll(() => {
    engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the CUR 2.0 split columns and costs: the node 28 x 60 = 1,680, split rows 0 unblended', async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(path.join(dir, 'cur', 'data', `BILLING_PERIOD=${MONTH}`), { recursive: true });
    const file = await writeShowcaseCur(dir, MONTH);
    const result = await engine.query(`
      SELECT line_item_operation AS op, count(*) AS n, sum(line_item_unblended_cost) AS cost,
        sum(split_line_item_split_cost + split_line_item_unused_cost) AS w,
        count(DISTINCT element_at(resource_tags, 'aws_eks_namespace')) AS namespaces
      FROM read_parquet(${sqlString(file).sql}) GROUP BY 1 ORDER BY 1`);
    const rows = result.map((r) => ({ ...r, n: Number(r.n), namespaces: Number(r.namespaces) }));
    expect(rows).toEqual([
      // 28 x 3 split rows, W = 28 x 48 = 1,344
      { op: 'EKSPod-EC2', n: 84, cost: 0, w: 1344, namespaces: 3 },
      // 28 x 40 = 1,120 of OpenSearch
      { op: 'ESDomain', n: 28, cost: 1120, w: null, namespaces: 0 },
      { op: 'RunInstances', n: 28, cost: 1680, w: null, namespaces: 0 },
    ]);
  });
});

describe('v2 showcase: customers with effective_from', () => {
  it('adds an empty effective_from to existing rows and a second Aurora version from the 16th', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gen-v2-cust-'));
    try {
      const file = path.join(dir, 'customers.csv');
      writeFileSync(
        file,
        'customer_id,tenant_id,name,tier,plan_status,mrr,start_date,end_date,owner_team\nc1,,"Acme, Inc",growth,paid,100,,,\n',
      );
      addShowcaseCustomers(file, MONTH, true);
      const records: Record<string, string>[] = parse(readFileSync(file, 'utf8'), { columns: true });
      expect(records).toHaveLength(5); // c1 + 3 showcase customers + Aurora's second version
      expect(records[0]).toMatchObject({ customer_id: 'c1', name: 'Acme, Inc', effective_from: '' });
      const aurora = records.filter((r) => r.customer_id === 'ns-aurora');
      expect(aurora.map((r) => [r.mrr, r.effective_from])).toEqual([
        ['2000', ''],
        ['3500', '2026-02-16'],
      ]);
      // every version keeps the tenant and the non-MRR fields
      expect(new Set(aurora.map((r) => `${r.tenant_id}|${r.tier}|${r.plan_status}`)).size).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without versions writes only the v1 columns', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gen-v2-cust-'));
    try {
      const file = path.join(dir, 'customers.csv');
      writeFileSync(file, 'customer_id,tenant_id,name,tier,plan_status,mrr,start_date,end_date,owner_team\n');
      addShowcaseCustomers(file, MONTH, false);
      const records: Record<string, string>[] = parse(readFileSync(file, 'utf8'), { columns: true });
      expect(records).toHaveLength(3);
      expect(Object.keys(records[0] ?? {})).not.toContain('effective_from');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('v2 showcase: FOCUS vendor CSV and rules', () => {
  it('writes two charges a day with the minimal FOCUS columns: 28 x (12 + 2) = 392', () => {
    const records: Record<string, string>[] = parse(focusVendorCsv(MONTH), { columns: true });
    expect(records).toHaveLength(56);
    expect(records.reduce((s, r) => s + Number(r.BilledCost), 0)).toBe(392);
    expect(new Set(records.map((r) => r.ProviderName))).toEqual(new Set(['Pulsewatch']));
    expect(records.filter((r) => JSON.parse(r.Tags ?? '{}').tenant_id === 'ns-borealis')).toHaveLength(28);
  });

  it('the demo rules parse, with the tenant key list and the weighted search pool', () => {
    const rules = parseRules(demoRules(true), 'demo rules');
    expect(rules.tenantTagKey).toEqual(['tenant_id', 'aws:eks:namespace']);
    expect(rules.rules.map((r) => r.id)).toContain('search-pool');
    expect(parseRules(demoRules(false), 'demo rules').rules.map((r) => r.id)).not.toContain('observability');
  });
});
