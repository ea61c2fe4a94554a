import { defineConfig } from 'vitest/config';

// Unit and integration suites under plain Node: binding, services, contract over every transport, renderer model.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
