import { DataError, tf, type BinaryMask, type ScoredBox } from '@multichexnet/core';
import { preprocessImage, rleEncode, unfitBoxes, type DecodedImage, type FitTransform } from '@multichexnet/data';
import { nonMaxSuppression } from '@multichexnet/head-det';
import { loadModel, runModel, type ModelMetadata, type OnnxModel, type PipelineResult } from '@multichexnet/runtime';
import type { PredictSettings } from './predictor';

/*
 * The single-graph `model.onnx` (runtime role `model`) runs every head on every image; @multichexnet/runtime's
 * createPipeline reads only the two-stage export. So that `predict --model model.onnx` works on the file alone,
 * this applies the gate after the graph (det/seg outputs of gated-out images are dropped, as the pipeline never
 * computes them) and decodes with the same pieces the runtime uses: data's preprocessing and unfitBoxes,
 * head-det's NMS. The mask goes back onto the original image with tfjs' cropAndResize (bilinear).
 */

const now = (): number => performance.now();

/** Loads a role-`model` graph; `run` returns the same result shape as the runtime's pipeline. */
export async function loadSingleGraph(file: string, settings: PredictSettings): Promise<{ model: OnnxModel; run(images: readonly DecodedImage[]): Promise<PipelineResult[]> }> {
  const model = await loadModel(file, settings.threads !== undefined ? { threads: settings.threads } : {});
  const meta = model.metadata;
  if (meta.preprocessing === null) {
    await model.dispose();
    throw new DataError('Model lacks its preprocessing', { file, field: 'multichexnet.preprocessing', expected: 'a preprocessing spec', found: 'null' });
  }
  return {
    model,
    run: async (images) => {
      const out: PipelineResult[] = [];
      for (const image of images) out.push(await runOne(model, meta, image, settings));
      return out;
    },
  };
}

async function runOne(model: OnnxModel, meta: ModelMetadata, image: DecodedImage, settings: PredictSettings): Promise<PipelineResult> {
  const S = meta.preprocessing!.size;
  const C = meta.inputs[0]?.shape[3] ?? 1;
  let t = now();
  const { input, transform } = preprocessImage(image, meta.preprocessing!);
  let feed = input;
  if (C !== 1) {
    feed = new Float32Array(S * S * C);
    for (let i = 0; i < S * S; i++) feed.fill(input[i]!, i * C, (i + 1) * C);
  }
  const preprocessMs = now() - t;
  t = now();
  const o = await runModel(model, { image: { data: feed, dims: [1, S, S, C] } });
  const graphMs = now() - t;
  t = now();
  const probabilities: Record<string, number> = {};
  const probs = o.cls_probs!.data;
  meta.classNames.forEach((c, k) => {
    probabilities[c] = probs[k]!;
  });
  const gate = gateOf(meta, o, probabilities, settings);
  const det = meta.decode.det === null ? null : { ...meta.decode.det, ...settings.det };
  let boxes: ScoredBox[] = [];
  let mask: BinaryMask | null = null;
  if (gate.positive && det !== null && o.det_boxes !== undefined && o.det_scores !== undefined) {
    const scores = o.det_scores.data;
    const raw = o.det_boxes.data;
    const candidates: ScoredBox[] = [];
    for (let i = 0; i < scores.length; i++) {
      const width = raw[i * 4 + 2]!;
      const height = raw[i * 4 + 3]!;
      if (scores[i]! >= det.scoreThreshold && width > 0 && height > 0) candidates.push({ x: raw[i * 4]!, y: raw[i * 4 + 1]!, width, height, score: scores[i]! });
    }
    boxes = unfitBoxes(nonMaxSuppression(candidates, det.nmsIoU, det.maxDetections), transform);
  }
  const hasSeg = meta.decode.seg !== null && o.seg_mask !== undefined;
  if (gate.positive && hasSeg) mask = maskOf(o.seg_mask!.data, S, transform, settings.segThreshold ?? meta.decode.seg!.threshold);
  const decodeMs = now() - t;
  return {
    probabilities,
    gate,
    boxes,
    mask,
    maskRle: !hasSeg ? '' : mask === null ? '-1' : rleEncode(mask),
    timings: { preprocessMs, stage1Ms: graphMs, stage2Ms: 0, decodeMs, totalMs: preprocessMs + graphMs + decodeMs },
  };
}

function gateOf(meta: ModelMetadata, o: Record<string, { data: Float32Array }>, probabilities: Record<string, number>, settings: PredictSettings): { probability: number; positive: boolean } {
  const spec = meta.gate;
  if (spec === null) return { probability: 1, positive: true };
  const probability = spec.source === 'cls' ? Math.max(...spec.classes.map((c) => probabilities[c] ?? 0)) : (o[spec.output]?.data[0] ?? 0);
  const threshold = settings.gateThreshold ?? spec.threshold;
  return { probability, positive: !settings.gate || probability >= threshold };
}

/** Probabilities [S, S] over the letterboxed input -> binary mask at the original size. */
function maskOf(probs: Float32Array, S: number, t: FitTransform, threshold: number): BinaryMask {
  const w = t.width * t.scaleX;
  const h = t.height * t.scaleY;
  // cropAndResize takes normalised corner coordinates of pixel centres: (S - 1) spans the input.
  const box = [t.offsetY / (S - 1), t.offsetX / (S - 1), (t.offsetY + h - 1) / (S - 1), (t.offsetX + w - 1) / (S - 1)];
  const data = tf.tidy(() => {
    const img = tf.tensor4d(probs, [1, S, S, 1]);
    const out = tf.image.cropAndResize(img, tf.tensor2d([box], [1, 4]), tf.tensor1d([0], 'int32'), [t.height, t.width], 'bilinear');
    return out.greater(threshold).dataSync();
  });
  return { width: t.width, height: t.height, data: Uint8Array.from(data) };
}
