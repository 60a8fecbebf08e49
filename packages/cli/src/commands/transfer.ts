import type { Command } from 'commander';
import type { TransferOptions } from '../actions/transfer';
import type { CommandContext } from '../context';
import { examples, integerArg, numberArg } from './options';

/** Registers `multichexnet transfer`. */
export function registerTransfer(program: Command, context: (cmd: Command) => CommandContext): void {
  program
    .command('transfer')
    .summary('fine-tune a trained model to new diseases (COVID-19): keep theta_feats, train a new theta_dec')
    .description(
      "Transfer learning with @multichexnet/transfer: the trained model's encoder and cls feature layers (theta_feats) " +
        'are kept, a new decoder (theta_dec) with the new classes replaces the cls decoder, det / seg and the gate ' +
        'blocks stay untouched. Trains on a COVID-19 image data collection folder (frontal X-rays, labels from the ' +
        'finding hierarchy, split by patient), picks F1 and gate thresholds on validation data, reports test AUROC, F1 ' +
        'and sensitivity at 90 % specificity. The run folder gets weights/, transfer.json, metrics.jsonl, ' +
        'checkpoints/, the ONNX files, eval-test.json and report.html; --resume continues an interrupted run.',
    )
    .requiredOption('--from <dir>', 'trained run folder (or weights folder), e.g. runs/quickstart')
    .requiredOption('--covid <dir>', 'COVID-19 image data collection folder (metadata.csv + images/), e.g. data/covid')
    .option(
      '--classes <list>',
      'new classes, comma-separated (pathologies or finding levels: COVID-19, Viral, ...)',
      'COVID-19',
    )
    .option('--freeze <mode>', 'encoder-frozen | feats-frozen | all-trainable (omitted: encoder-frozen)')
    .option('--lr-multiplier <x>', 'learning-rate factor of the transferred parameters that learn', numberArg(0, 10))
    .option('--imbalance <mode>', 'weighted-loss | oversample | none (omitted: weighted-loss)')
    .option('--steps <n>', 'fine-tuning steps', integerArg(1))
    .option('--batch-size <n>', 'batch size', integerArg(1))
    .option('--learning-rate <x>', 'Adam learning rate of the new decoder', numberArg(1e-8, 1))
    .option('--seed <n>', 'seed of the new decoder, data order and augmentation', integerArg(0), 0)
    .option('--run <dir>', 'run folder (default <runs>/transfer-<classes>)')
    .option(
      '--resume',
      'continue the fine-tuning in --run from its last checkpoint (Ctrl-C stops after the current step)',
    )
    .option('--runs <dir>', 'parent folder of run folders', 'runs')
    .option('--backend <name>', 'tfjs backend: auto | wasm | tensorflow | cpu', 'auto')
    .option('--no-export', 'skip the ONNX export')
    .option('--no-report', 'skip report.html')
    .addHelpText(
      'after',
      examples(
        'multichexnet transfer --from runs/quickstart --covid data/covid --steps 60',
        'multichexnet transfer --from runs/quickstart --covid data/covid --classes COVID-19,Bacterial --freeze feats-frozen',
      ),
    )
    .action(async (o: TransferOptions, cmd: Command) =>
      (await import('../actions/transfer')).transferAction(context(cmd), o),
    );
}
