/*
 * How money and shares are written for people: one formatter for the terminal summary, the alerts and
 * the report, in the run's currency with thousands separators. Files and tables stay unrounded.
 */

/** The currency of a run when the billing data names none. */
export const DEFAULT_CURRENCY = 'USD';

/** Results of one run (or of the runs an evaluation reads) hold more than one currency. */
export class MixedCurrencyError extends Error {
  override readonly name = 'MixedCurrencyError';
  constructor(
    readonly currencies: readonly string[],
    where: string,
  ) {
    super(
      `${where} hold costs in ${currencies.join(' and ')}: a run takes billing data of one currency ` +
        '(there is no conversion), so their money cannot be written in one currency',
    );
  }
}

/**
 * The one currency of the `currency` values read from a run's results (each table's `currency` column):
 * {@link DEFAULT_CURRENCY} when there are none (no billing data), the value when all agree. More than
 * one is refused: the run refuses mixed currencies, so results holding two were not written by one run.
 */
export function currencyOfResults(currencies: Iterable<string | null | undefined>, where: string): string {
  const seen = [...new Set([...currencies].filter((c): c is string => typeof c === 'string' && c !== ''))];
  if (seen.length > 1) throw new MixedCurrencyError(seen.sort(), where);
  return seen[0] ?? DEFAULT_CURRENCY;
}

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

const wholeFormatters = new Map<string, Intl.NumberFormat>();

/** `$1,235` for 1234.5 USD, `€1,235` in EUR: whole units, for chart axes where cents are noise. */
export function formatWholeMoney(value: number, currency: string = DEFAULT_CURRENCY): string {
  let formatter = wholeFormatters.get(currency);
  if (formatter === undefined) {
    formatter = new Intl.NumberFormat('en-US', {
      style: 'currency',
      currency,
      minimumFractionDigits: 0,
      maximumFractionDigits: 0,
    });
    wholeFormatters.set(currency, formatter);
  }
  return formatter.format(value);
}

const unitCostFormatters = new Map<string, Intl.NumberFormat>();

/**
 * A unit cost, which is often a fraction of a cent: as {@link formatMoney} from one currency unit up, and
 * below when that loses nothing of its first four significant digits (`$0.18`, `$12.40`), else with four significant digits (`$0.2499`,
 * `$0.00184` per request), so a target of $0.002 is not written `$0.00`.
 */
export function formatUnitCost(value: number, currency: string = DEFAULT_CURRENCY): string {
  const money = formatMoney(value, currency);
  if (Math.abs(value) >= 1) return money;
  const minorDigits = formatters.get(currency)?.resolvedOptions().maximumFractionDigits ?? 2;
  const significant = Number(value.toPrecision(4));
  if (Math.abs(significant - Number(value.toFixed(minorDigits))) < 1e-12) return money;
  let formatter = unitCostFormatters.get(currency);
  if (formatter === undefined) {
    formatter = new Intl.NumberFormat('en-US', { style: 'currency', currency, maximumSignificantDigits: 4 });
    unitCostFormatters.set(currency, formatter);
  }
  return formatter.format(value);
}
