import type { Command } from 'commander';
import type { QuickstartOptions } from '../actions/quickstart';
import type { CommandContext } from '../context';
import { PLAN_SIZE_NAMES } from './names';
import { examples, integerArg, numberArg } from './options';

/** Registers `multichexnet quickstart`. */
export function registerQuickstart(program: Command, context: (cmd: Command) => CommandContext): void {
  program
    .command('quickstart')
    .summary('synthetic data -> the whole protocol (tiny) -> evaluation, ONNX, report, in minutes on a CPU')
    .description(
      "The README's main job, offline on 2 CPU cores: writes synthetic NIH / RSNA / SIIM data, runs the MultiCheXNet " +
        'protocol at the tiny preset through the experiment functions (Table 1: single-task baselines, BigBang, joint ' +
        'and alternating MTL after Algorithm 1 pre-training; Table 2: the gate), then presents the MultiCheXNet (joint) ' +
        'model in the output folder: model.onnx and the gated pipeline, eval-test.json, a gallery and report.html. ' +
        'Run it again and finished parts are reused.',
    )
    .option('-o, --out <dir>', 'output folder', 'runs/quickstart')
    .option('--seed <n>', 'seed of the data, the plans and the baselines', integerArg(0), 0)
    .option(
      '--size <size>',
      `plan size (${PLAN_SIZE_NAMES.join(' | ')}): tiny = densenet-tiny at 128 px; small = densenet-small at 256 px, same steps, several times longer`,
      'tiny',
    )
    .option('--backend <name>', 'tfjs backend: auto | wasm | tensorflow | cpu', 'auto')
    .option(
      '--step-scale <x>',
      'multiply every phase length (below 1: a quicker, weaker smoke run)',
      numberArg(0.0001, 10),
      1,
    )
    .option('--nih <n>', 'synthetic NIH images (omitted: the experiment default)', integerArg(1))
    .option('--rsna <n>', 'synthetic RSNA images (omitted: the experiment default)', integerArg(1))
    .option('--siim <n>', 'synthetic SIIM images (omitted: the experiment default)', integerArg(1))
    .addHelpText(
      'after',
      examples(
        'multichexnet quickstart',
        'multichexnet quickstart --out runs/qs2 --seed 3 --json',
        'multichexnet quickstart --size small --out runs/qs-small',
      ),
    )
    .action(async (o: QuickstartOptions, cmd: Command) =>
      (await import('../actions/quickstart')).quickstartAction(context(cmd), o),
    );
}
