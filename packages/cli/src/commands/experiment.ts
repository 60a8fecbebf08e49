import type { Command } from 'commander';
import type { ExperimentOptions } from '../actions/experiment';
import type { CommandContext } from '../context';
import { EXPERIMENTS, PLAN_SIZE_NAMES, VARIANT_NAMES } from './names';
import { examples, integerArg, numberArg } from './options';

/** Registers `multichexnet experiment`. */
export function registerExperiment(program: Command, context: (cmd: Command) => CommandContext): void {
  program
    .command('experiment')
    .summary("reproduce the paper's tables (table1 | table2 | table3 | table4)")
    .description(
      'table1: single-task baselines, BigBang MTL and MultiCheXNet (pre-trained + joint / alternating MTL) on the test ' +
        'splits, next to chance baselines. table2: det/seg with the trained gate vs ground-truth and no gating. ' +
        'table3: COVID-19 classification after transfer (from scratch, from the stage-1 classifier, from MultiCheXNet), ' +
        'over several seeds. table4: per-class NIH F1 / AUROC of a CheXNet baseline, MultiCheXNet and its fine-tuned ' +
        'cls path (@multichexnet/transfer). Without --data (table1 / table2) or --reuse (table3 / table4) the ' +
        'experiment writes synthetic data into <out>/data and trains what it needs. Variants already trained in <out> ' +
        'are reused, so table2 after table1 only evaluates. The folder gets tableN.json / .md and a report.html.',
    )
    .argument('<table>', EXPERIMENTS.join(' | '))
    .option('-o, --out <dir>', 'experiment folder', 'runs/experiments')
    .option('--size <size>', `plan size of every variant (${PLAN_SIZE_NAMES.join(' | ')})`, 'tiny')
    .option('--seed <n>', 'seed of the data, the plans and the chance baselines', integerArg(0), 0)
    // No commander default: an omitted flag leaves each table its own (1 for table1 / table2, 0.5 for table3 / table4).
    .option('--step-scale <x>', "multiply every phase length (0.05 for a smoke test; omitted: the table's own, 1 for table1 / table2, 0.5 for table3 / table4)", numberArg(0.0001, 10))
    .option('--variants <list>', `comma-separated subset of ${VARIANT_NAMES.join(', ')}`)
    .option('-d, --data <dir>', 'real or synthetic data root with nih/, rsna/, siim/ (default: synthetic in <out>/data)')
    .option('--nih <dir>', 'NIH ChestX-ray14 folder')
    .option('--rsna <dir>', 'RSNA Pneumonia folder')
    .option('--siim <dir>', 'SIIM-ACR Pneumothorax folder')
    .option('--reuse <dir>', 'table3 / table4: a table1 or quickstart folder whose trained models and data to reuse')
    .option('--covid <dir>', 'table3 / table4: COVID-19 image data collection folder (default: synthetic in <out>/data/covid)')
    .option('--seeds <n>', 'table3: fine-tuning repeats per row', integerArg(1))
    .option('--fine-tune-steps <n>', 'table3 / table4: steps of every fine-tuning run', integerArg(1))
    .option('--backend <name>', 'tfjs backend: auto | wasm | tensorflow | cpu', 'auto')
    .addHelpText(
      'after',
      examples(
        'multichexnet experiment table1 --size tiny --out runs/table1',
        'multichexnet experiment table2 --out runs/table1   # reuses the trained variants',
        'multichexnet experiment table3 --reuse runs/quickstart --out runs/transfer --seeds 3',
      ),
    )
    .action(async (table: string, o: ExperimentOptions, cmd: Command) => (await import('../actions/experiment')).experimentAction(context(cmd), table, o));
}
