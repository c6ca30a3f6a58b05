/*
 * How money and shares are written for people: one formatter for the terminal summary, the alerts and
 * the report, in the run's currency with thousands separators. Files and tables stay unrounded.
 */

/** The currency of a run when the billing data names none. */
export const DEFAULT_CURRENCY = 'USD';

const formatters = new Map<string, Intl.NumberFormat>();

/** `$10,862.54` for 10862.54 in USD; `€1,234.50` in EUR. Rounds to the currency's minor unit. */
export function formatMoney(value: number, currency: string = DEFAULT_CURRENCY): string {
  let formatter = formatters.get(currency);
  if (formatter === undefined) {
    formatter = new Intl.NumberFormat('en-US', { style: 'currency', currency });
    formatters.set(currency, formatter);
  }
  return formatter.format(value);
}

const percentFormatters = new Map<number, Intl.NumberFormat>();

/** `12.5%` for 0.125: `digits` decimals (one by default), thousands separators for very large ratios. */
export function formatPercent(ratio: number, digits = 1): string {
  let formatter = percentFormatters.get(digits);
  if (formatter === undefined) {
    formatter = new Intl.NumberFormat('en-US', {
      style: 'percent',
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
    percentFormatters.set(digits, formatter);
  }
  return formatter.format(ratio);
}
