import { DataError } from '../errors';

/**
 * The binary ROC, defined once for every scorer of the project: a class of CheXCls (head-cls re-exports it) and
 * the first-stage gate (gating's `gateRoc`). Core holds it because the gate may not import a head.
 */

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

/**
 * The (label, score) pairs with an annotated label: NaN labels are dropped (not annotated), other labels must be
 * 0 or 1 and scores finite; anything else is a DataError naming the index.
 */
function annotatedPairs(
  yTrue: ArrayLike<number>,
  yScore: ArrayLike<number>,
  what: string,
): { y: Uint8Array; s: Float64Array } {
  if (yTrue.length !== yScore.length) {
    throw new DataError(`${what}: labels and scores differ in length`, {
      field: 'yScore',
      expected: `${yTrue.length} scores`,
      found: `${yScore.length}`,
    });
  }
  const y: number[] = [];
  const s: number[] = [];
  for (let i = 0; i < yTrue.length; i++) {
    const label = yTrue[i]!;
    if (Number.isNaN(label)) continue;
    if (label !== 0 && label !== 1) {
      throw new DataError(`${what}: labels must be 0, 1 or NaN`, {
        row: i + 1,
        field: 'yTrue',
        expected: '0, 1 or NaN',
        found: String(label),
      });
    }
    const score = yScore[i]!;
    if (!Number.isFinite(score)) {
      throw new DataError(`${what}: scores must be finite`, {
        row: i + 1,
        field: 'yScore',
        expected: 'a finite number',
        found: String(score),
      });
    }
    y.push(label);
    s.push(score);
  }
  return { y: Uint8Array.from(y), s: Float64Array.from(s) };
}

/**
 * Cumulative counts over all distinct scores of labels yTrue [N] (0, 1, NaN = skipped) and scores yScore [N].
 * Shared by the curve, the AUROC and operating-point searches.
 */
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
 * The ROC curve of labels yTrue [N] (0, 1, NaN = skipped) and scores yScore [N] over all distinct score
 * thresholds, from (0, 0) at threshold +Infinity to (1, 1) (sklearn's `roc_curve(drop_intermediate=False)`).
 * Rates are NaN when a class is absent.
 *
 * @example
 * rocCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
 * // [{threshold: Infinity, fpr: 0, tpr: 0}, {0.8, 0, 0.5}, {0.4, 0.5, 0.5}, {0.35, 0.5, 1}, {0.1, 1, 1}]
 */
export function rocCurve(yTrue: ArrayLike<number>, yScore: ArrayLike<number>): RocPoint[] {
  return rocPointsOf(rocCounts(yTrue, yScore));
}

/** The ROC points of counts from {@link rocCounts} (rates NaN when a class is absent). */
export function rocPointsOf(c: RocCounts): RocPoint[] {
  return c.thresholds.map((threshold, i) => ({ threshold, fpr: c.fp[i]! / c.negatives, tpr: c.tp[i]! / c.positives }));
}

/**
 * Area under the ROC curve of labels yTrue [N] and scores yScore [N]: the trapezoid rule over all distinct
 * thresholds, which equals the Mann-Whitney probability P(s+ > s-) + 1/2 P(s+ = s-). NaN labels are skipped; NaN
 * when only one class is present (sklearn raises there). Same value as sklearn's `roc_auc_score`.
 *
 * @example
 * auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);   // 0.75
 */
export function auroc(yTrue: ArrayLike<number>, yScore: ArrayLike<number>): number {
  return aurocOf(rocCounts(yTrue, yScore, 'auroc'));
}

/** AUROC of counts from {@link rocCounts}; NaN when a class is absent. */
export function aurocOf(c: RocCounts): number {
  if (c.positives === 0 || c.negatives === 0) return NaN;
  // Trapezoids on integer counts, divided once at the end: no rounding until the last step.
  let twiceArea = 0;
  for (let i = 1; i < c.tp.length; i++) twiceArea += (c.fp[i]! - c.fp[i - 1]!) * (c.tp[i]! + c.tp[i - 1]!);
  return twiceArea / (2 * c.positives * c.negatives);
}
