#!/usr/bin/env node
// `npm run quickstart`: the README's main job. Builds the packages with Nx (cached: a second run rebuilds nothing),
// then runs the built `multichexnet quickstart`: synthetic data, the whole MultiCheXNet protocol at the tiny preset
// (Table 1 and Table 2), evaluation, ONNX export and runs/quickstart/report.html. Extra arguments go to the
// quickstart verb: `npm run quickstart -- --seed 3 --out runs/qs3`.
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' };
const started = Date.now();

process.stderr.write('quickstart: building the packages (nx, cached)...\n');
const build = spawnSync(process.execPath, [join(root, 'node_modules', 'nx', 'dist', 'bin', 'nx.js'), 'run', '@multichexnet/cli:build', '--outputStyle=static'], {
  cwd: root,
  env,
  stdio: ['ignore', 'pipe', 'pipe'],
  encoding: 'utf8',
});
if (build.status !== 0) {
  process.stderr.write(`${build.stdout}\n${build.stderr}\nquickstart: the build failed (exit ${build.status}); see above.\n`);
  process.exit(build.status ?? 1);
}
process.stderr.write(`quickstart: build done in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);

const cli = join(root, 'packages', 'cli', 'dist', 'bin.js');
const run = spawnSync(process.execPath, [cli, 'quickstart', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit', env: process.env });
process.stderr.write(`quickstart: ${((Date.now() - started) / 1000).toFixed(0)} s in all, build included\n`);
process.exit(run.status ?? 1);
