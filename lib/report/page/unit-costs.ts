import type { ReportUnitTarget } from '../report-data.ts';
import { byId, el, query } from './dom.ts';
import { moneyIn, unitMoneyIn } from './format.ts';
import type { MonthView } from './month-view.ts';

const count = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** A rule's unit cost over all the services its pool holds. */
interface RuleUnitCost {
  readonly ruleId: string;
  readonly driver: string;
  readonly metric: string;
  readonly unit: string;
  readonly services: string[];
  cost: number;
  readonly units: number;
  readonly activeCustomers: number;
  costPerUnit: number | null;
  costPerActiveCustomer: number | null;
}

/**
 * unit_cost has a row per rule and service; a rule's price per unit is its pool's cost over the same
 * usage (every service of the rule divides by the metric's units of the month), so the rows add up per
 * (rule, metric). Costliest rule first.
 */
function perRule(rows: MonthView['unitCosts']): RuleUnitCost[] {
  const rules = new Map<string, RuleUnitCost>();
  for (const row of rows) {
    const key = JSON.stringify([row.ruleId, row.metric]);
    const rule = rules.get(key) ?? {
      ruleId: row.ruleId,
      driver: row.driver,
      metric: row.metric,
      unit: row.unit,
      services: [],
      cost: 0,
      units: row.units,
      activeCustomers: row.activeCustomers,
      costPerUnit: null,
      costPerActiveCustomer: null,
    };
    rules.set(key, rule);
    rule.services.push(row.service);
    rule.cost += row.cost;
  }
  for (const rule of rules.values()) {
    rule.costPerUnit = rule.units === 0 ? null : rule.cost / rule.units;
    rule.costPerActiveCustomer = rule.activeCustomers === 0 ? null : rule.cost / rule.activeCustomers;
  }
  return [...rules.values()].sort((a, b) => b.cost - a.cost || a.ruleId.localeCompare(b.ruleId));
}

function targetUnit(target: ReportUnitTarget): string {
  return target.metric === null
    ? 'per active customer'
    : `per ${count.format(target.perUnit)} ${target.metric}`;
}

/**
 * Unit costs: for each rule that shares its pool by a metric, what one unit of the metric costs and
 * what the rule costs per active customer (the finance view unit_cost, summed over the rule's services,
 * which are listed); then the configured unit-cost
 * targets measured over the month, each above or within its target.
 */
export function renderUnitCosts(view: MonthView): void {
  const money = moneyIn(view.currency);
  const unitMoney = unitMoneyIn(view.currency);
  const rules = perRule(view.unitCosts);
  byId('unit-costs').hidden = rules.length === 0;
  byId('unit-costs-empty').hidden = rules.length > 0;
  query('#unit-costs tbody').replaceChildren(
    ...rules.map((u) =>
      el('tr', { 'data-testid': 'unit-cost' }, [
        el('td', { text: u.ruleId }),
        el('td', { text: u.driver }),
        el('td', { text: u.services.join(', '), class: 'services' }),
        el('td', { class: 'num', text: money(u.cost), 'data-testid': 'unit-cost-cost' }),
        el('td', { class: 'num', text: `${count.format(u.units)} × ${u.unit}` }),
        el('td', { class: 'num', text: unitMoney(u.costPerUnit), 'data-testid': 'unit-cost-per-unit' }),
        el('td', { class: 'num', text: unitMoney(u.costPerActiveCustomer) }),
      ]),
    ),
  );
  const targets = view.unitTargets;
  byId('unit-targets').hidden = targets.length === 0;
  byId('unit-targets-empty').hidden = targets.length > 0;
  query('#unit-targets tbody').replaceChildren(
    ...targets.map((t) => {
      const above = t.measured !== null && t.measured > t.target;
      return el('tr', { 'data-testid': 'unit-target' }, [
        el('td', { text: t.targetId }),
        el('td', { text: `${t.scopeKind} ${t.scope}` }),
        el('td', { text: targetUnit(t) }),
        el('td', { class: 'num', text: unitMoney(t.measured), 'data-testid': 'unit-target-measured' }),
        el('td', { class: 'num', text: unitMoney(t.target) }),
        el('td', {
          class: above ? 'bad' : 'ok',
          text: t.measured === null ? 'no usage' : above ? 'above target' : 'within target',
          'data-testid': 'unit-target-status',
        }),
        el('td', { text: t.team ?? '' }),
      ]);
    }),
  );
}
