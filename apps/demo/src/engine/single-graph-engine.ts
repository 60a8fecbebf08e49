import { DataError, type ScoredBox } from '@multichexnet/core';
import { preprocessImage, type DecodedImage } from '@multichexnet/data';
import { loadModel, runModel, type OnnxModel } from '@multichexnet/runtime';
import { decodeBoxes, decodeMask } from './decode-outputs';
import { now, type DemoEngine, type RunOptions } from './demo-engine';
import type { ClassProbability, DemoResult, ExecutionBackend, GateDecision, MaskOverlay } from './demo-result';
import type { ModelFiles } from './model-files';

/**
 * Opens a single-graph `model.onnx` (image -> cls_probs, gate_prob, det_boxes/det_scores, seg_mask) on
 * onnxruntime-web with the given execution provider.
 *
 * @example
 * const engine = await createSingleGraphEngine(files, 'wasm');
 * const result = await engine.run(decodeImage(bytes, 'x.png'), { gated: true });
 */
export async function createSingleGraphEngine(files: Extract<ModelFiles, { kind: 'single' }>, backend: ExecutionBackend): Promise<DemoEngine> {
  const t = now();
  const model = await loadModel(files.bytes, { backend: 'web', executionProviders: [backend] });
  const engine = new SingleGraphEngine(model, backend, 0);
  // One pass on a blank image: the first run pays for kernel set-up and memory planning, which would otherwise
  // show up as the user's first inference time.
  const S = files.metadata.preprocessing?.size ?? 256;
  await engine.run({ width: S, height: S, data: new Uint8Array(S * S), maxValue: 255 }, { gated: true });
  engine.loadMs = now() - t;
  return engine;
}

class SingleGraphEngine implements DemoEngine {
  readonly kind = 'single' as const;
  readonly metadata;

  constructor(
    private readonly model: OnnxModel,
    readonly backend: ExecutionBackend,
    public loadMs: number,
  ) {
    this.metadata = model.metadata;
    if (this.metadata.preprocessing === null) {
      throw new DataError('Model lacks its preprocessing', { field: 'multichexnet.preprocessing', expected: 'a preprocessing spec', found: 'null' });
    }
  }

  async run(image: DecodedImage, options: RunOptions): Promise<DemoResult> {
    const meta = this.metadata;
    const pre = meta.preprocessing!;
    const S = pre.size;
    const C = meta.inputs[0]?.shape[3] ?? 1;
    const t0 = now();
    const { input, transform } = preprocessImage(image, pre);
    let data = input;
    if (C !== 1) {
      data = new Float32Array(S * S * C);
      for (let i = 0; i < S * S; i++) data.fill(input[i]!, i * C, (i + 1) * C);
    }
    const t1 = now();
    const out = await runModel(this.model, { image: { data, dims: [1, S, S, C] } });
    const t2 = now();

    const probs = out.cls_probs!.data;
    const probabilities: ClassProbability[] = meta.classNames.map((name, k) => ({ name, probability: probs[k]! }));
    probabilities.sort((a, b) => b.probability - a.probability);

    let gate: GateDecision | null = null;
    if (meta.gate !== null) {
      const output = meta.gate.source === 'cls' ? 'gate_prob' : meta.gate.output;
      const probability = out[output]!.data[0]!;
      gate = { probability, threshold: meta.gate.threshold, positive: probability >= meta.gate.threshold, classes: meta.gate.source === 'cls' ? meta.gate.classes : null };
    }
    const detSegShown = !options.gated || gate === null || gate.positive;
    const hasDet = meta.decode.det !== null && out.det_boxes !== undefined && out.det_scores !== undefined;
    const hasSeg = meta.decode.seg !== null && out.seg_mask !== undefined;
    let boxes: ScoredBox[] = [];
    let mask: MaskOverlay | null = null;
    if (detSegShown && hasDet) boxes = decodeBoxes(out.det_boxes!.data, out.det_scores!.data, meta.decode.det!, transform);
    if (detSegShown && hasSeg) mask = decodeMask(out.seg_mask!.data, S, transform, meta.decode.seg!.threshold);
    const t3 = now();
    const steps = [
      { label: 'Preprocess', ms: t1 - t0 },
      { label: 'Model (all heads)', ms: t2 - t1 },
      { label: 'Decode', ms: t3 - t2 },
    ];
    return { probabilities, gate, detSegShown, boxes, mask, hasDet, hasSeg, steps, totalMs: t3 - t0 };
  }

  dispose(): Promise<void> {
    return this.model.dispose();
  }
}
