import { classNames, column, matrixShape } from './check-inputs';
import { rocCounts } from './roc-curve';

/**
 * Area under the ROC curve of one class: the trapezoid rule over all distinct thresholds, which equals the
 * Mann-Whitney probability P(s+ > s-) + 1/2 P(s+ = s-). NaN labels are skipped; NaN when only one class is
 * present (sklearn raises there). Same value as sklearn's `roc_auc_score`.
 *
 * @example
 * auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);   // 0.75
 */
export function auroc(yTrue: ArrayLike<number>, yScore: ArrayLike<number>): number {
  const c = rocCounts(yTrue, yScore, 'auroc');
  if (c.positives === 0 || c.negatives === 0) return NaN;
  // Trapezoids on integer counts, divided once at the end: no rounding until the last step.
  let twiceArea = 0;
  for (let i = 1; i < c.tp.length; i++) twiceArea += (c.fp[i]! - c.fp[i - 1]!) * (c.tp[i]! + c.tp[i - 1]!);
  return twiceArea / (2 * c.positives * c.negatives);
}

/** Per-class AUROC and their unweighted mean. */
export interface MacroAuroc {
  /** AUROC by class name; NaN for a class with only one label value among its annotated samples. */
  perClass: Record<string, number>;
  /** Mean over the classes whose AUROC is defined (NaN if none), CheXNet's "average AUROC". */
  mean: number;
  /** How many classes entered the mean. */
  defined: number;
}

/**
 * CheXNet-style evaluation: AUROC per column of yTrue / yScore [N][C] (rows = images; NaN labels skipped per
 * sample and class) and their mean over defined classes, i.e. sklearn `roc_auc_score(average='macro')` with
 * undefined classes left out.
 *
 * @example
 * macroAuroc(labels, probabilities, CHESTXRAY14_CLASSES).mean;   // 0.84
 */
export function macroAuroc(yTrue: readonly ArrayLike<number>[], yScore: readonly ArrayLike<number>[], classes?: readonly string[]): MacroAuroc {
  const count = matrixShape(yTrue, yScore, 'macroAuroc');
  const names = classNames(classes, count, 'macroAuroc');
  const perClass: Record<string, number> = {};
  let sum = 0;
  let defined = 0;
  names.forEach((name, c) => {
    const a = auroc(column(yTrue, c), column(yScore, c));
    perClass[name] = a;
    if (!Number.isNaN(a)) {
      sum += a;
      defined++;
    }
  });
  return { perClass, mean: defined === 0 ? NaN : sum / defined, defined };
}
