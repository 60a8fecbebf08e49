import type { ScoredBox } from '@multichexnet/core/base';
import { boxIoU } from '../boxes/box-iou';

/**
 * Greedy non-maximum suppression over plain boxes: boxes sorted by score (descending; equal scores keep their
 * input order), each kept unless its IoU with an already kept box is > `iouThreshold`. Deterministic and
 * backend-free (decoding runs after the tensors are read back, also in the ONNX runtime pipeline).
 *
 * @example
 * nonMaxSuppression([{ x: 0, y: 0, width: 10, height: 10, score: 0.9 }, { x: 1, y: 0, width: 10, height: 10, score: 0.8 }], 0.5);
 * // -> only the 0.9 box (IoU 0.82)
 */
export function nonMaxSuppression(boxes: readonly ScoredBox[], iouThreshold = 0.5, maxOutput = Infinity): ScoredBox[] {
  const order = boxes.map((_, i) => i).sort((a, b) => boxes[b]!.score - boxes[a]!.score || a - b);
  const kept: ScoredBox[] = [];
  for (const i of order) {
    if (kept.length >= maxOutput) break;
    const candidate = boxes[i]!;
    if (kept.every((k) => boxIoU(k, candidate) <= iouThreshold)) kept.push(candidate);
  }
  return kept;
}
