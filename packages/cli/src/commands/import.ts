import type { Command } from 'commander';
import type { ImportCliOptions } from '../actions/import';
import type { CommandContext } from '../context';
import { examples, numberArg } from './options';

/** Registers `multichexnet import`. */
export function registerImport(program: Command, context: (cmd: Command) => CommandContext): void {
  program
    .command('import')
    .summary(
      'import a pretrained DenseNet-121 checkpoint (CheXNet, torchxrayvision, torchvision, timm) as a run folder',
    )
    .description(
      'Reads a PyTorch checkpoint (torch.save zip: .pth, .pt, .pth.tar) or a safetensors file of DenseNet-121 in one of ' +
        'the known layouts with @multichexnet/pretrained, checks every key and shape, and writes a run folder that ' +
        'predict, export, eval, report, transfer and train accept: weights/ (CheXEnc densenet121 + CheXCls), plan.json ' +
        '(the source and its preprocessing: size, crop, channels, normalisation; no phases), calibration.json (the ' +
        "source's per-class thresholds, if any), the ONNX files and report.html. A plan starts Algorithm 1 at stage 2 " +
        'from it with "init": "<the run folder>". FILE may also be a URL or a Hugging Face repo id (downloaded once ' +
        'into the cache, SHA-256 checked, resumable). Nothing is written to --out unless the import succeeds.',
    )
    .argument('<layout>', 'chexnet, torchxrayvision, torchvision or timm')
    .argument('<file>', 'checkpoint file, URL, or Hugging Face repo id (owner/name)')
    .requiredOption('-o, --out <dir>', 'run folder to create (must not exist)')
    .option(
      '--input-channels <n>',
      '1 (default: an RGB stem is folded to grey) or 3 (RGB stem kept; inference only)',
      '1',
    )
    .option(
      '--classes <names>',
      "comma-separated names of the classifier's outputs ('' to drop one), when the layout's default does not fit",
    )
    .option('--repo-file <path>', 'for a repo id: the file in the repo', 'model.safetensors')
    .option('--revision <rev>', 'for a repo id: branch, tag or commit', 'main')
    .option('--sha256 <hex>', 'expected SHA-256 of a downloaded file')
    .option('--no-export', 'skip the ONNX export')
    .option(
      '--ood-films <paths...>',
      'frontal chest films (files or folders) to fit the out-of-distribution refusal on; every fifth chooses its threshold',
    )
    .option(
      '--ood-target <rate>',
      'false-refusal rate on frontal films the OOD threshold is chosen for',
      numberArg(0.0001, 0.5),
      0.02,
    )
    .addHelpText(
      'after',
      examples(
        'multichexnet import chexnet model.pth.tar --out runs/chexnet',
        'multichexnet import torchxrayvision densenet121-res224-all.safetensors --out runs/xrv && multichexnet predict --model runs/xrv scan.dcm',
        'multichexnet import torchvision densenet121.safetensors --out runs/imagenet --input-channels 3',
      ),
    )
    .action(async (layout: string, file: string, o: ImportCliOptions, cmd: Command) =>
      (await import('../actions/import')).importAction(context(cmd), layout, file, o),
    );
}
