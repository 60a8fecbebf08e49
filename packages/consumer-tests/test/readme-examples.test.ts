// Every published package's README example (the code block of its "## Example" section, or the one after an
// `<!-- example:... -->` marker), run as a user runs it: a file of its own, from the repository root, against the
// built packages (Node resolves @multichexnet/* to dist/), TypeScript through tsx. `node
// tools/release/readme-examples.mjs [package ...]` does the same by hand. Three run elsewhere, with what they need
// (RUN_ELSEWHERE).
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { publishedPackageDirs } from '../../../tools/release/lib/pack.mjs';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { exampleBlock, failureTail, isTypeScript, runExample } from '../../../tools/release/lib/readme-example.mjs';
import { workspaceRoot } from './helpers/consumer-project';
import { README_FOLLOWED } from './helpers/local-registry';

/** Examples another test runs as written: the file that does (in a fresh install; with a checkpoint torch writes). */
const REGISTRY_TEST = 'packages/consumer-tests/test/registry-consumer.test.ts';
const RUN_ELSEWHERE: Record<string, string> = {
  ...Object.fromEntries(README_FOLLOWED.map((p) => [p, REGISTRY_TEST])),
  pretrained: 'packages/pretrained/test/torch-parity.test.ts',
};
const HERE = publishedPackageDirs(workspaceRoot).filter((p) => !(p in RUN_ELSEWHERE));

const dir = join(workspaceRoot, 'node_modules', '.cache', `mcx-readme-examples-test-${process.pid}`);
mkdirSync(dir, { recursive: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(HERE)('the README example of @multichexnet/%s', (pkg) => {
  it('runs as written from the repository root', () => {
    const block = exampleBlock(readFileSync(join(workspaceRoot, 'packages', pkg, 'README.md'), 'utf8'));
    expect(block, `packages/${pkg}/README.md has no "## Example" section with a ts/js code block`).not.toBeNull();
    const file = join(dir, `${pkg}.${isTypeScript(block!) ? 'mts' : 'mjs'}`);
    const r = runExample(block!, file, { cwd: workspaceRoot, timeoutMs: 240_000 });
    expect(r.status, `${pkg} README example (exit ${r.status ?? r.signal}):\n${failureTail(r)}`).toBe(0);
    console.log(`README example of ${pkg}: ran in ${r.seconds.toFixed(1)} s`);
  }, 300_000);
});

describe('README examples run elsewhere', () => {
  it.each(Object.entries(RUN_ELSEWHERE))('%s: %s runs it', (pkg, where) => {
    expect(publishedPackageDirs(workspaceRoot)).toContain(pkg);
    expect(readFileSync(join(workspaceRoot, where), 'utf8')).toMatch(/README/);
  });
});
