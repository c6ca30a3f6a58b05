import { describe, expect, it } from 'vitest';
import { DEFAULT_CURRENCY, formatMoney, formatUnitCost } from '../../lib/common/money.ts';
import { sourcesText } from '../../lib/local/summary-text.ts';

describe('money in the run currency', () => {
  it('defaults to USD', () => {
    expect(DEFAULT_CURRENCY).toBe('USD');
    expect(formatMoney(10862.544)).toBe('$10,862.54');
  });

  it('writes EUR and JPY in their own symbol and minor unit', () => {
    expect(formatMoney(1234.5, 'EUR')).toBe('€1,234.50');
    // the yen has no minor unit: 1234.5 rounds to 1,235 (half away from zero)
    expect(formatMoney(1234.5, 'JPY')).toBe('¥1,235');
  });
});

describe('unit costs', () => {
  it('keep four significant digits below one currency unit, and are money from one unit up', () => {
    expect(formatUnitCost(0.18)).toBe('$0.18');
    expect(formatUnitCost(0.5)).toBe('$0.50');
    // formatMoney would write these $0.25 and $0.00.
    expect(formatUnitCost(0.2499)).toBe('$0.2499');
    expect(formatUnitCost(0.00184)).toBe('$0.00184');
    expect(formatUnitCost(1234.5678)).toBe('$1,234.57');
    expect(formatUnitCost(0.002, 'EUR')).toBe('€0.002');
    expect(formatUnitCost(0.25, 'JPY')).toBe('¥0.25');
  });
});

describe('summary sources line', () => {
  it('counts sources per format in first-seen order', () => {
    expect(sourcesText(['cur2', 'cur2', 'focus'])).toBe('cur2 x2, focus x1');
  });
});
