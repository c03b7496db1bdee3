import { defineConfig } from 'vitest/config';

// Tests run on TypeScript sources through the `@chorus/source` export condition, so unit tests
// need no build. End-to-end tests in test/ spawn the built daemon (npm test builds first).
const resolve = { conditions: ['@chorus/source'] };

export default defineConfig({
  resolve,
  test: {
    projects: [
      { resolve, test: { name: 'core', root: 'packages/core', include: ['src/**/*.test.ts'] } },
      { resolve, test: { name: 'protocol', root: 'packages/protocol', include: ['src/**/*.test.ts'] } },
      { resolve, test: { name: 'client', root: 'packages/client', include: ['src/**/*.test.ts'] } },
      { resolve, test: { name: 'chorusd', root: 'apps/chorusd', include: ['src/**/*.test.ts'] } },
      { resolve, test: { name: 'cli', root: 'apps/chorus', include: ['src/**/*.test.ts'] } },
      { resolve, test: { name: 'dbus', root: 'apps/chorus-dbus', include: ['src/**/*.test.ts'] } },
      {
        resolve,
        test: {
          name: 'e2e',
          root: 'test',
          include: ['**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 30_000,
        },
      },
    ],
  },
});
