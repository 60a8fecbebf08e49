import { DataError, parseConfig, tf, z } from '@multichexnet/core';
import type { TrainableVariable } from '@multichexnet/model';
import { gradNormWeighting } from './gradnorm';
import { pcgradWeighting } from './pcgrad';
import { otherStateError, present, sumOf } from './weighting-helpers';

/**
 * A loss the trainer combines: a task of the model's table (`cls`, `det`, `seg`, ...) or `gate` (a binary-head gate).
 */
export type LossTask = string;

const weightsRecord = z.record(z.string().min(1), z.number().min(0));

/**
 * How the task losses of a step become one scalar.
 *
 * - `equal`: the plain sum (the paper).
 * - `fixed`: sum of `weights[task] x loss` (a task without a weight gets 1).
 * - `uncertainty` (Kendall, Gal and Cipolla 2018): a learnable s_t = log sigma_t^2 per task,
 *   total = sum_t exp(-s_t) L_t + s_t; the s_t train with the network.
 * - `dwa`, dynamic weight average (Liu, Johns and Davison 2019): lambda_t = K exp(r_t / T) / sum_i exp(r_i / T),
 *   r_t = mean loss of the last window / mean loss of the window before (windows of `window` steps stand in for
 *   the paper's epochs); lambda = 1 for the first two windows.
 * - `gradnorm` (Chen et al. 2018): learnable weights w_t, trained so that the gradient norms G_t = ||grad_W w_t L_t||
 *   of the shared weights W move toward mean(G) r_t^alpha, r_t = (L_t / L_t(0)) / mean_i (L_i / L_i(0)) the
 *   relative inverse training rate; the loss |G_t - target_t| (target held constant) is minimised over w by Adam
 *   with `learningRate`; after each update the weights are renormalised to sum to the task count. Needs per-task
 *   gradients (see {@link GradientWeighting}).
 * - `pcgrad`, projecting conflicting gradients (Yu et al. 2020): per-task gradients of the shared weights; for each
 *   task, in a seeded random order of the others, the component that conflicts with another task's gradient
 *   (negative dot product) is projected out; the projected gradients are summed. Other weights get the plain sum.
 *   Needs per-task gradients.
 */
export const LossWeightingConfigSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('equal') }).strict(),
  z.object({ type: z.literal('fixed'), weights: weightsRecord.default({}) }).strict(),
  z.object({ type: z.literal('uncertainty'), initLogVariance: z.number().default(0) }).strict(),
  z
    .object({
      type: z.literal('dwa'),
      temperature: z.number().positive().default(2),
      window: z.number().int().positive().default(10),
    })
    .strict(),
  z
    .object({
      type: z.literal('gradnorm'),
      alpha: z.number().min(0).default(1.5),
      learningRate: z.number().positive().default(0.025),
    })
    .strict(),
  // No seed by default: the trainer derives one from the plan's seed and the phase name.
  z.object({ type: z.literal('pcgrad'), seed: z.number().int().optional() }).strict(),
]);
/** What a plan writes. */
export type LossWeightingConfigInput = z.input<typeof LossWeightingConfigSchema>;
/** The resolved loss-weighting config. */
export type LossWeightingConfig = z.output<typeof LossWeightingConfigSchema>;

/** The resumable state of a loss weighting: plain JSON (the uncertainty log-variances included). */
export interface LossWeightingState {
  type: LossWeightingConfig['type'];
  /** uncertainty: s_t per task. */
  logVariances?: Record<string, number>;
  /** dwa: per-task sums and counts of the current window, and the means of the last two windows. */
  dwa?: {
    sums: Record<string, number>;
    counts: Record<string, number>;
    steps: number;
    previous: Record<string, number>[];
    weights: Record<string, number>;
  };
  /** gradnorm: the weights, each task's first loss L_t(0), and the Adam moments and step count of the weights. */
  gradnorm?: {
    weights: Record<string, number>;
    initialLosses: Record<string, number>;
    m: Record<string, number>;
    v: Record<string, number>;
    steps: number;
  };
}

/** Gradients by variable key, each [...shape of its variable]. */
export type GradientMap = Map<string, tf.Tensor>;

