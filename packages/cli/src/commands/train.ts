import type { Command } from 'commander';
import type { TrainCommandOptions } from '../actions/train';
import type { CommandContext } from '../context';
import { BUILTIN_PLAN_NAMES, PLAN_SIZE_NAMES } from './names';
import { examples, integerArg } from './options';

/** Registers `multichexnet train`. */
export function registerTrain(program: Command, context: (cmd: Command) => CommandContext): void {
  program
    .command('train')
    .summary('train a plan (built-in preset or JSON file) into runs/<name>/')
    .description(
      'Runs a training plan with @multichexnet/trainer: its phases in order (Algorithm 1 pre-training, joint or ' +
        'alternating MTL, or a single-task baseline), validation, checkpoints, metrics.jsonl. Then, in the same run ' +
        'folder: the ONNX export (model.onnx + the gated pipeline), the test-split evaluation (eval-test.json), a ' +
        'prediction gallery and report.html. --resume continues an interrupted run from its last checkpoint.\n\n' +
        `Built-in plans: ${BUILTIN_PLAN_NAMES.join(', ')} (sizes ${PLAN_SIZE_NAMES.join(', ')}: "<plan>:tiny", or --size).`,
    )
    .argument('<plan>', 'built-in plan name (optionally name:size) or a plan JSON file')
    .option('-d, --data <dir>', 'data root holding nih/, rsna/, siim/ (as "multichexnet synth" writes them)')
    .option('--nih <dir>', 'NIH ChestX-ray14 folder (overrides --data)')
    .option('--rsna <dir>', 'RSNA Pneumonia folder (overrides --data)')
    .option('--siim <dir>', 'SIIM-ACR Pneumothorax folder (overrides --data)')
    .option('--size <size>', `size of a built-in plan (${PLAN_SIZE_NAMES.join(' | ')})`, 'tiny')
    .option('--seed <n>', "override the plan's seed", integerArg(0))
    .option('--run <dir>', 'run folder (default <runs>/<plan name>)')
    .option('--runs <dir>', 'parent folder of run folders', 'runs')
    .option(
      '--resume',
      'continue the run in --run from its last checkpoint (a damaged one is skipped for the newest intact one)',
    )
    .option(
      '--on-bad-sample <policy>',
      'a bad label row or image: fail (stop, naming it) | skip (leave it out, count it in eval.json and the report)',
      'fail',
    )
    .option('--backend <name>', 'tfjs backend: auto | wasm | tensorflow | cpu', 'auto')
    .option('--no-export', 'skip the ONNX export')
    .option('--no-eval', 'skip the test-split evaluation and the gallery')
    .option('--no-report', 'skip report.html')
    .addHelpText(
      'after',
      examples(
        'multichexnet synth --out data/synth && multichexnet train multichexnet-joint --size tiny --data data/synth',
        'multichexnet train my-plan.json --data data/synth --run runs/exp1 --resume',
      ),
    )
    .action(async (planArg: string, o: TrainCommandOptions, cmd: Command) =>
      (await import('../actions/train')).trainAction(context(cmd), planArg, o),
    );
}
