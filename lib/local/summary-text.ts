import { join } from 'node:path';
import { DEFAULT_CURRENCY, formatMoney, formatPercent } from '../common/money.ts';
import { type LocalRunResult, REPORT_FILE } from './run-local.ts';

/**
 * What the summary reads of a run. `formats` and `currency` are the run's own when the local run
 * records them (several sources, one currency per run); `demo` is what the demo put into the month.
 */
export type SummaryInput = LocalRunResult & {
  readonly formats?: readonly string[];
  readonly currency?: string;
  readonly demo?: { readonly splitParentCost: number; readonly splitNamespaces: readonly string[] };
};

/** `cur2 x2, focus x1`: how many sources of each format, in first-seen order. */
export function sourcesText(formats: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const f of formats) counts.set(f, (counts.get(f) ?? 0) + 1);
  return [...counts].map(([f, n]) => `${f} x${n}`).join(', ');
}

/**
 * A short, readable account of a run for the terminal. Rounds for people; files stay unrounded. Money
 * and shares go through the formatter of lib/common/money.ts, as in the alerts and the report.
 * @param currency overrides the run's currency (default: the result's, else USD)
 */
export function summaryText(result: SummaryInput, currency?: string): string {
  const runCurrency = currency ?? result.currency ?? DEFAULT_CURRENCY;
  const money = (value: number) => formatMoney(value, runCurrency);
  const s = result.summary;
  const formats = result.formats ?? [result.format];
  const lines = [
    `Run ${result.runId}  (${[...new Set(formats)].join(' + ')}, rules ${result.rules.version}, ${result.rules.costBasis} cost)`,
    `Days ${s.firstDay ?? '-'} to ${s.lastDay ?? '-'} (${s.days}), ${s.customers} customers with cost`,
    `Billing sources ${sourcesText(formats)}; currency ${runCurrency}`,
    '',
    `Total cost      ${money(s.totalCost)}`,
    `  direct        ${money(s.directCost)}`,
    `  shared        ${money(s.sharedCost)}`,
    `  unattributed  ${money(s.unattributedCost)}  (${formatPercent(s.unattributedPct)} of attributable cost)`,
    `  excluded      ${money(s.excludedCost)}`,
    'Conservation    holds on every day',
  ];
  if (result.demo !== undefined) {
    lines.push(
      `Kubernetes      ${money(result.demo.splitParentCost)} of EKS node cost with split cost allocation rows for namespaces ${result.demo.splitNamespaces.join(', ')}`,
    );
  }
  const reasons = Object.entries(s.unattributedByReason);
  if (reasons.length > 0) {
    lines.push('', 'Unattributed by reason');
    for (const [reason, cost] of reasons) lines.push(`  ${reason.padEnd(20)} ${money(cost)}`);
  }
  if (s.topCustomers.length > 0) {
    lines.push('', 'Top customers by cost');
    for (const c of s.topCustomers) {
      const ratio = c.mrr > 0 ? `${formatPercent(c.totalCost / c.mrr)} of MRR` : `${c.planStatus}, no MRR`;
      lines.push(
        `  ${c.name.slice(0, 28).padEnd(28)} ${c.tier.padEnd(11)} ${money(c.totalCost).padStart(12)}  ${ratio}`,
      );
    }
  }
  lines.push('', `Alerts as of ${result.asOf ?? '-'}: ${result.alerts.length}`);
  for (const alert of result.alerts) {
    const muted = alert.notify ? '' : '  (sent recently, not repeated)';
    lines.push(
      `  ${alert.severity.padEnd(7)} ${alert.type.padEnd(18)} -> ${alert.team.padEnd(16)} ${alert.explanation}${muted}`,
    );
  }
  lines.push(`Results written to ${result.outDir}`, `Report: open ${join(result.outDir, REPORT_FILE)}`);
  return lines.join('\n');
}
