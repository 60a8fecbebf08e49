import { Command } from 'commander';
import { oneLine } from './cli-error';
import { createContext, type CommandContext, type GlobalOptions } from './context';
import type { CliIo } from './io/cli-io';
import { registerBench } from './commands/bench';
import { registerEval } from './commands/eval';
import { registerExperiment } from './commands/experiment';
import { registerExport } from './commands/export';
import { registerImport } from './commands/import';
import { registerPointingGame } from './commands/pointing-game';
import { registerPredict } from './commands/predict';
import { registerQuickstart } from './commands/quickstart';
import { registerReport } from './commands/report';
import { registerSynth } from './commands/synth';
import { registerTrain } from './commands/train';
import { registerTransfer } from './commands/transfer';
import { version } from './version';

/** The verbs this package defines (`serve` and `screen` come from @multichexnet/service). */
export const OWN_VERBS = [
  'quickstart',
  'synth',
  'train',
  'eval',
  'predict',
  'export',
  'import',
  'transfer',
  'experiment',
  'report',
  'bench',
  'pointing-game',
] as const;

/** Options of {@link createProgram}. */
export interface ProgramOptions {
  /** Collects the cleanup callbacks of the invocation's actions. */
  cleanups?: (() => void | Promise<void>)[];
  /**
   * Attach @multichexnet/service's `serve` and `screen` (default true). {@link runCli} leaves them out when the
   * verb is one of {@link OWN_VERBS}: the service stack (HTTP server, job queue) then never loads.
   */
  service?: boolean;
}

/**
 * The `multichexnet` command as a commander program writing to `io`. Parse errors are thrown as CommanderError
 * (exit code 2 for usage errors) after one line on stderr; {@link runCli} maps them to exit codes.
 *
 * @example
 * const program = await createProgram(processIo());
 * await program.parseAsync(['predict', '--model', 'runs/quickstart', 'xray.png'], { from: 'user' });
 */
export async function createProgram(io: CliIo, options: ProgramOptions = {}): Promise<Command> {
  const program = new Command('multichexnet');
  program
    .description(
      'MultiCheXNet: one chest X-ray encoder, three heads (14-label diagnosis, pneumonia boxes, pneumothorax masks), ' +
        'a first-stage gate, staged multi-task training on CPU, ONNX export and inference.',
    )
    .version(version, '-V, --version', 'print the version')
    .option('--debug', 'print stack traces of errors (anywhere on the line)')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      // commander's "error: unknown option '--rezume'\n(Did you mean --resume?)" becomes one line.
      outputError: (s, write) => write(`multichexnet: ${oneLine(s).replace(/\(Did you mean/, '(did you mean')}\n`),
    })
    .addHelpText(
      'after',
      '\nGetting started:\n' +
        '  $ multichexnet quickstart                 # synthetic data, the whole protocol (tiny), ONNX, report\n' +
        '  $ multichexnet predict --model runs/quickstart/model.onnx xray.dcm\n' +
        '\nEvery verb takes --json (one JSON document on stdout) and -q / --quiet (no progress on stderr).\n' +
        'Exit codes: 0 ok, 1 runtime failure, 2 usage error (unknown verb or flag, missing file, invalid config).\n',
    );
  const context = (cmd: Command): CommandContext =>
    createContext(io, cmd.optsWithGlobals<GlobalOptions>(), options.cleanups);
  registerQuickstart(program, context);
  registerSynth(program, context);
  registerTrain(program, context);
  registerEval(program, context);
  registerPredict(program, context);
  registerExport(program, context);
  registerImport(program, context);
  registerTransfer(program, context);
  registerExperiment(program, context);
  registerReport(program, context);
  registerPointingGame(program, context);
  registerBench(program, context);
  // --json and --quiet belong to each verb, not to the root: the root's options are parsed anywhere on the line,
  // and @multichexnet/service's verbs have their own -q (--queue) and --json.
  for (const cmd of program.commands) {
    cmd
      .option('--json', 'machine-readable output: one JSON document on stdout (progress stays on stderr)')
      .option('-q, --quiet', 'no progress output');
  }
  if (options.service !== false) (await import('./commands/service')).registerServiceCommands(program);
  checkRequiredOptionsLast(program);
  return program;
}

/**
 * commander checks required options before unknown ones, so `predict --modle x` would say "required option
 * '-m, --model <path>' not specified". Every verb's required options are checked after its unknown options and
 * arguments instead (a preAction hook), so the mistyped flag names itself: "unknown option '--modle' (did you mean
 * --model?)". A missing one still gets commander's own message and code.
 */
function checkRequiredOptionsLast(cmd: Command): void {
  const required = cmd.options.filter((o) => o.mandatory);
  for (const o of required) o.mandatory = false;
  if (required.length > 0) {
    cmd.hook('preAction', (self) => {
      const missing = required.find((o) => self.getOptionValue(o.attributeName()) === undefined);
      if (missing !== undefined)
        self.error(`error: required option '${missing.flags}' not specified`, {
          code: 'commander.missingMandatoryOptionValue',
        });
    });
  }
  for (const sub of cmd.commands) checkRequiredOptionsLast(sub);
}
