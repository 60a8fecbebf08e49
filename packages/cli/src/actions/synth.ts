import { join } from 'node:path';
import { synthesize, writeNonChestSet, type SynthResult } from '@multichexnet/synth';
import type { CommandContext } from '../context';
import type { ProgressTask } from '../io/progress';
import { routeLibraryLogs } from './prepare';

/** Options of `multichexnet synth`. */
export interface SynthCommandOptions {
  out: string;
  nih?: number;
  rsna?: number;
  siim?: number;
  covid?: number;
  size?: number;
  seed: number;
  /** Pixel space of boxes and masks in the label files (default `image`). */
  annotationSpace?: 'image' | 'original';
  /** Also this many images of every non-chest kind (out-of-distribution tests) under `<out>/non-chest/<kind>/`. */
  nonChest?: number;
}

/**
 * Writes the synthetic NIH / RSNA / SIIM / COVID datasets in their real formats, with a progress bar.
 * Shared by `synth` and `quickstart`.
 */
export async function runSynth(ctx: CommandContext, o: SynthCommandOptions): Promise<SynthResult> {
  routeLibraryLogs(ctx);
  // Only the counts given: the generator's schema fills the rest (and the bar learns the total from it).
  const counts = Object.fromEntries(
    (['nih', 'rsna', 'siim', 'covid'] as const).flatMap((k) => (o[k] !== undefined ? [[k, o[k]]] : [])),
  );
  const bar: { task: ProgressTask | null } = { task: null };
  const result = await synthesize({
    out: ctx.path(o.out),
    counts,
    ...(o.size !== undefined ? { size: o.size } : {}),
    seed: o.seed,
    ...(o.annotationSpace !== undefined ? { annotationSpace: o.annotationSpace } : {}),
    onProgress: (done, total) => {
      bar.task ??= ctx.reporter.task('synth', total, 'images');
      bar.task.update(done);
    },
  });
  bar.task?.finish(`written to ${result.paths.nih.replace(/[/\\]nih$/, '')}`);
  return result;
}

/** The `synth` verb. */
export async function synthAction(ctx: CommandContext, opts: SynthCommandOptions): Promise<void> {
  const r = await runSynth(ctx, opts);
  // images the model should refuse (lateral view, other anatomy, CT, noise, text, textures), same seed and size
  const nonChest =
    (opts.nonChest ?? 0) > 0
      ? await writeNonChestSet(join(ctx.path(opts.out), 'non-chest'), {
          perKind: opts.nonChest!,
          size: opts.size ?? 256,
          seed: opts.seed,
        })
      : null;
  const summary = {
    out: ctx.path(opts.out),
    paths: r.paths,
    nih: r.nih,
    rsna: r.rsna,
    siim: r.siim,
    covid: r.covid,
    seconds: r.millis / 1000,
    ...(nonChest !== null ? { nonChest } : {}),
  };
  ctx.emit(summary, [
    `synthetic data in ${summary.out}`,
    `  nih   ${r.paths.nih}  ${JSON.stringify(r.nih)}`,
    `  rsna  ${r.paths.rsna}  ${JSON.stringify(r.rsna)}`,
    `  siim  ${r.paths.siim}  ${JSON.stringify(r.siim)}`,
    `  covid ${r.paths.covid}  ${JSON.stringify(r.covid)}`,
    ...(nonChest !== null
      ? [
          `  non-chest ${join(ctx.path(opts.out), 'non-chest')}  ${Object.keys(nonChest).length} kinds x ${opts.nonChest}`,
        ]
      : []),
  ]);
}
