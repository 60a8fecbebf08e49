import { DataError } from '@multichexnet/core';

/** Per-class BCE weights, ready to spread into a `createClsHead` config. */
export interface ClassWeights {
  /** [C] weight of the positive term: N- / N (CheXNet's w+). */
  posWeights: number[];
  /** [C] weight of the negative term: N+ / N (CheXNet's w-). */
  negWeights: number[];
}

/**
 * CheXNet's class balancing from a label matrix [N][C] (rows = images): per class, w+ = N-/N and w- = N+/N over the
 * images where that class is annotated, so the rarer outcome weighs more. A label >= 0.5 counts as positive,
 * one in [0, 0.5) as negative, NaN (or negative: not annotated) is skipped; a class annotated nowhere gets 1 and 1.
 * (The ratio w+/w- = N-/N+ is PyTorch's `pos_weight`; pass `negWeights` all 1 for that convention.)
 *
 * @example
 * positiveWeightsFromLabels([[1, 0], [0, 0], [0, NaN], [0, 1]]);   // { posWeights: [0.75, 0.667], negWeights: [0.25, 0.333] }
 */
export function positiveWeightsFromLabels(labels: readonly ArrayLike<number>[]): ClassWeights {
  if (labels.length === 0) {
    throw new DataError('Cannot compute class weights from no labels', {
      field: 'labels',
      expected: 'at least one row',
      found: '0 rows',
    });
  }
  const classes = labels[0]!.length;
  const pos = new Array<number>(classes).fill(0);
  const neg = new Array<number>(classes).fill(0);
  labels.forEach((row, r) => {
    if (row.length !== classes) {
      throw new DataError('Label rows differ in length', {
        row: r + 1,
        field: 'labels',
        expected: `${classes} values`,
        found: `${row.length}`,
      });
    }
    for (let c = 0; c < classes; c++) {
      const y = row[c]!;
      if (!(y >= 0)) continue;
      if (y >= 0.5) pos[c]!++;
      else neg[c]!++;
    }
  });
  const posWeights: number[] = [];
  const negWeights: number[] = [];
  for (let c = 0; c < classes; c++) {
    const n = pos[c]! + neg[c]!;
    posWeights.push(n === 0 ? 1 : neg[c]! / n);
    negWeights.push(n === 0 ? 1 : pos[c]! / n);
  }
  return { posWeights, negWeights };
}
