import { DataError, tf } from '@multichexnet/core';
import type { LossTask, LossWeightingConfig } from './loss-weighting';

/**
 * The losses present in a step, as [task, loss] pairs; a DataError for a task outside `tasks` or for no loss at all.
 */
export function present(
  losses: Partial<Record<LossTask, tf.Scalar>>,
  tasks: readonly LossTask[],
): [LossTask, tf.Scalar][] {
  const out: [LossTask, tf.Scalar][] = [];
  for (const t of Object.keys(losses) as LossTask[]) {
    if (!tasks.includes(t)) {
      throw new DataError('Loss of a task the weighting does not know', {
        field: `losses.${t}`,
        expected: `one of ${tasks.join(', ')}`,
        found: t,
      });
    }
    const l = losses[t];
    if (l !== undefined) out.push([t, l]);
  }
  if (out.length === 0)
    throw new DataError('No task loss to combine', {
      field: 'losses',
      expected: 'at least one task loss',
      found: 'none',
    });
  return out;
}

/** Sum of scalars (a copy of a single one, so the caller always owns a new tensor). */
export function sumOf(terms: tf.Scalar[]): tf.Scalar {
  return (terms.length === 1 ? tf.clone(terms[0]!) : tf.addN(terms)) as tf.Scalar;
}

/** The DataError of a state written by another kind of weighting. */
export function otherStateError(expected: LossWeightingConfig['type'], found: string): DataError {
  return new DataError('Loss weighting state of another type', { field: 'lossWeighting.type', expected, found });
}
