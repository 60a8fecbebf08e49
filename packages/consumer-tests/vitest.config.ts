import { defineConfig, mergeConfig } from 'vitest/config';
import { sharedTestConfig } from '../../vitest.shared.ts';

// Packing and `npm install` of a consumer project run in beforeAll and can take a minute or two on a busy 2-core CI
// machine; the test files run one after the other so the two installs do not compete for the cores.
export default defineConfig(
  mergeConfig(sharedTestConfig(import.meta.url, { testTimeout: 300_000 }), {
    test: { hookTimeout: 600_000, fileParallelism: false },
  }),
);
