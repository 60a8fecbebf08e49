import type { ScoredBox } from '@multichexnet/core';
import { unfitBoxes, type FitTransform } from '@multichexnet/data';
import type { MaskOverlay } from './demo-result';

/** The det decoding settings a model records (`metadata.decode.det`). */
export interface DetSettings {
  scoreThreshold: number;
  nmsIoU: number;
  maxDetections: number;
}

function iou(a: ScoredBox, b: ScoredBox): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/**
 * Boxes of one image from a single graph's `det_boxes` [N, 4] (x, y, width, height in model-input pixels) and
 * `det_scores` [N]: score >= threshold, greedy NMS, at most maxDetections, mapped back to original pixels.
 *
 * Hand-written (a dozen lines) because the page may import only core, data and runtime, and runtime keeps its
 * own decoder private; the rule is the same greedy NMS as head-det's, so both paths give the same boxes.
 */
export function decodeBoxes(boxes: Float32Array, scores: Float32Array, settings: DetSettings, transform: FitTransform): ScoredBox[] {
  const candidates: ScoredBox[] = [];
  for (let i = 0; i < scores.length; i++) {
    const score = scores[i]!;
    const width = boxes[i * 4 + 2]!;
    const height = boxes[i * 4 + 3]!;
    if (score >= settings.scoreThreshold && width > 0 && height > 0) candidates.push({ x: boxes[i * 4]!, y: boxes[i * 4 + 1]!, width, height, score });
  }
  candidates.sort((a, b) => b.score - a.score);
  const kept: ScoredBox[] = [];
  for (const c of candidates) {
    if (kept.length >= settings.maxDetections) break;
    if (kept.every((k) => iou(k, c) <= settings.nmsIoU)) kept.push(c);
  }
  return unfitBoxes(kept, transform);
}

/**
 * Mask of one image from `seg_mask` probabilities [S, S] (model input): the window the image occupies (without
 * letterbox padding), foreground where probability > threshold, at the model's resolution; the page stretches
 * it over the image when drawing, so no resampling happens here.
 */
export function decodeMask(probs: Float32Array, size: number, transform: FitTransform, threshold: number): MaskOverlay {
  const x0 = Math.round(transform.offsetX);
  const y0 = Math.round(transform.offsetY);
  const width = Math.max(1, Math.min(size - x0, Math.round(transform.width * transform.scaleX)));
  const height = Math.max(1, Math.min(size - y0, Math.round(transform.height * transform.scaleY)));
  const data = new Uint8Array(width * height);
  let on = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = probs[(y0 + y) * size + x0 + x]! > threshold ? 1 : 0;
      data[y * width + x] = v;
      on += v;
    }
  }
  return { width, height, data, areaFraction: on / data.length };
}
