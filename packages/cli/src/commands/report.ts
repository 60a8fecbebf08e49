import type { Command } from 'commander';
import type { CommandContext } from '../context';
import { examples } from './options';

/** Registers `multichexnet report`. */
export function registerReport(program: Command, context: (cmd: Command) => CommandContext): void {
  program
    .command('report')
    .summary('re-render report.html from a run folder')
    .description(
      'Rebuilds the self-contained report.html of a run from its files (plan.json, metrics.jsonl, eval.json, ' +
        'eval-test.json, gallery/, tables.json, the ONNX files). Nothing is recomputed; the page opens offline.',
    )
    .argument('<run>', 'run folder, e.g. runs/quickstart')
    .addHelpText('after', examples('multichexnet report runs/quickstart && xdg-open runs/quickstart/report.html'))
    .action(async (run: string, _opts: unknown, cmd: Command) =>
      (await import('../actions/report')).reportAction(context(cmd), run),
    );
}
