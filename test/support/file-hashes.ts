import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * sha256 of every file under `path` (or of `path` itself), by relative path: two equal maps mean the
 * same files with the same bytes. The tests use it to prove a user's files or a previous result untouched.
 */
export function hashTree(path: string): Record<string, string> {
  const hashes: Record<string, string> = {};
  const walk = (current: string) => {
    if (statSync(current).isDirectory()) {
      for (const entry of readdirSync(current).sort()) walk(join(current, entry));
    } else {
      hashes[relative(path, current) || '.'] = createHash('sha256')
        .update(readFileSync(current))
        .digest('hex');
    }
  };
  walk(path);
  return hashes;
}
