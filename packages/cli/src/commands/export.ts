import type { Command } from 'commander';
import type { ExportOptions } from '../actions/export';
import type { CommandContext } from '../context';
import { examples } from './options';

/** Registers `multichexnet export`. */
export function registerExport(program: Command, context: (cmd: Command) => CommandContext): void {
  program
    .command('export')
    .summary("export a run's trained model to ONNX (model.onnx + the gated pipeline)")
    .description(
      'Converts the trained blocks of a run folder (weights/) to ONNX with @multichexnet/runtime: model.onnx (one graph, ' +
        'every head; for Netron, Python, C++) and model.stage1.onnx + model.stage2.onnx (the gated pipeline: encoder and ' +
        'cls + gate once, det/seg on the cached features of gate positives). The preprocessing, class names, gate ' +
        "threshold and det/seg decoding go into the files' metadata, with a checksum.",
    )
    .argument('<run>', 'run folder')
    .option('-o, --out <dir>', 'folder for the ONNX files (default: the run folder)')
    .option('--no-cam', 'leave the class activation maps (output cls_cam, for heatmaps) out of the graphs')
    .addHelpText(
      'after',
      examples('multichexnet export runs/multichexnet-joint-tiny', 'multichexnet export runs/exp1 --out dist/model'),
    )
    .action(async (run: string, o: ExportOptions, cmd: Command) =>
      (await import('../actions/export')).exportAction(context(cmd), run, o),
    );
}
