import { describe, expect, it } from 'vitest';
import { plainDecimal } from '../../lib/local/plain-decimal.ts';

describe('plainDecimal', () => {
  it.each([
    [0, '0'],
    [-0, '0'],
    [12.5, '12.5'],
    [1 / 3, '0.3333333333333333'],
    [0.1 + 0.2, '0.30000000000000004'],
    [1.2e-7, '0.00000012'],
    [-3.5e-12, '-0.0000000000035'],
    [1e21, '1000000000000000000000'],
    [1.5e22, '15000000000000000000000'],
    [123456.789e-10, '0.0000123456789'],
  ])('writes %s as %s', (value, text) => {
    expect(plainDecimal(value)).toBe(text);
    // Nothing is lost: the text reads back as the same double.
    expect(Number(text)).toBe(value === 0 ? 0 : value);
  });

  it('refuses non-finite numbers', () => {
    expect(() => plainDecimal(Number.POSITIVE_INFINITY)).toThrow('finite');
  });
});
