import type { EvalRaw } from './evaluate';
import { detMapAt, segDiceAt } from './evaluate';
import { chooseF1Thresholds } from '@multichexnet/head-cls';

/** Post-processing settings chosen on validation data and applied unchanged to the test set. */
export interface Calibration {
  /** Per-class F1 thresholds of the cls head. */
  f1Threshold?: Record<string, number>;
  /** Box score threshold that maximises the RSNA mAP. */
  detScoreThreshold?: number;
  /** Minimum predicted mask area (pixels) that maximises the SIIM Dice. */
  segMinArea?: number;
}

/** Candidate box score thresholds. */
export const DET_THRESHOLDS: readonly number[] = [0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/** Candidate minimum mask areas, as fractions of the image. */
export const SEG_MIN_AREA_FRACTIONS: readonly number[] = [0, 0.0025, 0.005, 0.01, 0.02, 0.04];

/**
 * Chooses the decision settings of each head on validation predictions (`EvalResult.raw` of a validation
 * evaluation): per-class F1 thresholds, the box score threshold with the best RSNA mAP and the minimum mask area
 * with the best SIIM Dice (ties: the first candidate). RSNA and SIIM entrants tuned exactly these on held-out data.
 *
 * @example
 * const cal = calibrate((await evaluate(model, valSets, opts)).raw);
 * const test = await evaluate(model, testSets, { ...opts, ...cal });
 */
export function calibrate(raw: EvalRaw): Calibration {
  const out: Calibration = {};
  if (raw.cls.labels.length > 0) out.f1Threshold = chooseF1Thresholds(raw.cls.labels, raw.cls.scores, raw.cls.classes);
  if (raw.det.some((d) => d.truth.length > 0)) {
    let best = -Infinity;
    for (const t of DET_THRESHOLDS) {
      const m = detMapAt(raw.det, t);
      if (m > best) {
        best = m;
        out.detScoreThreshold = t;
      }
    }
  }
  if (raw.seg.length > 0) {
    const pixels = raw.seg[0]!.truth.width * raw.seg[0]!.truth.height;
    let best = -Infinity;
    for (const f of SEG_MIN_AREA_FRACTIONS) {
      const area = Math.round(f * pixels);
      const d = segDiceAt(raw.seg, area);
      if (d > best) {
        best = d;
        out.segMinArea = area;
      }
    }
  }
  return out;
}
