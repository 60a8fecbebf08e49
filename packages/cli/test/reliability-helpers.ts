import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'vitest';
import { cli, flags, lines } from './helpers';

const here = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(here, '..', '..', '..');

/** The CLI's entry point in TypeScript, run with tsx and the `source` condition, as scripts/quickstart.mjs does. */
const BIN_TS = join(REPO, 'packages', 'cli', 'src', 'bin.ts');
const TSX = pathToFileURL(join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

/**
 * The environment of every spawned CLI: one wasm thread, because a run is bit-identical to another only at the same
 * thread count (trainer README), and a crashed run and its resume must be compared with an uninterrupted one.
 */
export const CHILD_ENV: NodeJS.ProcessEnv = { ...process.env, MULTICHEXNET_WASM_THREADS: '1', NO_COLOR: '1' };

/** Starts the real `multichexnet` program in its own process (a kill -9 must hit a real process, not a promise). */
export function spawnCli(cwd: string, args: readonly string[]): ChildProcess {
  if (!existsSync(BIN_TS)) throw new Error(`no CLI entry point at ${BIN_TS}`);
  return spawn(process.execPath, ['--conditions=source', '--import', TSX, BIN_TS, ...args], {
    cwd,
    env: CHILD_ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** What a finished child wrote, and how it ended. */
export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

/** Collects a child's output until it exits. */
export function finished(child: ChildProcess): Promise<ChildResult> {
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((res) => child.on('close', (code, signal) => res({ code, signal, out, err })));
}

/** Runs the CLI in a child process to its end. */
export function runChild(cwd: string, args: readonly string[]): Promise<ChildResult> {
  return finished(spawnCli(cwd, args));
}

/** `multichexnet synth` of 64 px films into `<dir>/<out>` (no COVID-19 set unless counted), in-process; fails the test when it fails. */
export async function synthesize(
  dir: string,
  out: string,
  counts: { nih: number; rsna: number; siim: number; covid?: number },
  seed: number,
): Promise<string> {
  const r = await cli(dir, 'synth', ...flags({ out, covid: 0, ...counts, size: 64, seed, json: true }));
  expect(r.code, r.err).toBe(0);
  return join(dir, out);
}

/** metrics.jsonl records without their wall-clock field. */
export function metricsWithoutClock(runDir: string): Record<string, unknown>[] {
  return lines(readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')).map((l) => {
    const { imagesPerSecond: _clock, ...rest } = JSON.parse(l) as Record<string, unknown>;
    return rest;
  });
}

/** An evaluation file's metrics (eval.json / eval-test.json), the part that must not depend on the clock. */
export function evalMetrics(file: string): unknown {
  const json = JSON.parse(readFileSync(file, 'utf8')) as { metrics?: unknown };
  return json.metrics ?? json;
}
