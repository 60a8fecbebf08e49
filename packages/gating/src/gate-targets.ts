import { DataError } from '@multichexnet/core';

/**
 * Gate labels [N] from class labels: 1 when any gate class is 1, 0 when at least one gate class is annotated and
 * none is 1, NaN when no gate class is annotated (the sample has no gate label).
 *
 * `labels[i]` is sample i's label vector over `classNames` (NaN = not annotated); `classes` are the gate classes.
 *
 * @example
 * gateTargets([[1, NaN], [0, NaN], [NaN, NaN]], ['Pneumonia', 'Pneumothorax'], ['Pneumonia', 'Pneumothorax']);
 * // Float32Array [1, 0, NaN]
 */
export function gateTargets(
  labels: readonly ArrayLike<number>[],
  classNames: readonly string[],
  classes: readonly string[],
): Float32Array {
  const idx = classes.map((c) => {
    const i = classNames.indexOf(c);
    if (i < 0)
      throw new DataError('Gate class is not among the label classes', {
        field: 'classes',
        expected: `one of ${classNames.join(', ')}`,
        found: c,
      });
    return i;
  });
  return Float32Array.from(labels, (row) => {
    let known = false;
    for (const i of idx) {
      const v = row[i]!;
      if (v === 1) return 1;
      if (!Number.isNaN(v)) known = true;
    }
    return known ? 0 : Number.NaN;
  });
}
