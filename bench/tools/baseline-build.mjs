#!/usr/bin/env node
// Builds packages/core and packages/core-encoder of an older commit into a directory that the bench can measure
// beside the current tree (MCX_BENCH_BASELINE=<dir>): git archive of the commit, node_modules linked to this
// tree's (with @multichexnet/* pointing at the old packages), tsup. Nothing in this worktree changes.
//   node bench/tools/baseline-build.mjs <commit> <dir>
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from '../lib/tool-setup.mjs';

const [commit, out] = process.argv.slice(2);
if (!commit || !out) {
  process.stderr.write('usage: node bench/tools/baseline-build.mjs <commit> <dir>\n');
  process.exit(2);
}
const dir = resolve(out);
mkdirSync(dir, { recursive: true });
const archive = execFileSync(
  'git',
  ['archive', commit, 'packages/core', 'packages/core-encoder', 'tsconfig.base.json', 'package.json'],
  { cwd: repoRoot },
);
spawnSync('tar', ['-x', '-C', dir], { input: archive, stdio: ['pipe', 'inherit', 'inherit'] });
const nm = join(dir, 'node_modules');
mkdirSync(join(nm, '@multichexnet'), { recursive: true });
for (const entry of readdirSync(join(repoRoot, 'node_modules'))) {
  if (entry === '@multichexnet' || existsSync(join(nm, entry))) continue;
  symlinkSync(join(repoRoot, 'node_modules', entry), join(nm, entry));
}
for (const pkg of ['core', 'core-encoder']) {
  if (!existsSync(join(nm, '@multichexnet', pkg)))
    symlinkSync(join(dir, 'packages', pkg), join(nm, '@multichexnet', pkg));
}
for (const pkg of ['core', 'core-encoder']) {
  const r = spawnSync(join(nm, '.bin', 'tsup'), [], { cwd: join(dir, 'packages', pkg), stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
process.stderr.write(
  `baseline ${commit} built in ${dir}: MCX_BENCH_BASELINE=${dir} npm run bench -- --only densenet121,stock-layers\n`,
);
