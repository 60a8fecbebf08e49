import type { Command } from 'commander';
import type { EvalOptions } from '../actions/eval';
import type { CommandContext } from '../context';
import { examples } from './options';

/** Registers `multichexnet eval`. */
export function registerEval(program: Command, context: (cmd: Command) => CommandContext): void {
  program
    .command('eval')
    .summary("evaluate a run's model on its test split (AUROC, RSNA mAP, SIIM Dice, gate)")
    .description(
      "Evaluates the trained model of a run folder with the gated pipeline's semantics (det/seg only for images the " +
        'gate passes): per-class and mean AUROC, macro F1, RSNA mAP and AP@0.5, SIIM mean Dice, gate sensitivity and ' +
        "specificity. Writes eval-test.json (or eval-val.json), renders the gallery through the run's ONNX pipeline " +
        'when it has one, and re-renders report.html. The data is the one the run trained on unless --data is given.',
    )
    .argument('<run>', 'run folder')
    .option('-d, --data <dir>', 'data root holding nih/, rsna/, siim/ (default: the data the run trained on)')
    .option('--nih <dir>', 'NIH ChestX-ray14 folder')
    .option('--rsna <dir>', 'RSNA Pneumonia folder')
    .option('--siim <dir>', 'SIIM-ACR Pneumothorax folder')
    .option('--split <split>', 'test | val', 'test')
    .option('--on-bad-sample <policy>', 'a bad label row or image: fail | skip (default: what the run trained with)')
    .option('--backend <name>', 'tfjs backend: auto | wasm | tensorflow | cpu', 'auto')
    .option('--no-report', 'do not re-render report.html')
    .addHelpText('after', examples('multichexnet eval runs/multichexnet-joint-tiny --json'))
    .action(async (run: string, o: EvalOptions, cmd: Command) =>
      (await import('../actions/eval')).evalAction(context(cmd), run, o),
    );
}
