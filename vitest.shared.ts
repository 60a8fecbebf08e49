import { fileURLToPath } from 'node:url';
import { basename, dirname, join } from 'node:path';
import type { ViteUserConfig } from 'vitest/config';

/**
 * The one vitest configuration every package uses: workspace packages resolve to their `src/` through the
 * `source` export condition, so tests never need a build first.
 */
export function sharedTestConfig(configUrl: string, overrides: { testTimeout?: number } = {}): ViteUserConfig {
  const root = dirname(fileURLToPath(configUrl));
  return {
    root,
    resolve: { conditions: ['source', 'module', 'import', 'default'] },
    ssr: { resolve: { conditions: ['source', 'module', 'import', 'node', 'default'] } },
    test: {
      include: ['test/**/*.test.ts'],
      environment: 'node',
      testTimeout: overrides.testTimeout ?? 60_000,
      hookTimeout: 120_000,
      pool: 'forks',
      passWithNoTests: true,
      server: { deps: { inline: [/@multichexnet\//] } },
      // A JSON report per package, summed by scripts/test.mjs into one closing line.
      reporters: ['default', 'json'],
      outputFile: {
        json: join(root, '..', '..', '.test-results', `${basename(dirname(root))}-${basename(root)}.json`),
      },
    },
  };
}
