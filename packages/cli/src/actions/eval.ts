import { UsageError } from '../cli-error';
import type { CommandContext } from '../context';
import { routeLibraryLogs } from './prepare';
import {
  badSamplePolicy,
  completeRun,
  openData,
  openRun,
  readRunData,
  resolveDataRoots,
  startBackend,
  type DataOptions,
} from '../run/run-folder';
import { headlineLines, skippedText } from './train';

/** Options of `multichexnet eval`. */
export interface EvalOptions extends DataOptions {
  split: string;
  backend: string;
  report: boolean;
}

/** The `eval` verb. */
export async function evalAction(ctx: CommandContext, run: string, o: EvalOptions): Promise<void> {
  routeLibraryLogs(ctx);
  if (o.split !== 'test' && o.split !== 'val') throw new UsageError(`--split must be test or val; got "${o.split}"`);
  const runDir = ctx.path(run);
  const given = o.data !== undefined || o.nih !== undefined || o.rsna !== undefined || o.siim !== undefined;
  const recorded = await readRunData(runDir);
  const roots = given ? await resolveDataRoots(ctx, o) : recorded?.roots;
  if (roots === undefined) throw new UsageError(`${runDir} does not record its data (data.json): pass --data <root>`);
  const onBadSample = badSamplePolicy(o.onBadSample, recorded?.onBadSample ?? 'fail');
  await startBackend(ctx, o.backend);
  const { plan, model } = await openRun(runDir);
  try {
    // The run's own split, so `test` is the test set the run was evaluated on.
    const data = await openData(roots, plan, recorded?.split ?? plan.split, onBadSample);
    const out = await completeRun(ctx, {
      runDir,
      model,
      plan,
      data,
      export: false,
      evaluate: true,
      report: o.report,
      split: o.split,
    });
    ctx.emit(
      { run: runDir, split: o.split, evaluation: out.evaluation, galleryItems: out.galleryItems, report: out.report },
      [
        `${plan.name} on the ${o.split} split:`,
        ...headlineLines(out.evaluation?.metrics ?? null, out.evaluation?.calibration),
        ...((out.evaluation?.data.totalSkipped ?? 0) > 0
          ? [
              `  skipped ${out.evaluation!.data.totalSkipped} bad sample(s): ${skippedText(out.evaluation!.data.skipped)}`,
            ]
          : []),
        ...(out.report ? [`report: ${out.report}`] : []),
      ],
    );
  } finally {
    model.dispose();
  }
}
