import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // DuckDB holds native memory per instance; two workers match the two cores CI has.
    maxWorkers: 2,
    testTimeout: 60_000,
    // Setup hooks build whole runs; with the Trino JVM working beside them, 10 s is too short on 2 cores.
    hookTimeout: 60_000,
  },
});
