import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
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

/**
 * The layers, lowest first (README, "Design"): a file may import from its own folder or from a folder of
 * a lower layer, never from one of the same or a higher layer. So the engines know nothing of the
 * attribution, the report nothing of the CLI, and no Lambda or pipeline core anything of the CDK.
 */
const LAYERS: Readonly<Record<string, number>> = {
  'lib/common': 0,
  'lib/sql': 1,
  'lib/inputs': 2,
  'lib/engine': 2,
  'lib/attribution': 3,
  'lib/catalog': 4,
  'lib/alerts': 4,
  'lib/finance': 4,
  'lib/generator': 4,
  'lib/report': 5,
  'lib/local': 6,
  'lib/pipeline': 6,
  'lib/config': 6,
  'lambdas/commons': 7,
  lambdas: 8,
  'lib/constructs': 9,
  lib: 10,
  bin: 11,
  bench: 11,
};

/** The layered folder a folder belongs to: itself, or the nearest enclosing folder that has a layer. */
function roomOf(folder: string): string {
  for (let room = folder; room !== '.'; room = dirname(room)) if (room in LAYERS) return room;
  return folder;
}

/** The rooms an import goes from and to, for each relative import of a project file. */
function importsOf(file: { path: string; text: string }): { from: string; to: string; line: string }[] {
  const folder = dirname(file.path);
  return [...file.text.matchAll(/^(?:import|export)[^'\n]*?from '(\.{1,2}\/[^']+)'/gm)].map((match) => ({
    from: roomOf(folder),
    to: roomOf(dirname(relative(ROOT, join(ROOT, folder, match[1] as string)))),
    line: match[0],
  }));
}

describe('the layering', () => {
  const code = projectFiles()
    .map((path) => ({ path: relative(ROOT, path), text: readFileSync(path, 'utf8') }))
    .filter((file) => file.path.endsWith('.ts') && roomOf(dirname(file.path)) in LAYERS);

  it('knows the layer of every folder of code', () => {
    const folders = new Set(
      projectFiles()
        .map((path) => relative(ROOT, path))
        .filter((path) => path.endsWith('.ts') && /^(lib|lambdas|bin|bench)\//.test(path))
        .map((path) => dirname(path)),
    );
    expect([...folders].filter((folder) => !(roomOf(folder) in LAYERS))).toEqual([]);
  });

  it('has no import that runs against it', () => {
    const against = code.flatMap((file) =>
      importsOf(file)
        .filter(
          ({ from, to }) => to !== from && to in LAYERS && (LAYERS[to] as number) >= (LAYERS[from] as number),
        )
        .map(({ line }) => `${file.path}: ${line}`),
    );
    expect(against).toEqual([]);
  });

  it('would catch one', () => {
    const sample = {
      path: 'lib/engine/x.ts',
      text: "import { runAttribution } from '../attribution/stages.ts';\n",
    };
    expect(importsOf(sample)).toEqual([
      {
        from: 'lib/engine',
        to: 'lib/attribution',
        line: "import { runAttribution } from '../attribution/stages.ts'",
      },
    ]);
    expect(LAYERS['lib/attribution'] as number).toBeGreaterThanOrEqual(LAYERS['lib/engine'] as number);
  });
});