/** The per-task gradients of one optimizer step, what a {@link GradientWeighting} combines. */
export interface TaskGradients {
  /**
   * The gradient of each present task's own (unweighted) loss, by variable key; a variable the loss does not reach
   * is absent. With gradient accumulation, the mean over the micro-batches.
   */
  byTask: Partial<Record<LossTask, GradientMap>>;
  /** The plain loss values of the step (the same tasks). */
  losses: Partial<Record<LossTask, number>>;
  /** Keys of the shared variables (the encoder's), where the tasks' gradients meet. */
  shared: ReadonlySet<string>;
  /** 0-based step inside the phase. */
  step: number;
}

/** What every loss weighting offers. */
interface WeightingBase {
  readonly config: LossWeightingConfig;
  /** The tasks weighted (a phase's tasks). */
  readonly tasks: readonly LossTask[];
  /** Learnable variables of the weighting (uncertainty's s_t; empty otherwise), trained with the model. */
  readonly variables: TrainableVariable[];
  /**
   * Differentiable scalar of the losses present in this step (a task without samples is left out): what the
   * optimizer minimises for a {@link LossCombining} weighting, the logged total for a {@link GradientWeighting}.
   */
  combine(losses: Partial<Record<LossTask, tf.Scalar>>): tf.Scalar;
  /** The effective weight of each task now (for logs). */
  weights(): Record<string, number>;
  /** Records the plain loss values of a finished, applied step (DWA's windows, GradNorm's weight update). */
  update(values: Partial<Record<LossTask, number>>): void;
  getState(): LossWeightingState;
  setState(state: LossWeightingState): void;
  dispose(): void;
}

/**
 * A weighting whose step gradient is the gradient of `combine(losses)`: one backward pass (equal, fixed, uncertainty,
 * dwa).
 */
export interface LossCombining extends WeightingBase {
  readonly needsTaskGradients: false;
}

/**
 * A weighting that forms the step gradient itself from each task's gradient (gradnorm, pcgrad). The train step
 * then runs one forward and backward pass per task loss (BatchNorm statistics move once per step, as with one pass)
 * and calls `combineGradients` once per applied optimizer step.
 */
export interface GradientWeighting extends WeightingBase {
  readonly needsTaskGradients: true;
  /** The step gradient, by variable key: new tensors the caller disposes; the inputs stay the caller's. */
  combineGradients(grads: TaskGradients): GradientMap;
}

/** Turns the per-task losses (or per-task gradients) of a step into what the optimizer applies. */
export type LossWeighting = LossCombining | GradientWeighting;

/** Options of {@link createLossWeighting}. */
export interface LossWeightingOptions {
  /** Seed of the weighting's random choices (PCGrad's order) when its config names none. Default 0. */
  seed?: number;
}

/**
 * Creates a loss weighting for the given tasks (validated once; a ConfigError names the field).
 *
 * @example
 * const w = createLossWeighting({ type: 'uncertainty' }, ['cls', 'det', 'seg']);
 * const total = w.combine({ cls: lc, seg: ls });   // det had no sample in this batch
 */
export function createLossWeighting(
  config: LossWeightingConfigInput,
  tasks: readonly LossTask[],
  options: LossWeightingOptions = {},
): LossWeighting {
  const cfg = parseConfig(LossWeightingConfigSchema, config, 'loss weighting config');
  if (tasks.length === 0)
    throw new DataError('A loss weighting needs at least one task', {
      field: 'tasks',
      expected: 'a non-empty list',
      found: '[]',
    });
  switch (cfg.type) {
    case 'equal':
    case 'fixed':
      return staticWeighting(cfg, tasks);
    case 'uncertainty':
      return uncertaintyWeighting(cfg, tasks);
    case 'dwa':
      return dwaWeighting(cfg, tasks);
    case 'gradnorm':
      return gradNormWeighting(cfg, tasks);
    case 'pcgrad':
      return pcgradWeighting(cfg, tasks, cfg.seed ?? options.seed ?? 0);
  }
}

function staticWeighting(
  cfg: Extract<LossWeightingConfig, { type: 'equal' | 'fixed' }>,
  tasks: readonly LossTask[],
): LossWeighting {
  const w = (t: LossTask): number => (cfg.type === 'fixed' ? (cfg.weights[t] ?? 1) : 1);
  return {
    config: cfg,
    tasks,
    needsTaskGradients: false,
    variables: [],
    combine: (losses) =>
      tf.tidy(() => sumOf(present(losses, tasks).map(([t, l]) => (w(t) === 1 ? l : (tf.mul(l, w(t)) as tf.Scalar))))),
    weights: () => Object.fromEntries(tasks.map((t) => [t, w(t)])),
    update: () => {},
    getState: () => ({ type: cfg.type }),
    setState: (s) => {
      if (s.type !== cfg.type) throw otherStateError(cfg.type, s.type);
    },
    dispose: () => {},
  };
}

