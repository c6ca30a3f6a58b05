import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../../lib/engine/duckdb-engine.ts';
import { tempDir } from '../support/fixtures.ts';

/**
 * `cpc run --memory-limit/--temp-dir` (DuckDbEngineOptions): beyond the limit DuckDB spills to the
 * given folder instead of failing, and leaves nothing there once the engine is closed.
 */
describe('DuckDbEngine memory limit and temporary folder', () => {
  it('holds a table bigger than the limit by spilling it to the temporary folder', async () => {
    const spill = join(tempDir(), 'spill');
    const engine = await DuckDbEngine.create({ memoryLimit: '64MB', tempDirectory: spill, threads: 1 });
    try {
      const [settings] = await engine.query(
        "SELECT current_setting('memory_limit') AS memory, current_setting('temp_directory') AS folder",
      );
      // 64 MB is 61.0 MiB, as DuckDB shows it.
      expect(settings).toEqual({ memory: '61.0 MiB', folder: spill });
      // 20 million pairs of BIGINTs: 320 MB, five times the limit.
      await engine.createTable('big', 'SELECT range AS i, range * 2 AS j FROM range(20000000)');
      const files = await engine.query('SELECT path, size FROM duckdb_temporary_files()');
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) expect(String(file.path).startsWith(`${spill}/`)).toBe(true);
      const spilled = files.reduce((sum, file) => sum + Number(file.size), 0);
      expect(spilled).toBeGreaterThan(160_000_000);
      // Every row is still there: 0 + 1 + ... + 19,999,999 = 19,999,999 x 20,000,000 / 2.
      const [sums] = await engine.query('SELECT count(*) AS n, sum(i) AS total, sum(j) AS doubled FROM big');
      expect(sums).toEqual({ n: '20000000', total: '199999990000000', doubled: '399999980000000' });
    } finally {
      engine.close();
    }
    expect(existsSync(spill)).toBe(false);
  });
});
