import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Root of the SQL files shared by the local (DuckDB) and deployed (Athena) engines. */
export const SQL_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'athena');

/**
 * A piece of SQL text that is safe to splice into a statement. Plain strings are not accepted by
 * {@link renderSql}, so a value from a file, a tag or an event can only reach SQL through
 * {@link sqlString}, {@link sqlNumber} or {@link sqlIdentifier}, which quote or validate it.
 */
export interface SqlFragment {
  readonly sql: string;
}

/** Marks SQL written by this program (never from input data) as safe to splice. */
export function trustedSql(sql: string): SqlFragment {
  return { sql };
}

/** A string literal. Trino and DuckDB both treat only the single quote as special inside '...'. */
export function sqlString(value: string): SqlFragment {
  if (value.includes('\0')) throw new Error('A SQL string value cannot contain a NUL character');
  return { sql: `'${value.replaceAll("'", "''")}'` };
}

export function sqlNumber(value: number): SqlFragment {
  if (!Number.isFinite(value)) throw new Error(`Not a finite number for SQL: ${value}`);
  return { sql: String(value) };
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A DATE literal from YYYY-MM-DD; `DATE '...'` means the same in Trino and DuckDB. */
export function sqlDate(isoDate: string): SqlFragment {
  if (!ISO_DATE.test(isoDate) || Number.isNaN(Date.parse(`${isoDate}T00:00:00Z`))) {
    throw new Error(`Not a YYYY-MM-DD date: ${JSON.stringify(isoDate)}`);
  }
  return { sql: `DATE '${isoDate}'` };
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A double-quoted identifier; only plain names are allowed, so quoting never needs escaping. */
export function sqlIdentifier(name: string): SqlFragment {
  if (!IDENTIFIER.test(name)) throw new Error(`Not a valid SQL identifier: ${JSON.stringify(name)}`);
  return { sql: `"${name}"` };
}

/** A string list for `IN (...)`, never empty. */
export function sqlStringList(values: readonly string[]): SqlFragment {
  if (values.length === 0) throw new Error('An SQL IN list cannot be empty');
  return { sql: values.map((v) => sqlString(v).sql).join(', ') };
}

const PLACEHOLDER = /\$\{([a-z_][a-z0-9_]*)\}/g;

/** Placeholder names used in a template, in order of first appearance. */
export function placeholdersOf(template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1] as string))];
}

/**
 * Fills every `${name}` placeholder. A placeholder without a value is an error: a half-rendered
 * statement must never reach an engine.
 */
export function renderSql(
  template: string,
  values: Readonly<Record<string, SqlFragment>>,
  source = 'SQL',
): string {
  const missing = placeholdersOf(template).filter((name) => !(name in values));
  if (missing.length > 0) {
    throw new Error(`${source}: no value for placeholder(s) ${missing.map((m) => `\${${m}}`).join(', ')}`);
  }
  return template.replace(PLACEHOLDER, (_match, name: string) => (values[name] as SqlFragment).sql);
}

/** Reads a SQL file below {@link SQL_ROOT}, without its trailing semicolon. */
export function loadSqlFile(relativePath: string): string {
  const text = readFileSync(join(SQL_ROOT, relativePath), 'utf8').trim();
  return text.endsWith(';') ? text.slice(0, -1).trimEnd() : text;
}

/**
 * Where a statement's SQL comes from: a file `path` below {@link SQL_ROOT} (every shipped statement, so
 * the portability tests parse it), or `text` for a statement defined elsewhere, such as in a test, with
 * `source` naming it in errors.
 */
export type SqlSource = { readonly path: string } | { readonly text: string; readonly source: string };

/** The template of a {@link SqlSource} and the name errors give it. */
export function loadSqlSource(sql: SqlSource): { readonly template: string; readonly source: string } {
  return 'path' in sql
    ? { template: loadSqlFile(sql.path), source: sql.path }
    : { template: sql.text, source: sql.source };
}
