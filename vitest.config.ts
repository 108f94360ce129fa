import { defineConfig } from 'vitest/config';

// One config; tiers are folders (test/unit, test/ort, test/native, test/c, test/gpu, test/cli,
// test/fuzz) so `vitest run test/<tier>` runs one of them. Forks, because of native addons.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    poolOptions: { forks: { singleFork: false } },
    setupFiles: ['test/helpers/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
