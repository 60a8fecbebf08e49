#!/usr/bin/env node
// Runs the example of every published package's README as a user would: the first ```ts / ```js block of its
// "## Example" section (or the block after an `<!-- example:... -->` marker), from the repository root, against
// the BUILT packages (Node resolves `@multichexnet/*` to dist/ through the `default` export condition; the
// `source` condition is not set). TypeScript runs through tsx. Needs `npm run build` first.
//
//   node tools/release/readme-examples.mjs [package ...]   exit 1 when an example fails
// Examples that print "runs as is from the repository root" may read files under ../shared/realdata; they are
// skipped with a message when those files are absent.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publishedPackageDirs } from './lib/pack.mjs';
import { exampleBlock, failureTail, isTypeScript, runExample } from './lib/readme-example.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PUBLISHED = publishedPackageDirs(root);
const selected = process.argv.slice(2).length > 0 ? process.argv.slice(2) : PUBLISHED;
const TIMEOUT_MS = Number(process.env.README_EXAMPLE_TIMEOUT_MS ?? 600_000);

const dir = join(root, 'node_modules', '.cache', 'mcx-readme-examples');
mkdirSync(dir, { recursive: true });
let failed = 0;
let skipped = 0;
for (const pkg of selected) {
  const readme = join(root, 'packages', pkg, 'README.md');
  const block = existsSync(readme) ? exampleBlock(readFileSync(readme, 'utf8')) : null;
  if (block === null) {
    console.log(`${pkg}: NO EXAMPLE (no "## Example" section with a ts/js code block)`);
    failed++;
    continue;
  }
  if (block.code.includes('../shared/realdata') && !existsSync(join(root, '..', 'shared', 'realdata'))) {
    console.log(`${pkg}: skipped (its example reads ../shared/realdata, which is absent)`);
    skipped++;
    continue;
  }
  const file = join(dir, `${pkg}.${isTypeScript(block) ? 'mts' : 'mjs'}`);
  const r = runExample(block, file, { cwd: root, timeoutMs: TIMEOUT_MS });
  const seconds = r.seconds.toFixed(1);
  if (r.status === 0) {
    const out = r.stdout.trim().split('\n').slice(-3).join(' | ');
    console.log(`${pkg}: ok in ${seconds} s${out ? `  (last output: ${out.slice(0, 200)})` : ''}`);
  } else {
    failed++;
    console.log(`${pkg}: FAILED in ${seconds} s (exit ${r.status ?? r.signal})\n${failureTail(r)}`);
  }
  rmSync(file, { force: true });
}
console.log(
  `${selected.length - failed - skipped} of ${selected.length} README examples ran, ${failed} failed, ${skipped} skipped`,
);
process.exit(failed > 0 ? 1 : 0);
