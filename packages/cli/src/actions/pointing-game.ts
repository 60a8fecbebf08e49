import { existsSync } from 'node:fs';
import { writeFileAtomic } from '@multichexnet/core';
import { UsageError } from '../cli-error';
import type { CommandContext } from '../context';
import { evaluatePointingGame } from '../run/pointing-game';
import { routeLibraryLogs } from './prepare';

/** Options of `multichexnet pointing-game`. */
export interface PointingGameCommandOptions {
  model: string;
  films: number;
  size?: number;
  seed: number;
  classes?: string;
  tolerance?: number;
  out?: string;
}

/** The `pointing-game` verb. */
export async function pointingGameAction(ctx: CommandContext, o: PointingGameCommandOptions): Promise<void> {
  routeLibraryLogs(ctx);
  const model = ctx.path(o.model);
  if (!existsSync(model)) throw new UsageError(`no such model file or run folder: ${model}`);
  const r = await evaluatePointingGame(model, {
    films: o.films,
    seed: o.seed,
    ...(o.size !== undefined ? { size: o.size } : {}),
    ...(o.classes !== undefined
      ? {
          classes: o.classes
            .split(',')
            .map((c) => c.trim())
            .filter((c) => c !== ''),
        }
      : {}),
    ...(o.tolerance !== undefined ? { tolerance: o.tolerance } : {}),
  });
  if (o.out !== undefined) await writeFileAtomic(ctx.path(o.out), `${JSON.stringify(r, null, 2)}\n`);
  const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
  const line = (name: string, c: (typeof r)['overall']): string =>
    `${name}: ${pct(c.accuracy)} on the lesion (chance ${pct(c.chance)}), ${pct(c.tolerantAccuracy)} within ${r.settings.tolerance.toFixed(1)} px (chance ${pct(c.tolerantChance)}), ${c.trials} films`;
  ctx.emit(r, [
    ...Object.entries(r.classes).map(([k, c]) => line(k, c)),
    line('overall', r.overall),
    ...(o.out ? [`report written to ${ctx.path(o.out)}`] : []),
  ]);
}
