import type { Command } from 'commander';
import type { SynthCommandOptions } from '../actions/synth';
import type { CommandContext } from '../context';
import { examples, integerArg } from './options';

/** Registers `multichexnet synth`. */
export function registerSynth(program: Command, context: (cmd: Command) => CommandContext): void {
  program
    .command('synth')
    .summary('generate a synthetic chest X-ray dataset (NIH, RSNA, SIIM, COVID formats)')
    .description(
      'Draws synthetic chest films (thorax, lungs, heart, ribs, diaphragm, class-specific findings) from a seed and writes ' +
        'them as the four public datasets on disk: nih/ (PNG + Data_Entry_2017.csv), rsna/ (DICOM + stage_2_train_labels.csv), ' +
        'siim/ (DICOM + train-rle.csv) and covid/ (JPEG + metadata.csv). The same seed writes byte-identical files.',
    )
    .requiredOption('-o, --out <dir>', 'output folder (one sub-folder per dataset)')
    .option('--nih <n>', "NIH ChestX-ray14 images (omitted: the generator's default)", integerArg(0))
    .option('--rsna <n>', "RSNA Pneumonia images (omitted: the generator's default)", integerArg(0))
    .option('--siim <n>', "SIIM-ACR Pneumothorax images (omitted: the generator's default)", integerArg(0))
    .option('--covid <n>', "COVID-19 collection images (omitted: the generator's default)", integerArg(0))
    .option('--size <px>', "image side in pixels, a multiple of 16 (omitted: the generator's default)", integerArg(64))
    .option('--seed <n>', 'seed of every random choice', integerArg(0), 0)
    .option(
      '--non-chest <n>',
      'also n images of each kind a chest model should refuse (lateral view, hand, knee, CT slice, noise, text, texture) into non-chest/<kind>/',
      integerArg(0),
    )
    .addHelpText(
      'after',
      examples(
        'multichexnet synth --out data/synth --nih 400 --seed 7',
        'multichexnet synth --out data/ood --nih 0 --rsna 0 --siim 0 --covid 0 --non-chest 5',
      ),
    )
    .action(async (opts: SynthCommandOptions, cmd: Command) =>
      (await import('../actions/synth')).synthAction(context(cmd), opts),
    );
}
