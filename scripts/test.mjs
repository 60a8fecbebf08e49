#!/usr/bin/env node
// `npm test`: builds every package (the CLI and the consumer tests run the built output), checks the formatting
// (prettier), then runs lint (package boundaries), typecheck and every package's vitest suite through Nx, and prints one closing line
// "N passed, N failed, N skipped" summed over all packages.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = {
  ...process.env,
  NX_DAEMON: 'false',
  NX_NO_CLOUD: 'true',
  NX_TUI: 'false',
  FORCE_COLOR: process.env.FORCE_COLOR ?? '0',
};
const extra = process.argv.slice(2);
const results = join(root, '.test-results');
rmSync(results, { recursive: true, force: true });

function nx(args) {
  const r = spawnSync('npx', ['nx', ...args, '--outputStyle=stream'], { cwd: root, env, stdio: 'inherit' });
  return r.status ?? 1;
}

let status = nx(['run-many', '-t', 'build', '--parallel=2']);
// Formatting: prettier owns it (.prettierrc.json, .prettierignore); `npm run format` fixes what this reports.
if (status === 0)
  status =
    spawnSync('npx', ['prettier', '--check', '--log-level', 'warn', '.'], { cwd: root, env, stdio: 'inherit' })
      .status ?? 1;
if (status === 0) status = nx(['run-many', '-t', 'lint', 'typecheck', '--parallel=2', ...extra]);
const testStatus = status === 0 ? nx(['run-many', '-t', 'test', '--parallel=2', ...extra]) : 1;

let passed = 0,
  failed = 0,
  skipped = 0;
if (existsSync(results)) {
  for (const f of readdirSync(results).filter((f) => f.endsWith('.json'))) {
    const r = JSON.parse(readFileSync(join(results, f), 'utf8'));
    passed += r.numPassedTests ?? 0;
    failed += (r.numFailedTests ?? 0) + (r.numRuntimeErrorTestSuites ?? 0);
    skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  }
}
if (status !== 0 && failed === 0) failed = 1; // build, lint or typecheck failed: count it so the line is honest
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(status !== 0 ? status : testStatus);
