import { boxIoU } from '../boxes/box-iou';
import { byScore, checkImages, hits, type DetectionImage, type MatchRule } from './detection-image';

/**
 * The 8 IoU thresholds of the RSNA Pneumonia Detection metric, written out (generating them by adding 0.05 in
 * floating point would give 0.6000000000000001).
 */
export const RSNA_IOU_THRESHOLDS: readonly number[] = Object.freeze([0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75]);

/** Options of {@link rsnaMeanAP} and {@link rsnaImageAP}. */
export interface RsnaMetricOptions {
  /**
   * `gt` (default): a hit needs IoU > t, as the competition text says. `gte`: IoU >= t, as the public reference kernel.
   */
  matchRule?: MatchRule;
  /** Default {@link RSNA_IOU_THRESHOLDS}. */
  thresholds?: readonly number[];
}

/**
 * RSNA score of one image: the mean over the IoU thresholds t of TP(t) / (TP(t) + FP(t) + FN(t)), or `null` when
 * the image has neither truth nor predictions (such images are skipped). Predictions are taken in descending
 * confidence (ties in input order); each claims the still unmatched truth box with the highest IoU if that IoU is
 * a hit; each truth box is matched at most once. No truth but predictions: 0. Truth but no predictions: 0.
 *
 * @example
 * rsnaImageAP({ truth: [{ x: 0, y: 0, width: 100, height: 100 }], predictions: [{ x: 0, y: 0, width: 100, height: 60, score: 1 }] }); // 0.5
 */
export function rsnaImageAP(image: DetectionImage, options: RsnaMetricOptions = {}): number | null {
  checkImages([image]);
  return imageAP(image, options.matchRule ?? 'gt', options.thresholds ?? RSNA_IOU_THRESHOLDS);
}

function imageAP(image: DetectionImage, rule: MatchRule, thresholds: readonly number[]): number | null {
  const { truth, predictions } = image;
  if (truth.length === 0 && predictions.length === 0) return null;
  if (truth.length === 0 || predictions.length === 0) return 0;
  const order = byScore(predictions);
  const iou = order.map((p) => truth.map((t) => boxIoU(predictions[p]!, t)));
  let total = 0;
  for (const t of thresholds) {
    const matched = new Array<boolean>(truth.length).fill(false);
    let tp = 0;
    for (const row of iou) {
      let best = -1;
      let bestIoU = -Infinity;
      row.forEach((v, g) => {
        if (!matched[g] && v > bestIoU) {
          bestIoU = v;
          best = g;
        }
      });
      if (best >= 0 && hits(bestIoU, t, rule)) {
        matched[best] = true;
        tp++;
      }
    }
    const fp = predictions.length - tp;
    const fn = truth.length - tp;
    total += tp / (tp + fp + fn);
  }
  return total / thresholds.length;
}

/**
 * The RSNA Pneumonia Detection Challenge metric: the mean of {@link rsnaImageAP} over the images that are not
 * skipped (an image with neither truth nor predictions is skipped; one with predictions but no truth scores 0 and
 * counts). NaN when every image is skipped. Boxes in pixels, top-left + size.
 *
 * @example
 * rsnaMeanAP([
 *   { truth: [{ x: 100, y: 100, width: 200, height: 300 }], predictions: [{ x: 100, y: 100, width: 200, height: 300, score: 0.9 }] },
 *   { truth: [], predictions: [{ x: 0, y: 0, width: 50, height: 50, score: 0.4 }] },
 *   { truth: [], predictions: [] },
 * ]); // (1 + 0) / 2 = 0.5
 */
export function rsnaMeanAP(images: readonly DetectionImage[], options: RsnaMetricOptions = {}): number {
  checkImages(images);
  const rule = options.matchRule ?? 'gt';
  const thresholds = options.thresholds ?? RSNA_IOU_THRESHOLDS;
  let sum = 0;
  let n = 0;
  for (const im of images) {
    const ap = imageAP(im, rule, thresholds);
    if (ap === null) continue;
    sum += ap;
    n++;
  }
  return n === 0 ? Number.NaN : sum / n;
}
