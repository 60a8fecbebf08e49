import type { CommandContext } from '../context';
import { routeLibraryLogs } from './prepare';
import { calibrationText } from './train';
import { calibrateRun } from '../run/evaluate-run';
import { exportRunModel } from '../run/export-model';
import {
  openData,
  openRun,
  readRunCalibration,
  readRunData,
  startBackend,
  writeRunCalibration,
} from '../run/run-folder';
import {
  fitRunProbability,
  readRunOod,
  readRunTemperature,
  testReliability,
  writeRunOod,
  writeRunTemperature,
} from '../run/fit-probability';

/** Options of `multichexnet export`. */
export interface ExportOptions {
  out?: string;
  /** false (`--no-cam`): leave the class activation maps (`cls_cam`) out of the graphs. */
  cam?: boolean;
}

/**
 * The `export` verb. The model records the decision settings the run chose on its validation split
 * (calibration.json, written by train / eval); a run without that file is calibrated now on the data it recorded,
 * and one without recorded data keeps the heads' own decode settings (with a warning).
 */
export async function exportAction(ctx: CommandContext, run: string, o: ExportOptions): Promise<void> {
  routeLibraryLogs(ctx);
  const runDir = ctx.path(run);
  const { plan, model } = await openRun(runDir);
  try {
    let calibration = await readRunCalibration(runDir);
    if (calibration === undefined) {
      const recorded = await readRunData(runDir);
      if (recorded === null) {
        ctx.reporter.warn(
          `${runDir} records neither calibration.json nor its data (data.json): the model keeps the heads' default decode settings`,
        );
      } else {
        await startBackend(ctx, 'auto');
        const data = await openData(recorded.roots, plan, recorded.split, recorded.onBadSample ?? 'fail');
        calibration = await calibrateRun({ model, plan, data, reporter: ctx.reporter });
        await writeRunCalibration(runDir, calibration);
      }
    }
    // OOD statistics and temperatures: the run's files, else fitted now on its recorded data (run/fit-probability.ts)
    let ood = await readRunOod(runDir);
    let temperature = await readRunTemperature(runDir);
    if (ood === undefined && temperature === undefined) {
      const recorded = await readRunData(runDir);
      if (recorded !== null) {
        await startBackend(ctx, 'auto');
        const data = await openData(recorded.roots, plan, recorded.split, recorded.onBadSample ?? 'fail');
        const fitted = await fitRunProbability({ model, plan, data, reporter: ctx.reporter });
        if (fitted.ood !== null) await writeRunOod(runDir, (ood = fitted.ood));
        if (fitted.temperature !== null) {
          fitted.temperature.test = await testReliability(
            { model, plan, data, reporter: ctx.reporter },
            fitted.temperature,
          );
          await writeRunTemperature(runDir, (temperature = fitted.temperature));
        }
      }
    }
    const files = await exportRunModel(
      model,
      plan,
      o.out !== undefined ? ctx.path(o.out) : runDir,
      ctx.reporter,
      calibration,
      { ood, temperature, cam: o.cam !== false },
    );
    ctx.emit({ ...files, calibration: calibration ?? null }, [
      `model.onnx: ${files.model} (${(files.bytes / 1024).toFixed(0)} KiB, sha256 ${files.checksum.slice(0, 16)}...)`,
      `pipeline: ${files.stage1}${files.stage2 ? ` + ${files.stage2}` : ''}`,
      ...(calibration ? [`decode settings chosen on val: ${calibrationText(calibration)}`] : []),
      ood
        ? `OOD refusal: score > ${ood.threshold.toFixed(3)} (fitted on ${ood.statistics.count} ${ood.fittedOn} films, threshold on ${ood.thresholdFilms} ${ood.thresholdOn} films)`
        : 'OOD refusal: none (no ood.json)',
      temperature
        ? 'probabilities: calibrated (temperature scaling on val)'
        : 'probabilities: not calibrated (no temperature.json)',
    ]);
  } finally {
    model.dispose();
  }
}
