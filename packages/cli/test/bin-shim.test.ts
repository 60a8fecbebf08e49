import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { version } from '../src/version';
import { BUILT_BIN, REPO_ROOT, shellEnv } from './helpers';

/*
 * The `multichexnet` bin (packages/cli/bin/multichexnet.mjs): npm links it at `npm ci` (it is committed; dist/ is
 * not there yet), it runs the TypeScript sources in a clone and dist/ where the package is installed from npm.
 */
const SHIM = join(REPO_ROOT, 'packages', 'cli', 'bin', 'multichexnet.mjs');
// Inside the repository's node_modules, so that tsx resolves from the copies as it does from the real bin.
const lab = join(REPO_ROOT, 'node_modules', '.cache', 'mcx-cli-bin-shim');

/** A package folder with a copy of the bin and the given src/ and dist/ (links or folders). */
function layout(name: string, parts: { src?: string; dist?: string }): string {
  const dir = join(lab, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'bin'), { recursive: true });
  cpSync(SHIM, join(dir, 'bin', 'multichexnet.mjs'));
  if (parts.src) symlinkSync(parts.src, join(dir, 'src'), 'dir');
  if (parts.dist) symlinkSync(parts.dist, join(dir, 'dist'), 'dir');
  return join(dir, 'bin', 'multichexnet.mjs');
}

const node = (script: string, ...args: string[]) =>
  spawnSync(process.execPath, [script, ...args], {
    cwd: REPO_ROOT,
    env: shellEnv(),
    encoding: 'utf8',
    timeout: 120_000,
  });

beforeAll(() => mkdirSync(lab, { recursive: true }));
afterAll(() => rmSync(lab, { recursive: true, force: true }));

describe('the multichexnet bin', () => {
  it('is what npm linked into node_modules/.bin (as `npm ci` does in a fresh clone)', () => {
    const link = join(REPO_ROOT, 'node_modules', '.bin', 'multichexnet');
    let target = '';
    try {
      target = realpathSync(link);
    } catch {
      target = '(missing)';
    }
    expect(
      target,
      `${link} -> ${target}; run \`npm ci\` at the repository root (npm links a bin only when its file exists)`,
    ).toBe(realpathSync(SHIM));
  });

  it('in a clone, runs the sources and ignores a dist/ that may be stale', () => {
    const dist = join(lab, 'stale-dist');
    mkdirSync(dist, { recursive: true });
    writeFileSync(join(dist, 'bin.js'), "process.stdout.write('stale dist\\n'); process.exit(7);\n");
    const bin = layout('clone', { src: join(REPO_ROOT, 'packages', 'cli', 'src'), dist });
    const r = node(bin, '--version');
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(version);
    expect(r.status).toBe(0);
    // exit code and stderr pass through
    const bad = node(bin, 'predict', '--modle', 'x');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe("multichexnet: error: unknown option '--modle' (did you mean --model?)\n");
  });

  it.skipIf(BUILT_BIN === null)('installed (no src/), runs the built dist/', () => {
    const bin = layout('installed', { dist: join(REPO_ROOT, 'packages', 'cli', 'dist') });
    const r = node(bin, '--version');
    expect(r.stdout.trim()).toBe(version);
    expect(r.status).toBe(0);
  });
});
