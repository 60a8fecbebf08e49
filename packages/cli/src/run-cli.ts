import { EXIT_CODES, describeError, exitCodeOf, type ExitCode } from './cli-error';
import { processIo, type CliIo } from './io/cli-io';
import { OWN_VERBS, createProgram } from './program';

/** By shape, not instanceof: @multichexnet/service's commands are built with its own copy of commander. */
function isCommanderError(e: unknown): e is { code: string; exitCode: number } {
  const c = e as { code?: unknown; exitCode?: unknown } | null;
  return (
    e instanceof Error &&
    typeof c?.code === 'string' &&
    c.code.startsWith('commander.') &&
    typeof c.exitCode === 'number'
  );
}

/** commander's exits that are not failures: help and version. */
const CLEAN_EXITS = new Set([
  'commander.helpDisplayed',
  'commander.help',
  'commander.version',
  'commander.executeSubCommandAsync',
]);

/**
 * Runs the CLI on `argv` (without the node and script entries) and returns the exit code: 0 ok, 1 runtime
 * failure, 2 usage error. Errors are printed as one line on stderr, with the stack only under `--debug`.
 * Never calls process.exit, so tests can run it in-process.
 *
 * @example
 * const code = await runCli(['predict', '--model', 'runs/quickstart', 'xray.png', '--json']);
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<ExitCode> {
  const debug = argv.includes('--debug');
  const verb = argv.find((a) => !a.startsWith('-'));
  const cleanups: (() => void | Promise<void>)[] = [];
  try {
    const program = await createProgram(io, {
      cleanups,
      service:
        verb === undefined
          ? !argv.some((a) => a === '-V' || a === '--version')
          : !(OWN_VERBS as readonly string[]).includes(verb),
    });
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_CODES.ok;
  } catch (e) {
    if (isCommanderError(e)) {
      if (CLEAN_EXITS.has(e.code) || e.exitCode === 0) return EXIT_CODES.ok;
      // commander already printed its one line through outputError.
      return EXIT_CODES.usage;
    }
    const code = exitCodeOf(e);
    // A usage error is about the command line: the stack would not help, so no hint for it.
    const hint = debug || code === EXIT_CODES.usage ? '' : ' (--debug shows the stack)';
    io.stderr.write(`multichexnet: error: ${describeError(e)}${hint}\n`);
    if (debug && e instanceof Error && e.stack) io.stderr.write(`${e.stack}\n`);
    return code;
  } finally {
    for (const fn of cleanups.reverse()) await fn();
  }
}
