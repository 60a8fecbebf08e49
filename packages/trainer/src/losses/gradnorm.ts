import { DataError, tf } from '@multichexnet/core';
import type {
  GradientMap,
  GradientWeighting,
  LossTask,
  LossWeightingConfig,
  LossWeightingState,
} from './loss-weighting';
import { otherStateError, present, sumOf } from './weighting-helpers';

type GradNormState = NonNullable<LossWeightingState['gradnorm']>;

/** Adam's constants for the task weights (Kingma and Ba's defaults). */
const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-8;
/** A weight never falls below this before renormalisation: a task is down-weighted, never switched off. */
const MIN_WEIGHT = 1e-4;

/**
 * One GradNorm update of the task weights from the gradient norms n_t = ||grad_W L_t|| of the shared weights W and
 * the losses L_t of a step, for the tasks present. G_t = w_t n_t; target_t = mean(G) r_t^alpha with
 * r_t = (L_t / L_t(0)) / mean_i (L_i / L_i(0)); the gradient of sum_t |G_t - target_t| in w_t with the targets held
 * constant is sign(G_t - target_t) n_t; Adam applies it; then every weight is renormalised so the weights sum to the
 * task count. Pure: returns the next state.
 *
 * Where the paper takes the last shared layer as W, W here is every shared (encoder) weight: the heads read
 * different encoder levels (CheXCls the deepest, CheXSeg all four), so no single last layer is shared by all.
 */
export function gradNormStep(
  state: GradNormState,
  norms: Partial<Record<LossTask, number>>,
  losses: Partial<Record<LossTask, number>>,
  options: { alpha: number; learningRate: number; tasks: readonly LossTask[] },
): GradNormState {
  const next: GradNormState = JSON.parse(JSON.stringify(state)) as GradNormState;
  const active = options.tasks.filter((t) => {
    const n = norms[t];
    const l = losses[t];
    return n !== undefined && l !== undefined && Number.isFinite(n) && Number.isFinite(l) && n > 0 && l > 0;
  });
  for (const t of active) next.initialLosses[t] ??= losses[t]!;
  if (active.length < 2) return next; // one task alone has nothing to balance against
  const G = active.map((t) => next.weights[t]! * norms[t]!);
  const meanG = G.reduce((a, b) => a + b, 0) / G.length;
  const ratio = active.map((t) => losses[t]! / next.initialLosses[t]!);
  const meanRatio = ratio.reduce((a, b) => a + b, 0) / ratio.length;
  next.steps += 1;
  active.forEach((t, i) => {
    const target = meanG * (ratio[i]! / meanRatio) ** options.alpha;
    const grad = Math.sign(G[i]! - target) * norms[t]!;
    const m = BETA1 * (next.m[t] ?? 0) + (1 - BETA1) * grad;
    const v = BETA2 * (next.v[t] ?? 0) + (1 - BETA2) * grad * grad;
    next.m[t] = m;
    next.v[t] = v;
    const mHat = m / (1 - BETA1 ** next.steps);
    const vHat = v / (1 - BETA2 ** next.steps);
    next.weights[t] = Math.max(
      MIN_WEIGHT,
      next.weights[t]! - (options.learningRate * mHat) / (Math.sqrt(vHat) + EPSILON),
    );
  });
  const total = options.tasks.reduce((s, t) => s + next.weights[t]!, 0);
  for (const t of options.tasks) next.weights[t] = (options.tasks.length * next.weights[t]!) / total;
  return next;
}

/** Sum of the squares of every entry of `ts` (0 for none). */
function squaredNorm(ts: tf.Tensor[]): number {
  if (ts.length === 0) return 0;
  const total = tf.tidy(() => tf.addN(ts.map((t) => tf.sum(tf.square(t)))));
  const v = total.dataSync()[0]!;
  total.dispose();
  return v;
}

/** GradNorm: the step gradient is sum_t w_t grad L_t; the weights move after each applied step (`update`). */
export function gradNormWeighting(
  cfg: Extract<LossWeightingConfig, { type: 'gradnorm' }>,
  tasks: readonly LossTask[],
): GradientWeighting {
  let state: GradNormState = {
    weights: Object.fromEntries(tasks.map((t) => [t, 1])),
    initialLosses: {},
    m: {},
    v: {},
    steps: 0,
  };
  // Norms of the step whose gradient was combined last, consumed by the update that follows it.
  let pending: { norms: Partial<Record<LossTask, number>> } | null = null;
  return {
    config: cfg,
    tasks,
    needsTaskGradients: true,
    variables: [],
    combine: (losses) =>
      tf.tidy(() => sumOf(present(losses, tasks).map(([t, l]) => tf.mul(l, state.weights[t]!) as tf.Scalar))),
    combineGradients: (g) => {
      const norms: Partial<Record<LossTask, number>> = {};
      const out: GradientMap = new Map();
      const byKey = new Map<string, tf.Tensor[]>();
      for (const [t, m] of Object.entries(g.byTask) as [LossTask, GradientMap][]) {
        if (m === undefined) continue;
        if (!tasks.includes(t))
          throw new DataError('Gradient of a task the weighting does not know', {
            field: `byTask.${t}`,
            expected: `one of ${tasks.join(', ')}`,
            found: t,
          });
        norms[t] = Math.sqrt(squaredNorm([...m].filter(([k]) => g.shared.has(k)).map(([, v]) => v)));
        for (const [k, v] of m) byKey.set(k, [...(byKey.get(k) ?? []), tf.mul(v, state.weights[t]!)]);
      }
      for (const [k, terms] of byKey) {
        out.set(k, terms.length === 1 ? terms[0]! : tf.addN(terms));
        if (terms.length > 1) tf.dispose(terms);
      }
      pending = { norms };
      return out;
    },
    weights: () => ({ ...state.weights }),
    update: (values) => {
      if (pending === null) return;
      state = gradNormStep(state, pending.norms, values, { alpha: cfg.alpha, learningRate: cfg.learningRate, tasks });
      pending = null;
    },
    getState: () => ({ type: 'gradnorm', gradnorm: JSON.parse(JSON.stringify(state)) as GradNormState }),
    setState: (s) => {
      if (s.type !== 'gradnorm' || s.gradnorm === undefined) throw otherStateError('gradnorm', s.type);
      for (const t of tasks) {
        if (typeof s.gradnorm.weights[t] !== 'number') {
          throw new DataError('GradNorm state lacks a task weight', {
            field: `gradnorm.weights.${t}`,
            expected: 'a number',
            found: String(s.gradnorm.weights[t]),
          });
        }
      }
      state = JSON.parse(JSON.stringify(s.gradnorm)) as GradNormState;
      pending = null;
    },
    dispose: () => {},
  };
}
