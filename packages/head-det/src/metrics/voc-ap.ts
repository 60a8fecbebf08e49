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

/**
 * How AP summarises a precision-recall curve. `all-point` (VOC 2010+): the area under the precision envelope,
 * precision at each recall replaced by the highest precision at any equal or larger recall. `11-point` (VOC
 * 2007): the mean over recall levels r = 0, 0.1, ..., 1 of the highest precision at recall >= r (0 where the
 * curve never reaches r).
 */
export type ApInterpolation = 'all-point' | '11-point';

/** Options of {@link precisionRecallCurve}, {@link apAt} and {@link positiveApAt}. */
export interface VocOptions {
  /** `gte` (default, as the PASCAL VOC devkit): a hit needs IoU >= the threshold; `gt`: IoU > the threshold. */
  matchRule?: MatchRule;
  /** Default `all-point`. Only AP reads it; the curve is the same. */
  interpolation?: ApInterpolation;
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
export function precisionRecallCurve(
  images: readonly DetectionImage[],
  iou = 0.5,
  options: VocOptions = {},
): PrecisionRecallCurve {
  checkImages(images);
  const rule = options.matchRule ?? 'gte';
  const all: { image: number; index: number; score: number }[] = [];
  images.forEach((im, i) =>
    byScore(im.predictions).forEach((p) => all.push({ image: i, index: p, score: im.predictions[p]!.score })),
  );
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
    points.push({
      score: d.score,
      precision: tp / (tp + fp),
      recall: truthCount > 0 ? tp / truthCount : 0,
      truePositive: isTP,
    });
  }
  return { points, truthCount };
}

/**
 * Average precision at one IoU threshold (default 0.5) over all images: the precision-recall curve of
 * {@link precisionRecallCurve} summarised with `options.interpolation` (default `all-point`, PASCAL VOC 2010+:
 * the area under the precision envelope; `11-point`, VOC 2007). Recall that is never reached adds nothing, so
 * missed objects lower AP; predictions on images without truth are false positives. NaN when there is no truth
 * box at all. (Not sklearn's `average_precision_score`, which does not interpolate and cannot count truth boxes
 * that no prediction reaches.)
 *
 * @example
 * apAt([{ truth: [{ x: 0, y: 0, width: 10, height: 10 }], predictions: [{ x: 0, y: 0, width: 10, height: 10, score: 0.9 }] }]); // 1
 */
export function apAt(images: readonly DetectionImage[], iou = 0.5, options: VocOptions = {}): number {
  const { points, truthCount } = precisionRecallCurve(images, iou, options);
  if (truthCount === 0) return Number.NaN;
  // The precision envelope from the right: the best precision at this or any larger recall.
  const envelope = points.map((p) => p.precision);
  for (let i = envelope.length - 2; i >= 0; i--) envelope[i] = Math.max(envelope[i]!, envelope[i + 1]!);
  if ((options.interpolation ?? 'all-point') === '11-point') {
    let sum = 0;
    for (let k = 0; k <= 10; k++) {
      // Recall rises along the curve, so the first point reaching k/10 holds the envelope's value there.
      const i = points.findIndex((p) => p.recall >= k / 10);
      sum += i < 0 ? 0 : envelope[i]!;
    }
    return sum / 11;
  }
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

/**
 * VOC AP on the positive images only, as the MultiCheXNet authors' evaluation reports it: {@link apAt} (IoU >= 0.5,
 * all-point interpolation by default) over the images with at least one truth box; images without truth and the
 * predictions on them are left out, so false alarms on negative films cost nothing here (the RSNA mAP of
 * `rsnaMeanAP` counts them). The authors' RSNA loader keeps only `Target == 1` patients and scores them with the
 * Cartucho/mAP tool (VOC all-point, IoU >= 0.5 on integer corners with the "+1 pixel" convention); this one keeps
 * continuous coordinates and the plain IoU of `boxIoU`. NaN when no image has a truth box.
 *
 * @example
 * positiveApAt([
 *   { truth: [{ x: 0, y: 0, width: 10, height: 10 }], predictions: [{ x: 0, y: 0, width: 10, height: 10, score: 0.9 }] },
 *   { truth: [], predictions: [{ x: 50, y: 50, width: 10, height: 10, score: 0.95 }] },   // left out
 * ]); // 1 (apAt over both images gives 0.5)
 */
export function positiveApAt(images: readonly DetectionImage[], iou = 0.5, options: VocOptions = {}): number {
  return apAt(
    images.filter((im) => im.truth.length > 0),
    iou,
    options,
  );
}
