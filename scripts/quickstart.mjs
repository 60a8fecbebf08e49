#!/usr/bin/env node
// `npm run quickstart`: the README's main job: synthetic data, the whole MultiCheXNet protocol at the tiny preset
// (Table 1 and Table 2), evaluation, ONNX export and runs/quickstart/report.html. Extra arguments go to the
// quickstart verb: `npm run quickstart -- --seed 3 --out runs/qs3`.
//
// It runs the CLI straight from the TypeScript sources (packages/cli/bin/multichexnet.mjs in a clone: tsx, `source`
// export condition) instead of building every package first: on a fresh clone the build (mostly .d.ts generation)
// would cost minutes of the 10-minute budget and the quickstart needs none of it. `npx multichexnet`, which the
// quickstart's closing line prints, is the same command.
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const started = Date.now();
const bin = join(root, 'packages', 'cli', 'bin', 'multichexnet.mjs');
const run = spawnSync(process.execPath, [bin, 'quickstart', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: process.env,
});
process.stderr.write(`quickstart: ${((Date.now() - started) / 1000).toFixed(0)} s in all\n`);
process.exit(run.status ?? 1);
