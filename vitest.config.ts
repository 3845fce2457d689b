import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/global-setup.ts'],
    pool: 'forks',
    // Two cores: more workers only add contention for PGlite's WASM and PostgreSQL.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    teardownTimeout: 30_000,
    // CI installs every binary: a skipped test there fails the run (.ci/run sets this).
    reporters: process.env.SMARTALK_TEST_NO_SKIPS ? ['default', './test/setup/no-skips-reporter.ts'] : ['default'],
  },
});
