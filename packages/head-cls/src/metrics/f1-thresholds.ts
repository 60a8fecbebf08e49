import { DataError } from '@multichexnet/core';

/**
 * Per-class decision thresholds that maximise F1 on validation data: labels and scores [N][C] (NaN labels skipped).
 * A class without a positive keeps 0.5. F1 at a fixed 0.5 says little about rare findings (a calibrated model
 * rarely outputs 0.5 for a class of 8 % prevalence), so the tables report the macro F1 at these thresholds.
 *
 * @example
 * const t = chooseF1Thresholds(valLabels, valScores, classes);   // { Atelectasis: 0.21, ... }
 */
export function chooseF1Thresholds(
  labels: readonly ArrayLike<number>[],
  scores: readonly ArrayLike<number>[],
  classes: readonly string[],
): Record<string, number> {
  if (labels.length !== scores.length) {
    throw new DataError('chooseF1Thresholds: labels and scores differ in rows', {
      field: 'scores',
      expected: `${labels.length} rows`,
      found: `${scores.length}`,
    });
  }
  const out: Record<string, number> = {};
  classes.forEach((name, c) => {
    const pairs: [number, number][] = [];
    for (let i = 0; i < labels.length; i++) {
      const y = labels[i]![c]!;
      if (!Number.isNaN(y)) pairs.push([scores[i]![c]!, y]);
    }
    const positives = pairs.filter(([, y]) => y === 1).length;
    if (positives === 0) {
      out[name] = 0.5;
      return;
    }
    // Descending scores: predicting "positive" for the first k gives tp(k), fp(k); F1 = 2tp / (tp + fp + P).
    pairs.sort((a, b) => b[0] - a[0]);
    let tp = 0;
    let fp = 0;
    let best = -1;
    let threshold = 0.5;
    for (let k = 0; k < pairs.length; k++) {
      if (pairs[k]![1] === 1) tp++;
      else fp++;
      // Only between distinct scores can a threshold separate k from k + 1.
      if (k + 1 < pairs.length && pairs[k + 1]![0] === pairs[k]![0]) continue;
      const f1 = (2 * tp) / (tp + fp + positives);
      if (f1 > best) {
        best = f1;
        threshold = pairs[k]![0];
      }
    }
    out[name] = threshold;
  });
  return out;
}
