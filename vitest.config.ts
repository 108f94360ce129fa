import { defineConfig } from 'vitest/config';

// One config; tiers are the folders under test/ (unit, ort, native, native-ops, c, gpu, cli, …),
// so `vitest run test/<tier>` runs one of them. Forks, because of native addons.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    poolOptions: { forks: { singleFork: false } },
    setupFiles: ['test/helpers/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
