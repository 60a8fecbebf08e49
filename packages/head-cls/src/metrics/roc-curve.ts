import { annotatedPairs } from './check-inputs';

/** One point of a ROC curve: predicting positive when score >= threshold gives these rates. */
export interface RocPoint {
  threshold: number;
  /** False-positive rate, 1 - specificity. */
  fpr: number;
  /** True-positive rate, sensitivity. */
  tpr: number;
}

/** Counts behind a ROC curve: cumulative TP and FP after each distinct score, highest first. */
export interface RocCounts {
  thresholds: number[];
  tp: number[];
  fp: number[];
  positives: number;
  negatives: number;
}

/** Cumulative counts over all distinct scores (NaN labels skipped). Shared by the curve and the AUROC. */
export function rocCounts(yTrue: ArrayLike<number>, yScore: ArrayLike<number>, what = 'rocCurve'): RocCounts {
  const { y, s } = annotatedPairs(yTrue, yScore, what);
  const order = Array.from(s.keys()).sort((a, b) => s[b]! - s[a]!);
  const thresholds = [Infinity];
  const tp = [0];
  const fp = [0];
  let t = 0;
  let f = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    if (y[i] === 1) t++;
    else f++;
    // Tied scores move together: one point after the whole group, which is what makes ties count 1/2.
    const next = order[k + 1];
    if (next === undefined || s[next] !== s[i]) {
      thresholds.push(s[i]!);
      tp.push(t);
      fp.push(f);
    }
  }
  return { thresholds, tp, fp, positives: t, negatives: f };
}

/**
 * The ROC curve of one class over all distinct score thresholds, from (0, 0) at threshold +Infinity to (1, 1)
 * (sklearn's `roc_curve(drop_intermediate=False)`). Rates are NaN when a class is absent.
 *
 * @example
 * rocCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
 * // [{threshold: Infinity, fpr: 0, tpr: 0}, {0.8, 0, 0.5}, {0.4, 0.5, 0.5}, {0.35, 0.5, 1}, {0.1, 1, 1}]
 */
export function rocCurve(yTrue: ArrayLike<number>, yScore: ArrayLike<number>): RocPoint[] {
  const c = rocCounts(yTrue, yScore);
  return c.thresholds.map((threshold, i) => ({ threshold, fpr: c.fp[i]! / c.negatives, tpr: c.tp[i]! / c.positives }));
}

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
export function sensitivityAtSpecificity(yTrue: ArrayLike<number>, yScore: ArrayLike<number>, minSpecificity: number): OperatingPoint {
  const c = rocCounts(yTrue, yScore, 'sensitivityAtSpecificity');
  if (c.positives === 0 || c.negatives === 0) return { sensitivity: NaN, specificity: NaN, threshold: NaN };
  let best = 0;
  for (let i = 1; i < c.thresholds.length; i++) {
    // Integer comparison of counts: FP <= (1 - minSpecificity) * N, with a tolerance for the float product.
    if (1 - c.fp[i]! / c.negatives < minSpecificity - 1e-12) break;
    if (c.tp[i]! > c.tp[best]!) best = i;
  }
  return { sensitivity: c.tp[best]! / c.positives, specificity: 1 - c.fp[best]! / c.negatives, threshold: c.thresholds[best]! };
}
