import { join } from 'node:path';
import { writeFileAtomic, type Block } from '@multichexnet/core';
import { exportModelWithReport, exportPipeline, writePipelineFiles, PIPELINE_FILES, type ExportPipelineOptions, type GateSpecInput, type PipelineBlocks } from '@multichexnet/runtime';
import type { PreprocessConfigInput } from '@multichexnet/data';
import type { HeadSet, MultiCheXNet } from '@multichexnet/trainer';
import { UsageError } from '../cli-error';
import type { Reporter } from '../io/progress';
import type { RunCalibration } from '../report/report-data';
import { version } from '../version';
import { oodExportOf, type RunOod, type RunTemperature } from './fit-probability';

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

/** The runtime's gate spec for a trained gate (its threshold included). */
function gateSpec(model: MultiCheXNet<HeadSet>): GateSpecInput | undefined {
  const g = model.gate;
  if (g === null) return undefined;
  const cfg = g.config;
  if (cfg.kind === 'cls-path') return { source: 'cls', classes: [...cfg.classes], threshold: g.threshold };
  return { source: 'output', output: 'gate_prob', threshold: g.threshold };
}

/**
 * The calibration as the export's `decode` option: the det score threshold, the minimum mask area and the per-class
 * F1 thresholds, so the pipeline decodes exactly as the evaluation counted.
 */
export function decodeOfCalibration(c: RunCalibration | null | undefined): ExportPipelineOptions['decode'] {
  if (c === null || c === undefined) return undefined;
  return {
    ...(c.detScoreThreshold !== undefined ? { det: { scoreThreshold: c.detScoreThreshold } } : {}),
    ...(c.segMinArea !== undefined ? { seg: { minArea: c.segMinArea } } : {}),
    ...(c.f1Threshold !== undefined ? { cls: { thresholds: c.f1Threshold } } : {}),
  };
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
 * (the gated pipeline), with the plan's preprocessing, the gate threshold and the decision settings chosen on
 * validation (`calibration`: det score threshold, minimum mask area, per-class thresholds; without one, the heads'
 * own decode settings) recorded in their metadata.
 * A model without a cls head cannot be exported (the pipeline's stage 1 is encoder + cls).
 *
 * @example
 * const files = await exportRunModel(model, plan, 'runs/exp1', reporter, calibration);   // files.model === 'runs/exp1/model.onnx'
 */
export async function exportRunModel(
  model: MultiCheXNet<HeadSet>,
  plan: ModelInput,
  dir: string,
  reporter: Reporter,
  calibration?: RunCalibration | null,
  probability: { ood?: RunOod | null | undefined; temperature?: RunTemperature | null | undefined } = {},
): Promise<ExportedFiles> {
  const { cls, det, seg } = model.heads;
  if (cls === undefined) throw new UsageError(`plan ${plan.name} has no cls head: the ONNX export needs encoder + cls (its stage 1)`);
  const blocks = {
    encoder: model.encoder,
    cls,
    ...(det ? { det } : {}),
    ...(seg ? { seg } : {}),
    ...(model.gate?.head ? { gate: model.gate.head as unknown as Block<unknown, unknown, unknown> } : {}),
  } as unknown as PipelineBlocks;
  const gate = gateSpec(model);
  const decode = decodeOfCalibration(calibration);
  const options = {
    preprocessing: { ...(plan.preprocess ?? {}), size: plan.imageSize },
    ...(gate !== undefined ? { gate } : {}),
    ...(decode !== undefined ? { decode } : {}),
    versions: { '@multichexnet/cli': version, plan: plan.name },
    // OOD refusal and calibrated probabilities, when fitted (run/fit-probability.ts)
    ...(probability.ood ? { ood: oodExportOf(probability.ood) } : {}),
    ...(probability.temperature ? { temperature: probability.temperature.spec } : {}),
  };
  const task = reporter.task('export', 3, 'graphs');
  const single = await exportModelWithReport(blocks, options);
  const modelFile = join(dir, 'model.onnx');
  await writeFileAtomic(modelFile, single.bytes);
  task.update(1);
  const pipe = await exportPipeline(blocks, options);
  task.update(pipe.stage2 === null ? 3 : 2);
  const written = await writePipelineFiles(dir, pipe);
  task.update(3);
  task.finish(`${modelFile}, ${PIPELINE_FILES.stage1}${written.stage2 ? `, ${PIPELINE_FILES.stage2}` : ''}`);
  return { model: modelFile, stage1: written.stage1, stage2: written.stage2, checksum: single.checksum, bytes: single.bytes.byteLength };
}
