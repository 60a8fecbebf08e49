import type { Command } from 'commander';
import type { PointingGameCommandOptions } from '../actions/pointing-game';
import type { CommandContext } from '../context';
import { examples, integerArg, numberArg } from './options';

/** Registers `multichexnet pointing-game`. */
export function registerPointingGame(program: Command, context: (cmd: Command) => CommandContext): void {
  program
    .command('pointing-game')
    .summary("score a model's class activation maps on synthetic films whose lesions are known")
    .description(
      'Draws synthetic PA films with one finding each (seeded; the generator knows where it painted the lesion), ' +
        "runs them through the exported pipeline with that class's activation map, and counts a hit when the map's " +
        'peak falls on the lesion (strict) or within a tolerance of it (default half a map cell). Reports the accuracy ' +
        'per class and overall, with the chance level of a random peak. The model needs its maps (multichexnet export writes them unless --no-cam).',
    )
    .requiredOption('-m, --model <path>', 'run folder, model.onnx or model.stage1.onnx with cls_cam')
    .option('--films <n>', 'films per class', integerArg(1), 40)
    .option('--size <px>', 'film side (default: the model input size)', integerArg(64))
    .option('--seed <n>', 'seed of the films', integerArg(0), 0)
    .option('--classes <list>', 'comma-separated classes (default: the localised findings the model has)')
    .option('--tolerance <px>', 'tolerant game radius in film pixels (default: half a map cell)', numberArg(0, 4096))
    .option('-o, --out <file>', 'also write the JSON report to this file')
    .addHelpText(
      'after',
      examples('multichexnet pointing-game --model runs/quickstart --films 40 --out results/pointing-game.json'),
    )
    .action(async (o: PointingGameCommandOptions, cmd: Command) =>
      (await import('../actions/pointing-game')).pointingGameAction(context(cmd), o),
    );
}
