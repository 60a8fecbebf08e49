import type { BinaryMask, ScoredBox } from '@multichexnet/core';
import { unfitBoxes, type FitTransform } from '@multichexnet/data';
import { nonMaxSuppression } from '@multichexnet/head-det';
import { resizeBilinear } from './resize-bilinear';

/** Thresholds of the det decoding. */
export interface DetDecodeSettings {
  scoreThreshold: number;
  nmsIoU: number;
  maxDetections: number;
}

/**
 * `det_boxes` [N, 4] (x, y, w, h in model-input pixels) and `det_scores` [N] of one image -> its boxes:
 * score >= threshold, non-empty after clipping, head-det's greedy NMS, at most maxDetections, then mapped back
 * onto the original image with data's `unfitBoxes` (`transform` null: left in model-input pixels).
 *
 * @example
 * const boxes = decodeBoxes(boxesOfImage, scoresOfImage, model.metadata.decode.det!, transform);
 */
export function decodeBoxes(boxes: Float32Array, scores: Float32Array, settings: DetDecodeSettings, transform: FitTransform | null): ScoredBox[] {
  const candidates: ScoredBox[] = [];
  for (let i = 0; i < scores.length; i++) {
    const score = scores[i]!;
    if (!(score >= settings.scoreThreshold)) continue;
    const width = boxes[i * 4 + 2]!;
    const height = boxes[i * 4 + 3]!;
    if (!(width > 0 && height > 0)) continue;
    candidates.push({ x: boxes[i * 4]!, y: boxes[i * 4 + 1]!, width, height, score });
  }
  const kept = nonMaxSuppression(candidates, settings.nmsIoU, settings.maxDetections);
  return transform === null ? kept : unfitBoxes(kept, transform);
}

/**
 * `seg_mask` probabilities [S, S] of one image (model input) -> BinaryMask at the original size: the part covering
 * the image (without letterbox padding) resized bilinearly, foreground where probability > threshold.
 *
 * @example
 * const mask = decodeMask(probsOfImage, 256, transform, model.metadata.decode.seg!.threshold);
 */
export function decodeMask(probs: Float32Array, size: number, transform: FitTransform, threshold: number): BinaryMask {
  const { width, height } = transform;
  const window = {
    x0: transform.offsetX,
    y0: transform.offsetY,
    w: Math.max(1, Math.round(width * transform.scaleX)),
    h: Math.max(1, Math.round(height * transform.scaleY)),
  };
  const p = resizeBilinear(probs, size, window, width, height);
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = p[i]! > threshold ? 1 : 0;
  return { width, height, data };
}
