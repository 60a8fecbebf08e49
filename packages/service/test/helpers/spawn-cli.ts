import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const PACKAGE_ROOT = join(here, '..', '..');
const ENTRY = join(here, 'cli-main.ts');

/** A `multichexnet` command in a child process (TypeScript sources through tsx, workspace packages from src/). */
export interface CliProcess {
  child: ChildProcess;
  /** Everything it wrote so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
}

export function spawnCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', ENTRY, ...args], {
    cwd: PACKAGE_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Resolves once `predicate` holds for the process output, rejects on timeout or exit. */
export async function waitForOutput(
  p: CliProcess,
  predicate: (out: string, err: string) => boolean,
  timeoutMs = 60_000,
): Promise<void> {
  const t0 = Date.now();
  while (!predicate(p.stdout(), p.stderr())) {
    if (p.child.exitCode !== null || p.child.signalCode !== null)
      throw new Error(
        `process exited (${p.child.exitCode ?? p.child.signalCode}) before the expected output:\n${p.stdout()}\n${p.stderr()}`,
      );
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for output:\n${p.stdout()}\n${p.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
