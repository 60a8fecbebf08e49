#!/usr/bin/env node
// Bundles the `multichexnet` CLI with every @multichexnet/* package inlined from its TypeScript sources into one
// ESM file, so a long experiment runs from a fixed copy of the code while the working tree changes (a rebuild
// wipes dist/ under a running process). npm dependencies (tfjs, sharp, onnxruntime, ...) stay external and resolve
// from node_modules as the CLI's own imports do, so the output must live in packages/cli/ (its nested
// node_modules hold its own commander); packages/cli/runs/ is ignored by git.
// Usage: node scripts/bundle-cli.mjs packages/cli/runs/multichexnet.mjs
//   then: node packages/cli/runs/multichexnet.mjs experiment table1 --series tiny --out runs/series-tiny --resume
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = process.argv[2];
if (!out || !resolve(out).startsWith(resolve(root, 'packages', 'cli') + '/')) {
  console.error(
    "usage: node scripts/bundle-cli.mjs packages/cli/<dir>/<name>.mjs   (inside packages/cli, where the CLI's dependencies resolve)",
  );
  process.exit(2);
}
const inline = {
  name: 'inline-workspace',
  setup(b) {
    // Bare imports other than the workspace's packages stay imports of node_modules.
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@multichexnet/') || args.kind === 'entry-point' ? undefined : { external: true },
    );
  },
};
const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
const dirty =
  execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).trim()
    .length > 0;
await build({
  entryPoints: [resolve(root, 'packages/cli/src/bin.ts')],
  outfile: resolve(out),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  conditions: ['source'],
  plugins: [inline],
  logLevel: 'warning',
  // The provenance of every table the bundle writes names the code it was built from, not the tree's later HEAD.
  define: { 'process.env.MULTICHEXNET_CODE_COMMIT': JSON.stringify(`${commit}${dirty ? '+dirty' : ''}`) },
});
mkdirSync(dirname(resolve(out)), { recursive: true });
writeFileSync(
  `${resolve(out)}.json`,
  `${JSON.stringify({ bundledAt: new Date().toISOString(), commit, dirty }, null, 2)}\n`,
);
console.log(`bundled ${out} from ${commit}${dirty ? ' (with uncommitted changes)' : ''}`);
