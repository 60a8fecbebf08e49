import { runFolder, writeFileAtomic } from '@multichexnet/core';
import {
  exportModelWithReport,
  exportPipeline,
  writePipelineFiles,
  type ExportPipelineOptions,
} from '@multichexnet/export';
import { PIPELINE_FILES } from '@multichexnet/runtime';
import type { PreprocessConfigInput } from '@multichexnet/data';
import type { MultiCheXNet } from '@multichexnet/model';
import type { Reporter } from '../io/progress';
import type { RunCalibration } from '../report/report-data';
import { oodExportOf, type RunOod, type RunTemperature } from './fit-probability';
import { version } from '../version';

/** What `export` writes into a run folder. */
export interface ExportedFiles {
  /** Single graph: every head on every image (Netron, Python, C++, `predict --model model.onnx`). */
  model: string;
  /** Gated two-stage pipeline (encoder once, det/seg on gate positives): what `predict <run>` and the demo load. */
  stage1: string;
  stage2: string | null;
  /** Operators per graph and the checksum of model.onnx. */
  checksum: string;
  bytes: number;
}

/**
 * The calibration as the export's `decode` option: each task's chosen settings (the det score threshold, the minimum
 * mask area, the per-class F1 thresholds), so the pipeline decodes exactly as the evaluation counted.
 */
export function decodeOfCalibration(c: RunCalibration | null | undefined): ExportPipelineOptions['decode'] {
  return c === null || c === undefined ? undefined : c.tasks;
}

/** What the export records about the model's input: a training plan, or a fine-tuning run's settings. */
export interface ModelInput {
  /** Name recorded in the files' `versions` (the plan's or run's). */
  name: string;
  /** Network input side. */
  imageSize: number;
  /** Preprocessing as in training (without `size`). */
  preprocess?: Omit<PreprocessConfigInput, 'size'>;
}

/**
 * Exports a trained model into `dir`: `model.onnx` (one graph) and `model.stage1.onnx` + `model.stage2.onnx`
 * (the gated pipeline), with the plan's preprocessing, the model's gate and its threshold and the decision settings
 * chosen on validation (`calibration`: det score threshold, minimum mask area, per-class thresholds; without one, the
 * heads' own decode settings) recorded in their metadata. Any subset of the task table exports.
 *
 * @example
 * const files = await exportRunModel(model, plan, 'runs/exp1', reporter, calibration);   // files.model === 'runs/exp1/model.onnx'
 */
export async function exportRunModel(
  model: MultiCheXNet,
  plan: ModelInput,
  dir: string,
  reporter: Reporter,
  calibration?: RunCalibration | null,
  exportOptions: {
    cam?: boolean;
    ood?: RunOod | null | undefined;
    temperature?: RunTemperature | null | undefined;
  } = {},
): Promise<ExportedFiles> {
  const cls = model.heads['cls'] as { config: { hidden?: number } } | undefined;
  const decode = decodeOfCalibration(calibration);
  const options = {
    preprocessing: { ...(plan.preprocess ?? {}), size: plan.imageSize },
    ...(decode !== undefined ? { decode } : {}),
    versions: { '@multichexnet/cli': version, plan: plan.name },
    // [cam] class activation maps (cls_cam) for predict's overlays, the report's gallery and the demo: exact for a
    // cls head without a hidden layer, which is every plan's; `export --no-cam` leaves them out
    cam: (exportOptions.cam ?? true) && cls !== undefined && cls.config.hidden === 0,
    // OOD refusal and calibrated probabilities, when fitted (run/fit-probability.ts)
    ...(exportOptions.ood ? { ood: oodExportOf(exportOptions.ood) } : {}),
    ...(exportOptions.temperature ? { temperature: exportOptions.temperature.spec } : {}),
  };
  const task = reporter.task('export', 3, 'graphs');
  const single = await exportModelWithReport(model, options);
  const modelFile = runFolder(dir).model;
  await writeFileAtomic(modelFile, single.bytes);
  task.update(1);
  const pipe = await exportPipeline(model, options);
  task.update(pipe.stage2 === null ? 3 : 2);
  const written = await writePipelineFiles(dir, pipe);
  task.update(3);
  task.finish(`${modelFile}, ${PIPELINE_FILES.stage1}${written.stage2 ? `, ${PIPELINE_FILES.stage2}` : ''}`);
  return {
    model: modelFile,
    stage1: written.stage1,
    stage2: written.stage2,
    checksum: single.checksum,
    bytes: single.bytes.byteLength,
  };
}
