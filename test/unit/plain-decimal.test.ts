import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import { PLAIN_DECIMAL_MACROS } from '../../lib/local/output-files.ts';

describe('plain_decimal (how output CSVs write money)', () => {
  let engine: DuckDbEngine;
  beforeAll(async () => {
    engine = await DuckDbEngine.create({ threads: 1 });
    for (const macro of PLAIN_DECIMAL_MACROS) await engine.run(macro);
  });
  afterAll(() => engine.close());

  it.each([
    [0, '0'],
    [-0, '0'],
    [5, '5'],
    [12.5, '12.5'],
    [-12.5, '-12.5'],
    [1 / 3, '0.3333333333333333'],
    [0.1 + 0.2, '0.30000000000000004'],
    [1.2e-7, '0.00000012'],
    [-3.5e-12, '-0.0000000000035'],
    [1e16, '10000000000000000'],
    [1.5e22, '15000000000000000000000'],
    [123456.789e-10, '0.0000123456789'],
    [123456789.12345679, '123456789.12345679'],
    // Around where DuckDB switches to exponent form.
    [0.0001, '0.0001'],
    [0.00009999, '0.00009999'],
    [-0.00012345, '-0.00012345'],
    [999999999999999.9, '999999999999999.9'],
    [1e15, '1000000000000000'],
    [123456789012345.67, '123456789012345.67'],
  ])('writes %s as %s', async (value, text) => {
    const [row] = await engine.query(`SELECT plain_decimal(CAST('${value}' AS DOUBLE)) AS text`);
    expect(row?.text).toBe(text);
    // Nothing is lost: the text reads back as the same double.
    expect(Number(text)).toBe(value === 0 ? 0 : value);
  });

  it('keeps NULL as NULL', async () => {
    const [row] = await engine.query('SELECT plain_decimal(CAST(NULL AS DOUBLE)) AS text');
    expect(row?.text).toBeNull();
  });
});
