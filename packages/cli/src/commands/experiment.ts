import type { Command } from 'commander';
import type { ExperimentOptions } from '../actions/experiment';
import type { CommandContext } from '../context';
import { EXPERIMENTS, PLAN_SIZE_NAMES, VARIANT_NAMES } from './names';
import { examples, integerArg, numberArg } from './options';

/** Registers `multichexnet experiment`. */
export function registerExperiment(program: Command, context: (cmd: Command) => CommandContext): void {
  program
    .command('experiment')
    .summary("reproduce the paper's tables (table1 | table2 | table3 | table4) under a frozen protocol")
    .description(
      'table1 / table2 run a series of the frozen protocol (@multichexnet/experiments protocol.json, or --protocol): ' +
        "every seed (default the protocol's final seeds) trains every variant in <out>/seed-<n> (single-task models, " +
        "the paper's gated stage baselines, BigBang, MultiCheXNet joint / alternating, GradNorm and PCGrad ablations), " +
        'then <out>/table1.{json,md} and table2.{json,md} give mean ± sd over seeds and paired bootstrap 95% intervals ' +
        'of every MTL-minus-baseline difference. They are rewritten after each seed; --resume continues a folder. ' +
        'table3: COVID-19 classification after transfer (from scratch, from the stage-1 classifier, from MultiCheXNet). ' +
        'table3 / table4 with --out <a table1 series folder> (and no --reuse) run over its finished seeds with the ' +
        "protocol's fine-tuning budgets and add the series' table3 / table4 with intervals. " +
        'table4: per-class NIH F1 / AUROC of a CheXNet baseline, MultiCheXNet and its fine-tuned cls path. ' +
        'freeze: records the plan hashes and the protocol hash, once, before the final runs.',
    )
    .argument('<table>', EXPERIMENTS.join(' | '))
    .option('-o, --out <dir>', 'experiment folder', 'runs/experiments')
    .option(
      '--series <name>',
      "table1 / table2: the protocol's series (tiny, small, learnability-tiny-x4, learnability-small)",
      'tiny',
    )
    .option(
      '--seed-list <seeds>',
      "table1 / table2: seeds, e.g. 100-104 or 100,102 (default the series' share of the final seeds)",
    )
    .option(
      '--resume',
      'table1 / table2: continue a series folder (finished seeds are read, an interrupted one resumes)',
    )
    .option('--protocol <file>', 'protocol file (default the one @multichexnet/experiments ships)')
    .option('--allow-unfrozen', 'table1 / table2: run an unfrozen protocol (tuning and smoke runs; the tables say so)')
    .option('--variants <list>', `table1 / table2: comma-separated subset of ${VARIANT_NAMES.join(', ')}`)
    .option(
      '--size <size>',
      `table3 / table4: plan size of the source protocol (${PLAN_SIZE_NAMES.join(' | ')}; default tiny)`,
    )
    .option(
      '--seed <n>',
      'table3 / table4: seed of the data, the source plans and the chance baselines (default 0)',
      integerArg(0),
    )
    // No commander default: an omitted flag leaves each table its own (0.5 for table3 / table4).
    .option(
      '--step-scale <x>',
      'table3 / table4: multiply every phase length of the source protocol (default 0.5)',
      numberArg(0.0001, 10),
    )
    .option(
      '-d, --data <dir>',
      'table1 / table2: real or synthetic data root with nih/, rsna/, siim/ (default: synthetic data per seed)',
    )
    .option('--nih <dir>', 'NIH ChestX-ray14 folder')
    .option('--rsna <dir>', 'RSNA Pneumonia folder')
    .option('--siim <dir>', 'SIIM-ACR Pneumothorax folder')
    .option(
      '--reuse <dir>',
      'table3 / table4: a table1 seed folder or quickstart folder whose trained models and data to reuse',
    )
    .option(
      '--covid <dir>',
      'table3 / table4: COVID-19 image data collection folder (default: synthetic in <out>/data/covid)',
    )
    .option('--seeds <n>', 'table3: fine-tuning repeats per row', integerArg(1))
    .option('--fine-tune-steps <n>', 'table3 / table4: steps of every fine-tuning run', integerArg(1))
    .option('--backend <name>', 'tfjs backend: auto | wasm | tensorflow | cpu', 'auto')
    .addHelpText(
      'after',
      examples(
        'multichexnet experiment table1 --series tiny --out runs/series-tiny            # seeds 100-104',
        'multichexnet experiment table1 --series tiny --out runs/series-tiny --resume   # after an interruption',
        'multichexnet experiment table3 --series tiny --out runs/series-tiny            # Tables 3 and 4 over its seeds',
        'multichexnet experiment table3 --reuse runs/quickstart --out runs/transfer --seeds 3',
      ),
    )
    .action(async (table: string, o: ExperimentOptions, cmd: Command) =>
      (await import('../actions/experiment')).experimentAction(context(cmd), table, o),
    );
}
