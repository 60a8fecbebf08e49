import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';

// The encoder bench: not part of the test suite (it takes minutes); run from the package folder with
//   npx vitest run --config bench/vitest.config.ts
const root = dirname(dirname(fileURLToPath(import.meta.url)));
export default defineConfig({
  root,
  resolve: { conditions: ['source', 'module', 'import', 'default'] },
  ssr: { resolve: { conditions: ['source', 'module', 'import', 'node', 'default'] } },
  test: {
    include: ['bench/**/*.bench-test.ts'],
    environment: 'node',
    testTimeout: 1_800_000,
    pool: 'forks',
    server: { deps: { inline: [/@multichexnet\//] } },
  },
});
