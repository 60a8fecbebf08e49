import { DataError, type BinaryMask, type ScoredBox } from '@multichexnet/core';
import { preprocessImage, rleEncode, unfitBoxes, type DecodedImage, type FitTransform } from '@multichexnet/data';
import { nonMaxSuppression } from '@multichexnet/head-det';
import { loadModel, runModel, type ModelMetadata, type OnnxModel, type PipelineResult } from '@multichexnet/runtime';
import type { PredictSettings } from './predictor';

/*
 * The single-graph `model.onnx` (runtime role `model`) runs every head on every image; @multichexnet/runtime's
 * createPipeline reads only the two-stage export. So that `predict --model model.onnx` works on the file alone,
 * this applies the gate after the graph (det/seg outputs of gated-out images are dropped, as the pipeline never
 * computes them) and decodes with the same pieces the runtime uses: data's preprocessing and unfitBoxes,
 * head-det's NMS. The mask goes back onto the original image by bilinear sampling of the letterbox window.
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

/**
 * Probabilities [S, S] over the letterboxed input -> binary mask at the original size: the window the image
 * occupies, sampled bilinearly at the original pixel centres (half-pixel convention, clamped at the border).
 * Hand-written (a dozen lines) because runtime keeps its resampler internal and tfjs would start a backend here.
 */
function maskOf(probs: Float32Array, S: number, t: FitTransform, threshold: number): BinaryMask {
  const w = Math.max(1, Math.round(t.width * t.scaleX));
  const h = Math.max(1, Math.round(t.height * t.scaleY));
  const sx = w / t.width;
  const sy = h / t.height;
  const data = new Uint8Array(t.width * t.height);
  for (let y = 0; y < t.height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), h - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, h - 1);
    const wy = fy - y0;
    const r0 = (t.offsetY + y0) * S + t.offsetX;
    const r1 = (t.offsetY + y1) * S + t.offsetX;
    for (let x = 0; x < t.width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), w - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, w - 1);
      const wx = fx - x0;
      const top = probs[r0 + x0]! * (1 - wx) + probs[r0 + x1]! * wx;
      const bottom = probs[r1 + x0]! * (1 - wx) + probs[r1 + x1]! * wx;
      data[y * t.width + x] = top * (1 - wy) + bottom * wy > threshold ? 1 : 0;
    }
  }
  return { width: t.width, height: t.height, data };
}
