import { defineConfig } from 'vitest/config';

// Micro-benchmarks run on the TypeScript sources (`@chorus/source`), like the unit tests: no build.
const resolve = { conditions: ['@chorus/source'] };

export default defineConfig({
  resolve,
  test: { include: [], benchmark: { include: ['micro/**/*.bench.ts'] } },
});
