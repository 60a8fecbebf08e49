import { Option, type Command } from 'commander';
import type { PredictCommandOptions } from '../actions/predict';
import type { CommandContext } from '../context';
import { examples, integerArg, numberArg } from './options';

/** Registers `multichexnet predict`. */
export function registerPredict(program: Command, context: (cmd: Command) => CommandContext): void {
  program
    .command('predict')
    .summary('run a trained model on PNG / JPEG / DICOM files or folders')
    .description(
      'Runs the exported model on each image, preprocessed exactly as in training: 14 class probabilities, the gate ' +
        'decision, pneumonia boxes and the pneumothorax mask (det/seg only for images the gate passes, unless --no-gate). ' +
        'Boxes and masks are in the original image pixels. --model takes a run folder (gated two-stage pipeline), a ' +
        'model.stage1.onnx, or the single-graph model.onnx.',
    )
    .argument('<inputs...>', 'image files and/or folders (walked for .png .jpg .jpeg .dcm .dicom)')
    .requiredOption('-m, --model <path>', 'run folder, model.onnx or model.stage1.onnx')
    .option('-o, --out <file>', 'also write the JSON results to this file')
    .option('--overlay <dir>', 'write one overlay PNG per image (mask tinted, boxes outlined) into this folder')
    .option(
      '--cam <class>',
      'with --overlay: a class activation map of CLASS as well as those of the findings (repeatable; "all": every class)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--no-gate', 'run det/seg on every image, not only on gate positives')
    .option('--gate-threshold <p>', "override the model's gate threshold", numberArg(0, 1))
    .option('--score-threshold <p>', 'override the det score threshold', numberArg(0, 1))
    .option('--seg-threshold <p>', 'override the seg mask threshold', numberArg(0.0001, 0.9999))
    .option('--top <k>', 'classes listed per image', integerArg(1), 3)
    .option('--threads <n>', 'onnxruntime intra-op threads', integerArg(1))
    .option('--js-decode', 'decode with the pure-JavaScript decoders only (as the browser demo does), not sharp')
    .addOption(
      new Option(
        '--ood <policy>',
        'images unlike the training films (OOD score above the threshold chosen on validation): refuse (default: no findings), flag (findings kept, marked) or off',
      ).choices(['refuse', 'flag', 'off']),
    )
    .option('--ood-threshold <score>', "override the model's OOD threshold", numberArg(1e-9, Number.MAX_VALUE))
    .addHelpText(
      'after',
      examples(
        'multichexnet predict --model runs/quickstart/model.onnx scan.dcm',
        'multichexnet predict --model runs/quickstart xrays/ --overlay overlays/ --json > results.json',
        'multichexnet predict --model runs/quickstart scan.png --overlay overlays/ --cam Effusion',
        'multichexnet predict --model runs/quickstart knee.png --ood flag',
      ),
    )
    .action(async (inputs: string[], opts: PredictCommandOptions, cmd: Command) =>
      (await import('../actions/predict')).predictAction(context(cmd), inputs, opts),
    );
}
