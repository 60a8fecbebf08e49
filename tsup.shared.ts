import type { Options } from 'tsup';

/**
 * The one tsup configuration every package builds with: ESM for Node 20 and browsers (`platform: 'neutral'`), types
 * from tsconfig.build.json without the `source` condition (so a package's .d.ts points at its dependencies' dist/),
 * source maps, a clean dist/. A package names only its entries and what differs.
 *
 * @example
 * export default defineConfig(packageBuild({ index: 'src/index.ts', decode: 'src/decode.ts' }));
 */
export function packageBuild(entry: Options['entry'], overrides: Partial<Options> = {}): Options {
  return {
    entry,
    format: ['esm'],
    dts: { compilerOptions: { customConditions: [] } },
    tsconfig: 'tsconfig.build.json',
    sourcemap: true,
    clean: true,
    target: 'node20',
    platform: 'neutral',
    ...overrides,
  };
}
