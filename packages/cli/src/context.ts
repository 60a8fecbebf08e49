import { resolve } from 'node:path';
import type { CliIo } from './io/cli-io';
import { createReporter, progressModeFor, type Reporter } from './io/progress';

/** The options every verb of this package accepts (`--debug` is the root's). */
export interface GlobalOptions {
  json?: boolean;
  debug?: boolean;
  quiet?: boolean;
}

/** What a verb's action works with: streams, output mode, progress, paths. */
export interface CommandContext {
  readonly io: CliIo;
  /** `--json`: stdout carries exactly one JSON document. */
  readonly json: boolean;
  readonly debug: boolean;
  readonly reporter: Reporter;
  /** A path from the command line, resolved against the invocation's folder. */
  path(p: string): string;
  /**
   * Writes the verb's result: the JSON document with `--json`, else the human lines. Called once per invocation.
   */
  emit(result: unknown, human: string | string[]): void;
  /** Runs `fn` when the invocation ends (success or failure). */
  onCleanup(fn: () => void | Promise<void>): void;
}

/**
 * Builds the context of one invocation from the root program's options; `cleanups` collects {@link
 * CommandContext.onCleanup}.
 */
export function createContext(
  io: CliIo,
  options: GlobalOptions,
  cleanups: (() => void | Promise<void>)[] = [],
): CommandContext {
  const json = options.json === true;
  return {
    io,
    json,
    debug: options.debug === true,
    reporter: createReporter(io.stderr, progressModeFor(io.stderr, io.env, options.quiet === true)),
    path: (p) => resolve(io.cwd, p),
    emit(result, human) {
      if (json)
        io.stdout.write(
          `${JSON.stringify(result, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2)}\n`,
        );
      else io.stdout.write(`${(Array.isArray(human) ? human : [human]).join('\n')}\n`);
    },
    onCleanup: (fn) => cleanups.push(fn),
  };
}
