import { DataError } from '@multichexnet/core';

/** Checks that two matrices [N][C] have the same shape; returns C. */
export function matrixShape(
  yTrue: readonly ArrayLike<number>[],
  yScore: readonly ArrayLike<number>[],
  what: string,
): number {
  if (yTrue.length !== yScore.length) {
    throw new DataError(`${what}: label and score matrices differ in rows`, {
      field: 'yScore',
      expected: `${yTrue.length} rows`,
      found: `${yScore.length}`,
    });
  }
  const classes = yTrue[0]?.length ?? 0;
  for (let i = 0; i < yTrue.length; i++) {
    if (yTrue[i]!.length !== classes || yScore[i]!.length !== classes) {
      throw new DataError(`${what}: every row must hold one value per class`, {
        row: i + 1,
        expected: `${classes} labels and ${classes} scores`,
        found: `${yTrue[i]!.length} labels and ${yScore[i]!.length} scores`,
      });
    }
  }
  return classes;
}

/** Names of C classes: the given ones (length checked) or "0".."C-1". */
export function classNames(classes: readonly string[] | undefined, count: number, what: string): string[] {
  if (classes === undefined) return Array.from({ length: count }, (_, i) => String(i));
  if (classes.length !== count) {
    throw new DataError(`${what}: one class name per column`, {
      field: 'classes',
      expected: `${count} names`,
      found: `${classes.length}`,
    });
  }
  return [...classes];
}

/** Column c of a matrix [N][C]. */
export function column(m: readonly ArrayLike<number>[], c: number): Float64Array {
  return Float64Array.from(m, (row) => row[c]!);
}
