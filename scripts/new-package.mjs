#!/usr/bin/env node
// Creates a workspace package laid out like the existing ones (packages/gating is the model): package.json with the
// `source` export condition, the core peer dependency, the publish fields and the `check-package` script;
// tsconfig.json, tsconfig.build.json, tsup.config.ts and vitest.config.ts; src/version.ts and src/index.ts; a test
// that can fail; a README with its Install and Example sections. The result builds, typechecks, lints, tests and
// passes `npm run check-packages` as generated.
// Usage: node scripts/new-package.mjs <dir> <name> <tag> "<description>"
//   e.g. node scripts/new-package.mjs packages/head-foo @multichexnet/head-foo layer:head "CheXFoo: ..."
// Existing files are never overwritten. Afterwards: `flock /tmp/npm.lock npm install` links the package into the
// workspace (tests resolve @multichexnet/core through it).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repositoryFields } from '../tools/release/lib/pack.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const usage = 'usage: node scripts/new-package.mjs <dir> <name> <tag> "<description>"';
const [dirArg, name, tag, description] = process.argv.slice(2);
if (!dirArg || !name || !tag || !description) {
  console.error(usage);
  process.exit(2);
}

// The tags the package-boundary rule knows; a package with another tag would be unconstrained by lint.
const tags = [...readFileSync(join(root, 'eslint.config.mjs'), 'utf8').matchAll(/sourceTag: '([^']+)'/g)].map(
  (m) => m[1],
);
const fail = (message) => {
  console.error(`new-package: ${message}\n${usage}`);
  process.exit(2);
};
if (!tags.includes(tag)) fail(`unknown tag "${tag}": expected one of ${tags.join(', ')} (eslint.config.mjs)`);
if (!/^@multichexnet\/[a-z0-9]+(-[a-z0-9]+)*$/.test(name)) fail(`name "${name}" must be @multichexnet/<kebab-case>`);

const dir = resolve(dirArg);
const fromRoot = relative(root, dir);
if (fromRoot.startsWith('..') || !/^(packages|apps)\/[^/]+$/.test(fromRoot))
  fail(`${dirArg} must be packages/<name> or apps/<name> (the npm workspaces)`);
const up = '../'.repeat(fromRoot.split('/').length);
const shortName = name.split('/')[1];
const isCore = tag === 'layer:core';
const coreVersion = JSON.parse(readFileSync(join(root, 'packages', 'core', 'package.json'), 'utf8')).version;
const json = (value) => `${JSON.stringify(value, null, 2)}\n`;

const files = {
  'package.json': json({
    name,
    version: '0.1.0',
    description,
    license: 'Apache-2.0',
    ...repositoryFields(dir),
    type: 'module',
    sideEffects: false,
    main: './dist/index.js',
    types: './dist/index.d.ts',
    exports: {
      '.': { source: './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' },
      './package.json': './package.json',
    },
    files: ['dist', 'README.md', 'CHANGELOG.md'],
    engines: { node: '>=20.19' },
    publishConfig: { access: 'public' },
    scripts: {
      build: 'tsup',
      test: 'vitest run',
      typecheck: 'tsc --noEmit -p tsconfig.json',
      'check-package': `node ${up}tools/release/check-package.mjs`,
    },
    nx: { tags: [tag] },
    // A peer, not a dependency: a project holds one core, one block registry and one tfjs engine.
    ...(isCore ? {} : { peerDependencies: { '@multichexnet/core': `^${coreVersion}` } }),
  }),
  'tsconfig.json': json({
    extends: `${up}tsconfig.base.json`,
    compilerOptions: { noEmit: true, allowImportingTsExtensions: true },
    include: ['src', 'test', '*.ts'],
  }),
  'tsconfig.build.json': json({
    extends: `${up}tsconfig.base.json`,
    compilerOptions: { rootDir: 'src', customConditions: [] },
    include: ['src'],
  }),
  'tsup.config.ts': `import { defineConfig } from 'tsup';
import { packageBuild } from '${up}tsup.shared.ts';

export default defineConfig(packageBuild(['src/index.ts']));
`,
  'vitest.config.ts': `import { defineConfig } from 'vitest/config';
import { sharedTestConfig } from '${up}vitest.shared.ts';

export default defineConfig(sharedTestConfig(import.meta.url));
`,
  'src/version.ts': `/** Version of ${name} (kept in step with package.json by the release script). */
export const version = '0.1.0';
`,
  'src/index.ts': `export { version } from './version';
`,
  'test/version.test.ts': `import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { version } from '../src/index';

describe('${shortName}', () => {
  it('exports the version of its package.json', () => {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(version).toBe(manifest.version);
  });
});
`,
  'README.md': `# ${name}

${description}

## Install

\`\`\`sh
npm install ${name}${isCore ? '' : ' @multichexnet/core'}
\`\`\`
${
  isCore
    ? ''
    : `
\`@multichexnet/core\` is a peer dependency: a project holds one copy of core, of its block registry and of the tfjs
engine. `
}ESM only; Node >= 20.19 also loads it with \`require()\`.

## Example

\`\`\`ts
import { version } from '${name}';

console.log(version); // '0.1.0'
\`\`\`
`,
};

let created = 0;
for (const [file, text] of Object.entries(files)) {
  const path = join(dir, file);
  if (existsSync(path)) {
    console.log(`kept ${relative(root, path)} (exists)`);
    continue;
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  created++;
}
console.log(`created ${created} files in ${fromRoot}
next:
  flock /tmp/npm.lock npm install            # links ${name} into the workspace
  cd ${fromRoot} && npx vitest run && npx tsc --noEmit -p tsconfig.json && npx eslint .
  npx nx run ${name}:check-package            # build, then publint, attw, shipped imports, version
When it is published: add it to typedoc.json (the README-example and doc-shape checks take every non-private package).`);
