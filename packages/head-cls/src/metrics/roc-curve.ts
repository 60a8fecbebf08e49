import { rocCounts } from '@multichexnet/core';

/** The best sensitivity at a minimum specificity, and the operating point that gives it. */
export interface OperatingPoint {
  sensitivity: number;
  specificity: number;
  /** Predict positive when score >= threshold (Infinity: predict nothing positive). */
  threshold: number;
}

/**
 * Highest sensitivity (TPR) among the ROC points whose specificity (1 - FPR) is at least `minSpecificity`; among
 * equal sensitivities the higher specificity wins. NaN values when a class is absent.
 *
 * @example
 * sensitivityAtSpecificity([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0.5);  // { sensitivity: 1, specificity: 0.5, threshold: 0.35 }
 */
export function sensitivityAtSpecificity(
  yTrue: ArrayLike<number>,
  yScore: ArrayLike<number>,
  minSpecificity: number,
): OperatingPoint {
  const c = rocCounts(yTrue, yScore, 'sensitivityAtSpecificity');
  if (c.positives === 0 || c.negatives === 0) return { sensitivity: NaN, specificity: NaN, threshold: NaN };
  let best = 0;
  for (let i = 1; i < c.thresholds.length; i++) {
    // Integer comparison of counts: FP <= (1 - minSpecificity) * N, with a tolerance for the float product.
    if (1 - c.fp[i]! / c.negatives < minSpecificity - 1e-12) break;
    if (c.tp[i]! > c.tp[best]!) best = i;
  }
  return {
    sensitivity: c.tp[best]! / c.positives,
    specificity: 1 - c.fp[best]! / c.negatives,
    threshold: c.thresholds[best]!,
  };
}
