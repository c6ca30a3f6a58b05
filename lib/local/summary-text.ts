import { join } from 'node:path';
import { DEFAULT_CURRENCY, formatMoney, formatPercent } from '../common/money.ts';
import { type LocalRunResult, REPORT_FILE } from './run-local.ts';

/**
 * A short, readable account of a run for the terminal. Rounds for people; files stay unrounded. Money
 * and shares go through the formatter of lib/common/money.ts, as in the alerts and the report.
 * @param currency the run's currency; runs do not record one yet, so USD
 */
export function summaryText(result: LocalRunResult, currency: string = DEFAULT_CURRENCY): string {
  const money = (value: number) => formatMoney(value, currency);
  const s = result.summary;
  const lines = [
    `Run ${result.runId}  (${result.format}, rules ${result.rules.version}, ${result.rules.costBasis} cost)`,
    `Days ${s.firstDay ?? '-'} to ${s.lastDay ?? '-'} (${s.days}), ${s.customers} customers with cost`,
    '',
    `Total cost      ${money(s.totalCost)}`,
    `  direct        ${money(s.directCost)}`,
    `  shared        ${money(s.sharedCost)}`,
    `  unattributed  ${money(s.unattributedCost)}  (${formatPercent(s.unattributedPct)} of attributable cost)`,
    `  excluded      ${money(s.excludedCost)}`,
    'Conservation    holds on every day',
  ];
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
