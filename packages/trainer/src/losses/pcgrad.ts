import { createRng, deriveSeed, tf } from '@multichexnet/core';
import type { GradientMap, GradientWeighting, LossTask, LossWeightingConfig, TaskGradients } from './loss-weighting';
import { otherStateError, present, sumOf } from './weighting-helpers';

/**
 * Gradient surgery of PCGrad (Yu et al. 2020) on flattened per-task gradients g_i [N] of the shared weights: for
 * each task i, its gradient is projected, one other task j at a time in `orderOf(i)`, onto the normal plane of the
 * original g_j whenever the two conflict (g_i^PC . g_j < 0): g_i^PC -= (g_i^PC . g_j / |g_j|^2) g_j. Gradients that
 * conflict with no other pass unchanged. Returns the projected g_i^PC [N] (new tensors, the caller's).
 *
 * @example
 * const [a, b] = projectConflicting([tf.tensor1d([1, 0]), tf.tensor1d([-1, 1])], (i) => [1 - i]);
 * // a = [0.5, 0.5] (a . [-1, 1] = 0), b = [0, 1] (b . [1, 0] = 0)
 */
export function projectConflicting(
  gradients: readonly tf.Tensor1D[],
  orderOf: (task: number) => readonly number[],
): tf.Tensor1D[] {
  const squaredNorms = gradients.map((g) => tf.tidy(() => tf.sum(tf.square(g)).dataSync()[0]!));
  return gradients.map((g, i) => {
    let projected: tf.Tensor1D = tf.clone(g);
    for (const j of orderOf(i)) {
      const other = gradients[j]!;
      // The sign decides a branch, so the dot product is read back; K (K - 1) scalars per step.
      const dot = tf.tidy(() => tf.sum(tf.mul(projected, other)).dataSync()[0]!);
      if (!(dot < 0) || !(squaredNorms[j]! > 0)) continue;
      const next = tf.tidy(() => tf.sub(projected, tf.mul(other, dot / squaredNorms[j]!)) as tf.Tensor1D);
      projected.dispose();
      projected = next;
    }
    return projected;
  });
}

/** PCGrad on the shared weights, the plain sum on the rest; the order of the others is drawn per (seed, step). */
export function pcgradWeighting(
  cfg: Extract<LossWeightingConfig, { type: 'pcgrad' }>,
  tasks: readonly LossTask[],
  seed: number,
): GradientWeighting {
  return {
    config: cfg,
    tasks,
    needsTaskGradients: true,
    variables: [],
    combine: (losses) => tf.tidy(() => sumOf(present(losses, tasks).map(([, l]) => l))),
    combineGradients: (g) => combinePcgrad(g, seed),
    weights: () => Object.fromEntries(tasks.map((t) => [t, 1])),
    update: () => {},
    // Nothing to keep: the order is a pure function of (seed, step), so a resumed run draws the same orders.
    getState: () => ({ type: 'pcgrad' }),
    setState: (s) => {
      if (s.type !== 'pcgrad') throw otherStateError('pcgrad', s.type);
    },
    dispose: () => {},
  };
}

function combinePcgrad(g: TaskGradients, seed: number): GradientMap {
  const entries = (Object.entries(g.byTask) as [LossTask, GradientMap][]).filter(([, m]) => m !== undefined);
  const maps = entries.map(([, m]) => m);
  const out: GradientMap = new Map();
  // Task-specific weights (a head's): only their own task reaches them, the sum is that task's gradient.
  const keys = [...new Set(maps.flatMap((m) => [...m.keys()]))];
  for (const key of keys.filter((k) => !g.shared.has(k)))
    out.set(
      key,
      tf.tidy(() => sumAll(maps.flatMap((m) => (m.has(key) ? [m.get(key)!] : [])))),
    );
  // Shared weights: one flat vector per task (zeros where a task does not reach a weight), the surgery, the sum.
  const shared = keys.filter((k) => g.shared.has(k));
  if (shared.length === 0) return out;
  const shapes = shared.map((k) => maps.find((m) => m.has(k))!.get(k)!.shape);
  const flat = maps.map((m) =>
    tf.tidy(
      () =>
        tf.concat(
          shared.map((k, i) => (m.has(k) ? tf.reshape(m.get(k)!, [-1]) : tf.zeros([sizeOf(shapes[i]!)]))),
          0,
        ) as tf.Tensor1D,
    ),
  );
  const rng = createRng(deriveSeed(seed, `pcgrad/step/${g.step}`));
  const orders = maps.map((_, i) => rng.shuffle(maps.map((__, j) => j).filter((j) => j !== i)));
  const projected = projectConflicting(flat, (i) => orders[i]!);
  const parts = tf.tidy(() => {
    const total = sumAll(projected);
    return tf.split(total, shapes.map(sizeOf)).map((part, i) => tf.reshape(part, shapes[i]!));
  });
  shared.forEach((k, i) => out.set(k, parts[i]!));
  tf.dispose([...flat, ...projected]);
  return out;
}

function sumAll(ts: tf.Tensor[]): tf.Tensor {
  return ts.length === 1 ? tf.clone(ts[0]!) : tf.addN(ts);
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
