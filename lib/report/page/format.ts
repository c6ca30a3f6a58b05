/**
 * How the page writes amounts and shares: the product's one formatter (lib/common/money.ts), so the
 * report, the terminal summary and the alerts write money the same way. The data stays unrounded;
 * rounding happens only here.
 */
import { formatMoney, formatPercent, formatUnitCost, formatWholeMoney } from '../../common/money.ts';

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

/** A unit cost in `currency` with enough digits to tell small prices apart (`$0.0004217`), or a dash. */
export function unitMoneyIn(currency: string): (value: number | null | undefined) => string {
  return (value) => (value === null || value === undefined ? '–' : formatUnitCost(value, currency));
}

/** A change of money with its sign (`+$12.00`, `−$3.50`). */
export function signedMoneyIn(currency: string): (value: number) => string {
  return (value) => `${value > 0 ? '+' : value < 0 ? '−' : ''}${formatMoney(Math.abs(value), currency)}`;
}

/** A change of a share in percentage points (`+1.2 pp`), or a dash. */
export function points(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined) return '–';
  const text = Math.abs(value * 100).toFixed(digits);
  return `${value > 0 && Number(text) !== 0 ? '+' : value < 0 && Number(text) !== 0 ? '−' : ''}${text} pp`;
}

/** A growth rate with its sign (`+25.0%`), or a dash. */
export function growth(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined) return '–';
  return `${value > 0 ? '+' : value < 0 ? '−' : ''}${formatPercent(Math.abs(value), digits)}`;
}
