/**
 * How the page writes amounts and shares: the product's one formatter (lib/common/money.ts), so the
 * report, the terminal summary and the alerts write money the same way. The data stays unrounded;
 * rounding happens only here.
 */
import { DEFAULT_CURRENCY, formatMoney, formatPercent } from '../../common/money.ts';

/** Money in the run's currency with thousands separators, or a dash when there is no value. */
export function money(value: number | null | undefined, currency: string = DEFAULT_CURRENCY): string {
  return value === null || value === undefined ? '–' : formatMoney(value, currency);
}

/** A share as a percentage with `digits` decimals, or a dash when there is no value. */
export function pct(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined ? '–' : formatPercent(value, digits);
}
