import { auroc } from '@multichexnet/core';
import { classNames, column, matrixShape } from './check-inputs';

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
export function macroAuroc(
  yTrue: readonly ArrayLike<number>[],
  yScore: readonly ArrayLike<number>[],
  classes?: readonly string[],
): MacroAuroc {
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
