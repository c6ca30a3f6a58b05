/** How the page writes amounts and shares. The data stays unrounded; rounding happens only here. */

const MONEY = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });

/** Dollars and cents, or a dash when there is no value. */
export function money(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : MONEY.format(value);
}

/** A share as a percentage with `digits` decimals, or a dash when there is no value. */
export function pct(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined) return '–';
  return `${(value * 100).toFixed(digits)}%`;
}
