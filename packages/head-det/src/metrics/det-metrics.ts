import { rsnaMeanAP } from './rsna-map';
import { apAt, positiveApAt } from './voc-ap';
import type { DetectionImage } from './detection-image';

/** Detection metrics of a set of images (RSNA). */
export interface DetMetrics {
  /** RSNA Pneumonia challenge metric (mean over IoU 0.4..0.75 of TP / (TP + FP + FN), per image). */
  mAP: number;
  /** The box score threshold of `mAP`. */
  scoreThreshold: number;
  /**
   * PASCAL VOC AP at IoU 0.5 (all-point, every box ranked whatever its score) over all images: false alarms on negative
   * images count.
   */
  ap50: number;
  /** The same AP on the images with a truth box only, as the authors' code reports it (`positiveApAt`). */
  positiveAp50: number;
  images: number;
  /** Images with at least one truth box. */
  positives: number;
}

/** Candidate box score thresholds {@link chooseScoreThreshold} tries. */
export const DET_SCORE_THRESHOLDS: readonly number[] = Object.freeze([
  0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9,
]);

/**
 * RSNA mAP of the predictions with score >= `threshold`.
 *
 * @example
 * detMapAt(images, 0.3);   // 0.21
 */
export function detMapAt(images: readonly DetectionImage[], threshold: number): number {
  return rsnaMeanAP(
    images.map((d) => ({ truth: d.truth, predictions: d.predictions.filter((p) => p.score >= threshold) })),
  );
}

/**
 * The RSNA mAP at `scoreThreshold`, AP@0.5 over every box (all images, and positive images only), and the image counts.
 *
 * @example
 * detMetrics(images, 0.25).mAP;
 */
export function detMetrics(images: readonly DetectionImage[], scoreThreshold: number): DetMetrics {
  return {
    mAP: detMapAt(images, scoreThreshold),
    ap50: apAt(images, 0.5),
    positiveAp50: positiveApAt(images, 0.5),
    scoreThreshold,
    images: images.length,
    positives: images.filter((d) => d.truth.length > 0).length,
  };
}

/**
 * The candidate box score threshold with the best RSNA mAP on (validation) images, first on ties; undefined when no
 * image has a truth box. RSNA entrants tuned exactly this on held-out data.
 *
 * @example
 * const t = chooseScoreThreshold(valImages);   // 0.3
 */
export function chooseScoreThreshold(images: readonly DetectionImage[]): number | undefined {
  if (!images.some((d) => d.truth.length > 0)) return undefined;
  let best = -Infinity;
  let chosen: number | undefined;
  for (const t of DET_SCORE_THRESHOLDS) {
    const m = detMapAt(images, t);
    if (m > best) {
      best = m;
      chosen = t;
    }
  }
  return chosen;
}
