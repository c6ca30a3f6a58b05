/**
 * How the page writes amounts and shares: the product's one formatter (lib/common/money.ts), so the
 * report, the terminal summary and the alerts write money the same way. The data stays unrounded;
 * rounding happens only here.
 */
import { formatMoney, formatPercent, formatWholeMoney } from '../../common/money.ts';

/**
 * Money in `currency` (the report's, ReportData.currency) with thousands separators, or a dash when there
 * is no value. No default currency: every amount on the page is written in the run's.
 */
export function money(value: number | null | undefined, currency: string): string {
  return value === null || value === undefined ? '–' : formatMoney(value, currency);
}

/** {@link money} bound to one currency, for a section that writes many amounts. */
export function moneyIn(currency: string): (value: number | null | undefined) => string {
  return (value) => money(value, currency);
}

/** Whole units of `currency` (`€1,235`), for a chart's axis. */
export function moneyTick(currency: string): (value: number) => string {
  return (value) => formatWholeMoney(value, currency);
}

/** A share as a percentage with `digits` decimals, or a dash when there is no value. */
export function pct(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined ? '–' : formatPercent(value, digits);
}
