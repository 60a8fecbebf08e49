import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliIo } from '../src/io/cli-io';
import { runCli } from '../src/run-cli';

const here = dirname(fileURLToPath(import.meta.url));

/** The repository root. */
export const REPO_ROOT = resolve(here, '..', '..', '..');

/**
 * The environment a user's shell has: this process's, without the `npm_*` variables that `npm test` sets for its
 * scripts (a child npm or npx would act on them).
 */
export function shellEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
}

/** `<repoRoot>/../shared/realdata` (tests read the real files in place, never copies). */
export const REALDATA = resolve(here, '..', '..', '..', '..', 'shared', 'realdata');

/** Absolute path of a real file, or null when it is absent (the caller skips with a message). */
export function realFile(name: string): string | null {
  const p = join(REALDATA, name);
  return existsSync(p) ? p : null;
}

/** The built bin (`npm test` builds before testing); null when this checkout was not built. */
export const BUILT_BIN = existsSync(join(here, '..', 'dist', 'bin.js')) ? join(here, '..', 'dist', 'bin.js') : null;

/** In-memory streams for an in-process run. */
export function bufferIo(cwd: string, tty = false): { io: CliIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (out += s), isTTY: false },
    stderr: { write: (s: string) => (err += s), isTTY: tty, columns: 100 },
    cwd,
    env: {},
  };
  return { io, out: () => out, err: () => err };
}

/**
 * Command-line flags of an options object, in its order: a camelCase key is its kebab-case flag, `true` a flag
 * without a value.
 *
 * @example
 * flags({ out: 'qs', stepScale: 0.005, noReport: true });   // ['--out', 'qs', '--step-scale', '0.005', '--no-report']
 */
export function flags(options: Readonly<Record<string, string | number | true>>): string[] {
  return Object.entries(options).flatMap(([key, value]) => {
    const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    return value === true ? [flag] : [flag, String(value)];
  });
}

/** Runs the CLI in-process; returns the exit code and what it wrote. */
export async function cli(cwd: string, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const b = bufferIo(cwd);
  const code = await runCli(argv, b.io);
  return { code, out: b.out(), err: b.err() };
}

/** Non-empty lines of a text. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}
