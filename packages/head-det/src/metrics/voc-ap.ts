import { boxIoU } from '../boxes/box-iou';
import { byScore, checkImages, hits, type DetectionImage, type MatchRule } from './detection-image';

/** One point of a precision-recall curve: the state after accepting every prediction with score >= `score`. */
export interface PrecisionRecallPoint {
  /** Confidence of the prediction that adds this point. */
  score: number;
  precision: number;
  recall: number;
  /** Whether that prediction was a true positive. */
  truePositive: boolean;
}

/** Options of {@link precisionRecallCurve} and {@link apAt}. */
export interface VocOptions {
  /** `gte` (default, as the PASCAL VOC devkit): a hit needs IoU >= the threshold; `gt`: IoU > the threshold. */
  matchRule?: MatchRule;
}

/** A precision-recall curve over a set of images. */
export interface PrecisionRecallCurve {
  /** One point per prediction, in descending confidence. */
  points: PrecisionRecallPoint[];
  /** Number of truth boxes over all images (the recall denominator). */
  truthCount: number;
}

/**
 * Precision-recall curve of a detector over all images at one IoU threshold, PASCAL VOC style: every prediction
 * of every image, in descending confidence (ties: image order, then input order); a prediction is a true
 * positive when the truth box of its image with the highest IoU passes the threshold and was not claimed by a
 * higher-scored prediction, otherwise a false positive (a second detection of the same object is a false
 * positive). Continuous coordinates, no "+1 pixel".
 *
 * @example
 * const { points } = precisionRecallCurve(images, 0.5);   // [{ score, precision, recall, truePositive }, ...]
 */
export function precisionRecallCurve(images: readonly DetectionImage[], iou = 0.5, options: VocOptions = {}): PrecisionRecallCurve {
  checkImages(images);
  const rule = options.matchRule ?? 'gte';
  const all: { image: number; index: number; score: number }[] = [];
  images.forEach((im, i) => byScore(im.predictions).forEach((p) => all.push({ image: i, index: p, score: im.predictions[p]!.score })));
  // Array.prototype.sort is stable, so equal scores keep image order, then their per-image confidence order.
  all.sort((a, b) => b.score - a.score);
  const claimed = images.map((im) => new Array<boolean>(im.truth.length).fill(false));
  const truthCount = images.reduce((s, im) => s + im.truth.length, 0);
  const points: PrecisionRecallPoint[] = [];
  let tp = 0;
  let fp = 0;
  for (const d of all) {
    const im = images[d.image]!;
    const pred = im.predictions[d.index]!;
    let best = -1;
    let bestIoU = -Infinity;
    im.truth.forEach((t, g) => {
      const v = boxIoU(pred, t);
      if (v > bestIoU) {
        bestIoU = v;
        best = g;
      }
    });
    const isTP = best >= 0 && hits(bestIoU, iou, rule) && !claimed[d.image]![best];
    if (isTP) {
      claimed[d.image]![best] = true;
      tp++;
    } else {
      fp++;
    }
    points.push({ score: d.score, precision: tp / (tp + fp), recall: truthCount > 0 ? tp / truthCount : 0, truePositive: isTP });
  }
  return { points, truthCount };
}

/**
 * Average precision at one IoU threshold (default 0.5), PASCAL VOC 2010+ "all-point interpolation": the area
 * under the precision-recall curve of {@link precisionRecallCurve} after replacing each precision by the highest
 * precision at any equal or larger recall. Recall that is never reached adds nothing, so missed objects lower AP.
 * NaN when there is no truth box at all. (Not sklearn's `average_precision_score`, which does not interpolate and
 * cannot count truth boxes that no prediction reaches.)
 *
 * @example
 * apAt([{ truth: [{ x: 0, y: 0, width: 10, height: 10 }], predictions: [{ x: 0, y: 0, width: 10, height: 10, score: 0.9 }] }]); // 1
 */
export function apAt(images: readonly DetectionImage[], iou = 0.5, options: VocOptions = {}): number {
  const { points, truthCount } = precisionRecallCurve(images, iou, options);
  if (truthCount === 0) return Number.NaN;
  // precision envelope from the right, then the sum of precision x recall increments
  const envelope = points.map((p) => p.precision);
  for (let i = envelope.length - 2; i >= 0; i--) envelope[i] = Math.max(envelope[i]!, envelope[i + 1]!);
  let ap = 0;
  let prevRecall = 0;
  points.forEach((p, i) => {
    if (p.recall > prevRecall) {
      ap += (p.recall - prevRecall) * envelope[i]!;
      prevRecall = p.recall;
    }
  });
  return ap;
}
