import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The repository stands on its own: a user's clone has nothing beside it, so no file may read or cite
 * the folder that material was handed over in, and every document a comment or help text cites exists.
 */
const ROOT = join(import.meta.dirname, '..', '..');
/** Folders that are not the project's own files (installed, generated, or written by runs). */
const SKIPPED = new Set([
  'node_modules',
  '.git',
  'out',
  'cdk.out',
  '.bench-data',
  'test-artifacts',
  '.trino',
]);
const TEXT_FILE = /\.(ts|js|mjs|json|sql|md|css|html|yml|yaml|txt|sh)$|^run$/;

function projectFiles(dir: string = ROOT): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (SKIPPED.has(name) || name === 'package-lock.json' || name.startsWith('.out')) return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return projectFiles(path);
    return TEXT_FILE.test(name) ? [path] : [];
  });
}

describe('the repository', () => {
  const files = projectFiles().map((path) => ({
    path: relative(ROOT, path),
    text: readFileSync(path, 'utf8'),
  }));

  it('holds the project files this test reads', () => {
    expect(files.map((file) => file.path)).toEqual(
      expect.arrayContaining(['README.md', 'package.json', 'lib/sql/sql-template.ts']),
    );
  });

  it('never refers to a folder beside the checkout', () => {
    // Spelled in two parts so that this file does not match itself.
    const outside = new RegExp(['\\.\\.', 'shared'].join('/'));
    expect(files.filter((file) => outside.test(file.text)).map((file) => file.path)).toEqual([]);
  });

  it('cites only documents that exist in docs/', () => {
    const cited = new Set(
      files.flatMap((file) => [...file.text.matchAll(/docs\/([a-z0-9-]+\.md)/g)].map((m) => m[1])),
    );
    const missing = [...cited].filter((name) => !files.some((file) => file.path === `docs/${name}`));
    expect(missing).toEqual([]);
  });
});
