#!/usr/bin/env node
// Creates a package with the four files every package of this workspace has
// (package.json, tsconfig.json, tsup.config.ts, vitest.config.ts) plus README and src/index.ts.
// Usage: node scripts/new-package.mjs <dir> <name> <tag> "<description>"
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const [dir, name, tag, description] = process.argv.slice(2);
if (!dir || !name || !tag || !description) {
  console.error('usage: node scripts/new-package.mjs <dir> <name> <tag> "<description>"');
  process.exit(2);
}
const depth = dir.split('/').length;
const up = '../'.repeat(depth);
mkdirSync(join(dir, 'src'), { recursive: true });
mkdirSync(join(dir, 'test'), { recursive: true });
const write = (file, text) => {
  const p = join(dir, file);
  if (existsSync(p)) return;
  writeFileSync(p, text);
};
write('package.json', JSON.stringify({
  name,
  version: '0.1.0',
  description,
  license: 'Apache-2.0',
  type: 'module',
  sideEffects: false,
  main: './dist/index.js',
  types: './dist/index.d.ts',
  exports: {
    '.': { source: './src/index.ts', types: './dist/index.d.ts', import: './dist/index.js' },
    './package.json': './package.json',
  },
  files: ['dist', 'README.md'],
  engines: { node: '>=20' },
  scripts: { build: 'tsup', test: 'vitest run', typecheck: 'tsc --noEmit -p tsconfig.json' },
  nx: { tags: [tag] },
}, null, 2) + '\n');
write('tsconfig.json', JSON.stringify({
  extends: `${up}tsconfig.base.json`,
  compilerOptions: { noEmit: true, allowImportingTsExtensions: true },
  include: ['src', 'test', '*.ts'],
}, null, 2) + '\n');
write('tsconfig.build.json', JSON.stringify({
  extends: `${up}tsconfig.base.json`,
  compilerOptions: { rootDir: 'src', customConditions: [] },
  include: ['src'],
}, null, 2) + '\n');
write('tsup.config.ts', `import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: { compilerOptions: { customConditions: [] } },
  tsconfig: 'tsconfig.build.json',
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'neutral',
});
`);
write('vitest.config.ts', `import { defineConfig } from 'vitest/config';
import { sharedTestConfig } from '${up}vitest.shared.ts';

export default defineConfig(sharedTestConfig(import.meta.url));
`);
write('README.md', `# ${name}\n\n${description}\n`);
write('src/index.ts', `export const version = '0.1.0';\n`);
console.log('created', dir);
