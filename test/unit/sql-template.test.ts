import { describe, expect, it } from 'vitest';
import { renderSql, sqlIdentifier, sqlNumber, sqlString, trustedSql } from '../../lib/sql/sql-template.ts';

describe('the SQL template renderer', () => {
  it('fills every placeholder', () => {
    expect(renderSql('SELECT ${a} FROM ${t} WHERE x = ${a}', { a: sqlNumber(1), t: trustedSql('tbl') })).toBe(
      'SELECT 1 FROM tbl WHERE x = 1',
    );
  });

  it('refuses to leave a placeholder unfilled, naming it and the file', () => {
    expect(() => renderSql('SELECT ${a}, ${b} FROM t', { a: sqlNumber(1) }, 'x.sql')).toThrow(
      'x.sql: no value for placeholder(s) ${b}',
    );
  });

  it('quotes strings so a value can never end the literal', () => {
    expect(sqlString("o'brien'); DROP TABLE x; --").sql).toBe("'o''brien''); DROP TABLE x; --'");
    expect(sqlString('Zürich 東京').sql).toBe("'Zürich 東京'");
    expect(() => sqlString('a\0b')).toThrow('NUL');
  });

  it('accepts only plain identifiers and finite numbers', () => {
    expect(sqlIdentifier('resource_tags_user_tenant_id').sql).toBe('"resource_tags_user_tenant_id"');
    expect(() => sqlIdentifier('a"; DROP TABLE x; --')).toThrow('Not a valid SQL identifier');
    expect(() => sqlNumber(Number.NaN)).toThrow('finite');
  });
});