function uncertaintyWeighting(
  cfg: Extract<LossWeightingConfig, { type: 'uncertainty' }>,
  tasks: readonly LossTask[],
): LossWeighting {
  const vars = new Map<LossTask, tf.Variable>(tasks.map((t) => [t, tf.variable(tf.scalar(cfg.initLogVariance), true)]));
  return {
    config: cfg,
    tasks,
    needsTaskGradients: false,
    variables: tasks.map((t) => ({ key: `weighting/log_variance/${t}`, variable: vars.get(t)! })),
    combine: (losses) =>
      tf.tidy(() =>
        sumOf(
          present(losses, tasks).map(([t, l]) => {
            const s = vars.get(t)!;
            return tf.add(tf.mul(tf.exp(tf.neg(s)), l), s) as tf.Scalar;
          }),
        ),
      ),
    weights: () => Object.fromEntries(tasks.map((t) => [t, Math.exp(-vars.get(t)!.dataSync()[0]!)])),
    update: () => {},
    getState: () => ({
      type: 'uncertainty',
      logVariances: Object.fromEntries(tasks.map((t) => [t, vars.get(t)!.dataSync()[0]!])),
    }),
    setState: (s) => {
      if (s.type !== 'uncertainty' || s.logVariances === undefined) {
        throw otherStateError('uncertainty', s.type);
      }
      for (const t of tasks) {
        const v = s.logVariances[t];
        if (v === undefined)
          throw new DataError('Loss weighting state lacks a task', {
            field: `logVariances.${t}`,
            expected: 'a number',
            found: 'missing',
          });
        vars.get(t)!.assign(tf.scalar(v));
      }
    },
    dispose: () => {
      for (const v of vars.values()) v.dispose();
    },
  };
}

function dwaWeighting(cfg: Extract<LossWeightingConfig, { type: 'dwa' }>, tasks: readonly LossTask[]): LossWeighting {
  const ones = (): Record<string, number> => Object.fromEntries(tasks.map((t) => [t, 1]));
  let state: NonNullable<LossWeightingState['dwa']> = { sums: {}, counts: {}, steps: 0, previous: [], weights: ones() };
  const recompute = (): void => {
    const [older, last] = state.previous.length >= 2 ? state.previous.slice(-2) : [undefined, undefined];
    if (older === undefined || last === undefined) {
      state.weights = ones();
      return;
    }
    // A task absent from either window keeps the neutral ratio 1.
    const r = tasks.map((t) =>
      older[t] !== undefined && last[t] !== undefined && older[t]! > 0 ? last[t]! / older[t]! : 1,
    );
    const e = r.map((x) => Math.exp(x / cfg.temperature));
    const total = e.reduce((a, b) => a + b, 0);
    state.weights = Object.fromEntries(tasks.map((t, i) => [t, (tasks.length * e[i]!) / total]));
  };
  return {
    config: cfg,
    tasks,
    needsTaskGradients: false,
    variables: [],
    combine: (losses) =>
      tf.tidy(() => sumOf(present(losses, tasks).map(([t, l]) => tf.mul(l, state.weights[t] ?? 1) as tf.Scalar))),
    weights: () => ({ ...state.weights }),
    update: (values) => {
      for (const [t, v] of Object.entries(values)) {
        if (v === undefined || !Number.isFinite(v)) continue;
        state.sums[t] = (state.sums[t] ?? 0) + v;
        state.counts[t] = (state.counts[t] ?? 0) + 1;
      }
      state.steps++;
      if (state.steps % cfg.window === 0) {
        const means: Record<string, number> = {};
        for (const t of tasks) if ((state.counts[t] ?? 0) > 0) means[t] = state.sums[t]! / state.counts[t]!;
        state.previous = [...state.previous, means].slice(-2);
        state.sums = {};
        state.counts = {};
        recompute();
      }
    },
    getState: () => ({ type: 'dwa', dwa: JSON.parse(JSON.stringify(state)) as NonNullable<LossWeightingState['dwa']> }),
    setState: (s) => {
      if (s.type !== 'dwa' || s.dwa === undefined) throw otherStateError('dwa', s.type);
      state = JSON.parse(JSON.stringify(s.dwa)) as NonNullable<LossWeightingState['dwa']>;
    },
    dispose: () => {},
  };
}
