import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ID_BLANK_CODE_POINTS, trimmedIdSql } from '../../lib/engine/athena-id-blanks.ts';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import { sqlString } from '../../lib/sql/sql-template.ts';

describe('ids are trimmed of exactly what JavaScript trims', () => {
  let duck: DuckDbEngine;
  beforeAll(async () => {
    duck = await DuckDbEngine.create({ threads: 1 });
  });
  afterAll(() => duck?.close());

  it('lists every code point String.prototype.trim removes, and no other', () => {
    const trimmed: number[] = [];
    for (let code = 0; code <= 0xffff; code++) {
      if (`${String.fromCharCode(code)}x`.trim() === 'x') trimmed.push(code);
    }
    expect([...ID_BLANK_CODE_POINTS].sort((a, b) => a - b)).toEqual(trimmed);
  });

  it('trims on DuckDB as JavaScript does: each blank at either end, never a character inside', async () => {
    // Each blank on both sides and inside; then characters that are not blanks (zero-width space,
    // next line, a letter) on both sides.
    const values = [
      ...ID_BLANK_CODE_POINTS.map((code) => {
        const c = String.fromCodePoint(code);
        return `${c}${c}acme${c}eu${c}`;
      }),
      ...[0x200b, 0x85, 0x61].map((code) => `${String.fromCodePoint(code)}acme${String.fromCodePoint(code)}`),
    ];
    const rows = await duck.query(
      `SELECT i, ${trimmedIdSql('v')} AS t FROM (VALUES ${values
        .map((value, i) => `(${i}, ${sqlString(value).sql})`)
        .join(', ')}) AS input(i, v) ORDER BY i`,
    );
    expect(rows.map((row) => row.t)).toEqual(values.map((value) => value.trim()));
  });
});
