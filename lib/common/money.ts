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

const percentFormatter = new Intl.NumberFormat('en-US', {
  style: 'percent',
  minimumFractionDigits: 1,
  maximumFractionDigits: 1,
});

/** `12.5%` for 0.125: one decimal, thousands separators for very large ratios. */
export function formatPercent(ratio: number): string {
  return percentFormatter.format(ratio);
}
