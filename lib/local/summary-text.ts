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
  lines.push('', ...alertLines(result));
  lines.push(`Results written to ${result.outDir}`, `Report: open ${join(result.outDir, REPORT_FILE)}`);
  const { rowLimit, notWritten } = result.csvTwins;
  if (notWritten.length > 0) {
    const files = notWritten.map((o) => `${o.file} (${o.rows.toLocaleString('en-US')} rows)`).join(', ');
    lines.push(
      `Only as Parquet, over the CSV limit of ${rowLimit?.toLocaleString('en-US')} rows: ${files};` +
        ' --csv-row-limit none writes every CSV',
    );
  }
  return lines.join('\n');
}

/**
 * The alerts of a run as the messages it sends: one line per message, the weekly digests that wait for
 * their weekday, and one count line. Each alert, with why it was not sent, is in alerts.json.
 */
export function alertLines(result: Pick<LocalRunResult, 'alerts' | 'messages' | 'asOf'>): string[] {
  const sent = result.alerts.filter((alert) => alert.notify).length;
  const held = result.alerts.length - sent;
  const lines = [
    `Alerts as of ${result.asOf ?? '-'}: ${result.alerts.length} evaluated, ${sent} sent, ${held} held (why: alerts.json); ${plural(result.messages.length, 'message')}`,
  ];
  for (const message of result.messages) {
    const count = plural(message.alerts.length, 'alert');
    if (message.kind === 'single') lines.push(`  ${message.title} -> ${message.team}`);
    else if (message.kind === 'held_back')
      lines.push(`  held back -> ${message.team}: ${count} over the per-run cap`);
    else if (message.severity === 'WARNING')
      lines.push(`  WARNING weekly digest -> ${message.team}: ${count}`);
    else lines.push(`  ${message.severity} digest -> ${message.team}: ${count}`);
  }
  const waiting = new Map<string, { count: number; reason: string }>();
  for (const alert of result.alerts) {
    if (alert.heldBack?.startsWith('waits for the weekly digest') !== true) continue;
    const entry = waiting.get(alert.team) ?? { count: 0, reason: alert.heldBack };
    waiting.set(alert.team, { ...entry, count: entry.count + 1 });
  }
  for (const [team, { count, reason }] of waiting) {
    lines.push(`  WARNING weekly digest -> ${team}: ${plural(count, 'alert')} held (${reason})`);
  }
  return lines;
}

const plural = (n: number, one: string) => `${n} ${n === 1 ? one : `${one}s`}`;
