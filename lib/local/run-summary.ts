import type { DuckDbEngine } from '../engine/duckdb-engine.ts';

export interface CustomerCostLine {
  readonly customerId: string;
  readonly name: string;
  readonly tier: string;
  readonly planStatus: string;
  readonly mrr: number;
  readonly totalCost: number;
}

/** The headline figures of a run, over all its days. */
export interface RunSummary {
  readonly firstDay: string | null;
  readonly lastDay: string | null;
  readonly days: number;
  readonly customers: number;
  readonly totalCost: number;
  readonly directCost: number;
  readonly sharedCost: number;
  readonly unattributedCost: number;
  readonly excludedCost: number;
  /** unattributed / (total - excluded), 0 when that is 0 (docs/attribution.md section 5). */
  readonly unattributedPct: number;
  readonly unattributedByReason: Readonly<Record<string, number>>;
  readonly topCustomers: readonly CustomerCostLine[];
}

/** Reads the headline figures from a finished run's tables. */
export async function summarizeRun(engine: DuckDbEngine, topCount = 10): Promise<RunSummary> {
  const [totals] = await engine.query(
    `SELECT CAST(min(usage_date) AS VARCHAR) AS first_day, CAST(max(usage_date) AS VARCHAR) AS last_day,
       count(*) AS days, coalesce(sum(total_cost), 0) AS total_cost, coalesce(sum(direct_cost), 0) AS direct_cost,
       coalesce(sum(shared_cost), 0) AS shared_cost, coalesce(sum(unattributed_cost), 0) AS unattributed_cost,
       coalesce(sum(excluded_cost), 0) AS excluded_cost
     FROM daily_summary`,
  );
  const [customers] = await engine.query('SELECT count(DISTINCT customer_id) AS n FROM customer_daily_cost');
  const reasons = await engine.query(
    'SELECT reason, sum(cost) AS cost FROM unattributed_cost GROUP BY reason ORDER BY cost DESC',
  );
  const top = await engine.query(
    `SELECT customer_id, any_value(customer_name) AS name, any_value(tier) AS tier,
       any_value(plan_status) AS plan_status, any_value(mrr) AS mrr, sum(total_cost) AS total_cost
     FROM customer_daily_cost GROUP BY customer_id ORDER BY total_cost DESC, customer_id LIMIT ${Math.trunc(topCount)}`,
  );
  const total = Number(totals?.total_cost ?? 0);
  const excluded = Number(totals?.excluded_cost ?? 0);
  const unattributed = Number(totals?.unattributed_cost ?? 0);
  return {
    firstDay: (totals?.first_day as string | null) ?? null,
    lastDay: (totals?.last_day as string | null) ?? null,
    days: Number(totals?.days ?? 0),
    customers: Number(customers?.n ?? 0),
    totalCost: total,
    directCost: Number(totals?.direct_cost ?? 0),
    sharedCost: Number(totals?.shared_cost ?? 0),
    unattributedCost: unattributed,
    excludedCost: excluded,
    unattributedPct: total - excluded === 0 ? 0 : unattributed / (total - excluded),
    unattributedByReason: Object.fromEntries(reasons.map((r) => [String(r.reason), Number(r.cost)])),
    topCustomers: top.map((r) => ({
      customerId: String(r.customer_id),
      name: String(r.name),
      tier: String(r.tier),
      planStatus: String(r.plan_status),
      mrr: Number(r.mrr),
      totalCost: Number(r.total_cost),
    })),
  };
}
