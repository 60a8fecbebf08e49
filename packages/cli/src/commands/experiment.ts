import type { Command } from 'commander';
import type { ExperimentOptions } from '../actions/experiment';
import type { CommandContext } from '../context';
import { EXPERIMENTS, VARIANT_NAMES } from './names';
import { examples, integerArg, numberArg } from './options';

/** Registers `multichexnet experiment`. */
export function registerExperiment(program: Command, context: (cmd: Command) => CommandContext): void {
  program
    .command('experiment')
    .summary("reproduce the paper's tables (table1 | table2 | table3 | table4)")
    .description(
      'table1: single-task baselines, BigBang MTL and MultiCheXNet (pre-trained + joint / alternating MTL) on the test ' +
        'splits, next to chance baselines. table2: det/seg with the trained gate vs ground-truth and no gating. ' +
        'table3 / table4: transfer to COVID-19 (@multichexnet/transfer). ' +
        'Without --data the experiment writes synthetic NIH, RSNA and SIIM sets into <out>/data. Variants already ' +
        'trained in <out> are reused, so table2 after table1 only evaluates. The folder gets tableN.json / .md and a ' +
        'report.html.',
    )
    .argument('<table>', EXPERIMENTS.join(' | '))
    .option('-o, --out <dir>', 'experiment folder', 'runs/experiments')
    .option('--size <size>', 'plan size of every variant (tiny | full)', 'tiny')
    .option('--seed <n>', 'seed of the data, the plans and the chance baselines', integerArg(0), 0)
    .option('--step-scale <x>', 'multiply every phase length (0.05 for a smoke test)', numberArg(0.0001, 10), 1)
    .option('--variants <list>', `comma-separated subset of ${VARIANT_NAMES.join(', ')}`)
    .option('-d, --data <dir>', 'real or synthetic data root with nih/, rsna/, siim/ (default: synthetic in <out>/data)')
    .option('--nih <dir>', 'NIH ChestX-ray14 folder')
    .option('--rsna <dir>', 'RSNA Pneumonia folder')
    .option('--siim <dir>', 'SIIM-ACR Pneumothorax folder')
    .option('--backend <name>', 'tfjs backend: auto | wasm | tensorflow | cpu', 'auto')
    .addHelpText('after', examples('multichexnet experiment table1 --size tiny --out runs/table1', 'multichexnet experiment table2 --out runs/table1   # reuses the trained variants'))
    .action(async (table: string, o: ExperimentOptions, cmd: Command) => (await import('../actions/experiment')).experimentAction(context(cmd), table, o));
}
