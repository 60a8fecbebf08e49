import { DataError } from '@multichexnet/core';

/**
 * The (label, score) pairs of one class with an annotated label: NaN labels are dropped (not annotated),
 * other labels must be 0 or 1 and scores finite; anything else is a DataError naming the index.
 */
export function annotatedPairs(yTrue: ArrayLike<number>, yScore: ArrayLike<number>, what: string): { y: Uint8Array; s: Float64Array } {
  if (yTrue.length !== yScore.length) {
    throw new DataError(`${what}: labels and scores differ in length`, { field: 'yScore', expected: `${yTrue.length} scores`, found: `${yScore.length}` });
  }
  const y: number[] = [];
  const s: number[] = [];
  for (let i = 0; i < yTrue.length; i++) {
    const label = yTrue[i]!;
    if (Number.isNaN(label)) continue;
    if (label !== 0 && label !== 1) {
      throw new DataError(`${what}: labels must be 0, 1 or NaN`, { row: i + 1, field: 'yTrue', expected: '0, 1 or NaN', found: String(label) });
    }
    const score = yScore[i]!;
    if (!Number.isFinite(score)) {
      throw new DataError(`${what}: scores must be finite`, { row: i + 1, field: 'yScore', expected: 'a finite number', found: String(score) });
    }
    y.push(label);
    s.push(score);
  }
  return { y: Uint8Array.from(y), s: Float64Array.from(s) };
}

/** Checks that two matrices [N][C] have the same shape; returns C. */
export function matrixShape(yTrue: readonly ArrayLike<number>[], yScore: readonly ArrayLike<number>[], what: string): number {
  if (yTrue.length !== yScore.length) {
    throw new DataError(`${what}: label and score matrices differ in rows`, { field: 'yScore', expected: `${yTrue.length} rows`, found: `${yScore.length}` });
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
    throw new DataError(`${what}: one class name per column`, { field: 'classes', expected: `${count} names`, found: `${classes.length}` });
  }
  return [...classes];
}

/** Column c of a matrix [N][C]. */
export function column(m: readonly ArrayLike<number>[], c: number): Float64Array {
  return Float64Array.from(m, (row) => row[c]!);
}
