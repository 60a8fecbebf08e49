import type { BinaryMask, ScoredBox } from '@multichexnet/core';
import { nonMaxSuppression } from '@multichexnet/head-det';
import { resizeBilinear } from './preprocess-image';

/** Thresholds of the det decoding. */
export interface DetDecodeSettings {
  scoreThreshold: number;
  nmsIoU: number;
  maxDetections: number;
}

/**
 * One image's boxes from the graph's `det_boxes` [N, 4] (x, y, w, h in input pixels) and `det_scores` [N]:
 * score >= threshold, non-empty after clipping, head-det's greedy NMS, at most maxDetections, then scaled from
 * the network input (inW x inH) to the original image (outW x outH).
 */
export function decodeBoxes(
  boxes: Float32Array,
  scores: Float32Array,
  settings: DetDecodeSettings,
  input: { width: number; height: number },
  original: { width: number; height: number },
): ScoredBox[] {
  const candidates: ScoredBox[] = [];
  for (let i = 0; i < scores.length; i++) {
    const score = scores[i]!;
    if (!(score >= settings.scoreThreshold)) continue;
    const width = boxes[i * 4 + 2]!;
    const height = boxes[i * 4 + 3]!;
    if (!(width > 0 && height > 0)) continue;
    candidates.push({ x: boxes[i * 4]!, y: boxes[i * 4 + 1]!, width, height, score });
  }
  const sx = original.width / input.width;
  const sy = original.height / input.height;
  return nonMaxSuppression(candidates, settings.nmsIoU, settings.maxDetections).map((b) => ({
    x: b.x * sx,
    y: b.y * sy,
    width: b.width * sx,
    height: b.height * sy,
    score: b.score,
  }));
}

/**
 * One image's mask from `seg_mask` probabilities [H, W] (network input size): resized bilinearly to the original
 * image size, foreground where probability > threshold.
 */
export function decodeMask(probs: Float32Array, input: { width: number; height: number }, original: { width: number; height: number }, threshold: number): BinaryMask {
  const p = input.width === original.width && input.height === original.height ? probs : resizeBilinear(probs, input.width, input.height, original.width, original.height);
  const data = new Uint8Array(original.width * original.height);
  for (let i = 0; i < data.length; i++) data[i] = p[i]! > threshold ? 1 : 0;
  return { width: original.width, height: original.height, data };
}
