import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    clearMocks: true,
    restoreMocks: true,
    pool: 'forks',
    // Two cores here and in CI: the integration tests spawn python and servers of their own.
    maxWorkers: 2,
  },
})
