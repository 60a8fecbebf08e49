import { DataError } from '@multichexnet/core';
import { classNames, matrixShape } from './check-inputs';

/** F1 per class plus its macro and micro averages. */
export interface F1Result {
  /** F1 by class name: 2TP / (2TP + FP + FN), 0 when TP + FP + FN = 0. */
  perClass: Record<string, number>;
  /** Unweighted mean of the per-class F1. */
  macro: number;
  /** 2 sum TP / (2 sum TP + sum FP + sum FN) over all classes. */
  micro: number;
}

/** Options of {@link f1Score}. */
export interface F1Options {
  /** Predict positive when score > threshold (strictly, as the MultiCheXNet evaluation). Default 0.5. */
  threshold?: number;
  /** Class names, one per column (default "0".."C-1"). */
  classes?: readonly string[];
}

/**
 * Multi-label F1 of scores yScore [N][C] (probabilities) against labels yTrue [N][C] at a threshold; NaN labels
 * are skipped per sample and class. Matches sklearn's `f1_score` (average None / 'macro' / 'micro',
 * zero_division 0) on `yScore > threshold`.
 *
 * @example
 * f1Score([[1, 0], [0, 1]], [[0.9, 0.2], [0.6, 0.4]]);   // { perClass: { 0: 0.667, 1: 0 }, macro: 0.333, micro: 0.5 }
 */
export function f1Score(
  yTrue: readonly ArrayLike<number>[],
  yScore: readonly ArrayLike<number>[],
  options: F1Options = {},
): F1Result {
  const threshold = options.threshold ?? 0.5;
  const count = matrixShape(yTrue, yScore, 'f1Score');
  const names = classNames(options.classes, count, 'f1Score');
  const tp = new Array<number>(count).fill(0);
  const fp = new Array<number>(count).fill(0);
  const fn = new Array<number>(count).fill(0);
  for (let i = 0; i < yTrue.length; i++) {
    for (let c = 0; c < count; c++) {
      const y = yTrue[i]![c]!;
      if (Number.isNaN(y)) continue;
      if (y !== 0 && y !== 1) {
        throw new DataError('f1Score: labels must be 0, 1 or NaN', {
          row: i + 1,
          field: `yTrue[${c}]`,
          expected: '0, 1 or NaN',
          found: String(y),
        });
      }
      const s = yScore[i]![c]!;
      if (Number.isNaN(s)) {
        throw new DataError('f1Score: scores must be numbers', {
          row: i + 1,
          field: `yScore[${c}]`,
          expected: 'a number',
          found: 'NaN',
        });
      }
      const predicted = s > threshold;
      if (predicted && y === 1) tp[c]!++;
      else if (predicted) fp[c]!++;
      else if (y === 1) fn[c]!++;
    }
  }
  const f1 = (t: number, p: number, n: number) => (t + p + n === 0 ? 0 : (2 * t) / (2 * t + p + n));
  const perClass: Record<string, number> = {};
  let sum = 0;
  names.forEach((name, c) => {
    perClass[name] = f1(tp[c]!, fp[c]!, fn[c]!);
    sum += perClass[name]!;
  });
  const total = (a: number[]) => a.reduce((x, y) => x + y, 0);
  return { perClass, macro: count === 0 ? NaN : sum / count, micro: f1(total(tp), total(fp), total(fn)) };
}
