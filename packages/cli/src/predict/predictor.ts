import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { DecodedImage } from '@multichexnet/data';
import {
  createPipeline,
  verifyModelBytes,
  PIPELINE_FILES,
  type ModelMetadata,
  type OodPolicy,
  type PipelineResult,
} from '@multichexnet/runtime';
import { UsageError } from '../cli-error';

/** Decoding and gating overrides of `predict`. */
export interface PredictSettings {
  /** false: the routed tasks (det / seg) on every image. */
  gate: boolean;
  gateThreshold?: number;
  /**
   * Per task overrides of the decision settings the model recorded (e.g. `{ det: { scoreThreshold: 0.4 } }`); those of
   * a task the model lacks are ignored.
   */
  decode: Record<string, Record<string, unknown>>;
  threads?: number;
  /** [cam] class activation maps of these classes (or 'all') besides the findings'; the model must have them. */
  camClasses?: string[] | 'all';
  /** Out-of-distribution images: refuse (default when the model records OOD statistics), flag or off. */
  ood?: OodPolicy;
  oodThreshold?: number;
}

/** A loaded model that turns decoded images into pipeline results. */
export interface Predictor {
  /** `pipeline`: the gated two-graph export (encoder once, det/seg on gate positives); `single-graph`: model.onnx. */
  readonly kind: 'pipeline' | 'single-graph';
  readonly metadata: ModelMetadata;
  /** The ONNX files in use. */
  readonly files: string[];
  run(images: readonly DecodedImage[]): Promise<PipelineResult[]>;
  dispose(): Promise<void>;
}

async function isDir(path: string): Promise<boolean | null> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return null;
  }
}

/**
 * Opens `--model`: a run folder (its gated pipeline `model.stage1.onnx` + `model.stage2.onnx`, else its
 * `model.onnx`), a `model.stage1.onnx` file (its paired stage 2 beside it), or a single-graph `model.onnx`.
 *
 * @example
 * const p = await openPredictor('runs/quickstart/model.onnx', { gate: true, decode: {} });
 * const [r] = await p.run([decodeImage(bytes, 'scan.dcm')]);   // r.probabilities, r.gate, r.boxes, r.mask
 * await p.dispose();
 */
export async function openPredictor(model: string, settings: PredictSettings): Promise<Predictor> {
  const dir = await isDir(model);
  if (dir === null) throw new UsageError(`no such model file or run folder: ${model}`);
  let file = model;
  if (dir) {
    const candidates = [join(model, PIPELINE_FILES.stage1), join(model, PIPELINE_FILES.model)];
    const found = [];
    for (const c of candidates) if ((await isDir(c)) === false) found.push(c);
    if (found.length === 0)
      throw new UsageError(
        `no model in ${model}: expected ${PIPELINE_FILES.stage1} or ${PIPELINE_FILES.model} (run "multichexnet export" first)`,
      );
    file = found[0]!;
  }
  const { readFile } = await import('node:fs/promises');
  const bytes = new Uint8Array(await readFile(file));
  const { metadata } = await verifyModelBytes(bytes, file);
  // A model exported without a gate runs its routed tasks on every image.
  const s = { ...settings, gate: settings.gate && metadata.gate !== null };
  if (metadata.role === 'stage2')
    throw new UsageError(
      `${file} is the second stage of a pipeline: pass its ${PIPELINE_FILES.stage1} or the run folder`,
    );
  const single = metadata.role === 'model';
  const stage2 = join(dirname(file), basename(file).replace('stage1', 'stage2'));
  const hasStage2 = !single && stage2 !== file && (await isDir(stage2)) === false;
  // The single graph runs every head on every image; the runtime's pipeline applies the gate after it.
  const pipe = await createPipeline({
    model: single ? { model: file } : { stage1: bytes, ...(hasStage2 ? { stage2 } : {}) },
    gate: { enabled: s.gate, ...(s.gateThreshold !== undefined ? { threshold: s.gateThreshold } : {}) },
    // every task's settings are recorded in both stages: the tasks the model has
    decode: Object.fromEntries(Object.entries(s.decode).filter(([task]) => metadata.decode[task] != null)),
    ...(s.threads !== undefined ? { threads: s.threads } : {}),
    ...(s.camClasses !== undefined ? { cam: { classes: s.camClasses } } : {}),
    ...(s.ood !== undefined ? { ood: s.ood } : {}),
    ...(s.oodThreshold !== undefined ? { oodThreshold: s.oodThreshold } : {}),
  });
  const files = hasStage2 ? [file, stage2] : [file];
  return {
    kind: single ? 'single-graph' : 'pipeline',
    metadata: pipe.metadata,
    files,
    run: (images) => pipe.runBatch(images),
    dispose: () => pipe.dispose(),
  };
}
