import { DataError, tf } from '@multichexnet/core';
import type { TrainableVariable } from '@multichexnet/model';
import type { OptimizerConfig } from './optimizer-config';

/** One state tensor of the optimizer, as plain data. */
export interface OptimizerSlot {
  /** Key of the variable it belongs to. */
  key: string;
  /** `m` / `v` (Adam) or `momentum` (SGD). */
  slot: string;
  shape: number[];
  values: Float32Array;
}

/** Everything an optimizer needs to continue exactly where it stopped. */
export interface OptimizerState {
  type: OptimizerConfig['type'];
  /** Updates applied to each variable (Adam's bias correction counts per variable). */
  steps: Record<string, number>;
  slots: OptimizerSlot[];
}

/**
 * The optimizers of the trainer. State is keyed by stable variable keys, and a variable that received no gradient
 * in a step (its task had no sample in the batch) keeps both its value and its moments, as PyTorch does for a
 * parameter without `.grad`.
 *
 * Hand-written instead of `tf.train.adam`: tfjs optimizers index their moments by the position of each variable
 * in the gradient map of a call, and `tf.variableGrads` leaves out variables without a gradient, so a batch
 * without one task's samples would shift every moment onto the wrong variable; their saved state is also named by
 * process-unique variable names, which a resumed process does not reproduce.
 */
export interface Optimizer {
  readonly config: OptimizerConfig;
  /** One update with `learningRate`; `grads` by variable key, each [...shape of its variable]. */
  apply(vars: readonly TrainableVariable[], grads: ReadonlyMap<string, tf.Tensor>, learningRate: number): void;
  /** A plain copy of the state (for checkpoints). */
  getState(): OptimizerState;
  /** Restores a state written by `getState` (shapes are checked per key). */
  setState(state: OptimizerState): void;
  /** Frees the state tensors. */
  dispose(): void;
}

class OptimizerImpl implements Optimizer {
  private readonly slots = new Map<string, Map<string, tf.Variable>>();
  private steps: Record<string, number> = {};

  constructor(readonly config: OptimizerConfig) {}

  private slotNames(): string[] {
    return this.config.type === 'adam' ? ['m', 'v'] : ['momentum'];
  }

  private slotOf(key: string, name: string, shape: number[]): tf.Variable {
    let byName = this.slots.get(key);
    if (byName === undefined) {
      byName = new Map();
      this.slots.set(key, byName);
    }
    let v = byName.get(name);
    if (v === undefined) {
      v = tf.variable(tf.zeros(shape), false);
      byName.set(name, v);
    }
    return v;
  }

  apply(vars: readonly TrainableVariable[], grads: ReadonlyMap<string, tf.Tensor>, learningRate: number): void {
    const c = this.config;
    for (const { key, variable } of vars) {
      const g = grads.get(key);
      if (g === undefined) continue;
      const t = (this.steps[key] ?? 0) + 1;
      this.steps[key] = t;
      tf.tidy(() => {
        if (c.type === 'adam') {
          const m = this.slotOf(key, 'm', variable.shape);
          const v = this.slotOf(key, 'v', variable.shape);
          const m1 = tf.add(tf.mul(m, c.beta1), tf.mul(g, 1 - c.beta1));
          const v1 = tf.add(tf.mul(v, c.beta2), tf.mul(tf.square(g), 1 - c.beta2));
          m.assign(m1);
          v.assign(v1);
          const mHat = tf.div(m1, 1 - c.beta1 ** t);
          const vHat = tf.div(v1, 1 - c.beta2 ** t);
          let update = tf.div(mHat, tf.add(tf.sqrt(vHat), c.epsilon));
          if (c.weightDecay > 0) update = tf.add(update, tf.mul(variable, c.weightDecay));
          variable.assign(tf.sub(variable, tf.mul(update, learningRate)));
        } else {
          const gradient = c.weightDecay > 0 ? tf.add(g, tf.mul(variable, c.weightDecay)) : g;
          let step = gradient;
          if (c.momentum > 0) {
            const buf = this.slotOf(key, 'momentum', variable.shape);
            // PyTorch's form: buf = momentum * buf + g (the first step stores g itself).
            const b1 = t === 1 ? gradient : tf.add(tf.mul(buf, c.momentum), gradient);
            buf.assign(b1);
            step = c.nesterov ? tf.add(gradient, tf.mul(b1, c.momentum)) : b1;
          }
          variable.assign(tf.sub(variable, tf.mul(step, learningRate)));
        }
      });
    }
  }

  getState(): OptimizerState {
    const slots: OptimizerSlot[] = [];
    for (const [key, byName] of [...this.slots.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
      for (const name of this.slotNames()) {
        const v = byName.get(name);
        if (v !== undefined)
          slots.push({ key, slot: name, shape: v.shape.slice(), values: Float32Array.from(v.dataSync()) });
      }
    }
    return { type: this.config.type, steps: { ...this.steps }, slots };
  }

  setState(state: OptimizerState): void {
    if (state.type !== this.config.type) {
      throw new DataError('Optimizer state belongs to another optimizer', {
        field: 'optimizer.type',
        expected: this.config.type,
        found: state.type,
      });
    }
    this.dispose();
    for (const s of state.slots) {
      const n = s.shape.reduce((a, b) => a * b, 1);
      if (s.values.length !== n) {
        throw new DataError('Optimizer slot has the wrong size', {
          field: `${s.key}/${s.slot}`,
          expected: `${n} values for shape [${s.shape}]`,
          found: `${s.values.length}`,
        });
      }
      let byName = this.slots.get(s.key);
      if (byName === undefined) {
        byName = new Map();
        this.slots.set(s.key, byName);
      }
      byName.set(s.slot, tf.variable(tf.tensor(s.values, s.shape), false));
    }
    this.steps = { ...state.steps };
  }

  /** Checks that every slot fits its variable (after a restore, before the first update). */
  checkAgainst(vars: readonly TrainableVariable[]): void {
    const shapes = new Map(vars.map((v) => [v.key, v.variable.shape.join(',')]));
    for (const [key, byName] of this.slots) {
      const shape = shapes.get(key);
      for (const [name, v] of byName) {
        if (shape !== undefined && shape !== v.shape.join(',')) {
          throw new DataError('Optimizer slot does not fit its variable', {
            field: `${key}/${name}`,
            expected: `[${shape}]`,
            found: `[${v.shape}]`,
          });
        }
      }
    }
  }

  dispose(): void {
    for (const byName of this.slots.values()) for (const v of byName.values()) v.dispose();
    this.slots.clear();
    this.steps = {};
  }
}

/**
 * Creates the optimizer of a phase.
 *
 * @example
 * const opt = createOptimizer({ type: 'adam', learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weightDecay: 0 });
 * opt.apply(vars, gradsByKey, 1e-3);
 */
export function createOptimizer(
  config: OptimizerConfig,
): Optimizer & { checkAgainst(vars: readonly TrainableVariable[]): void } {
  return new OptimizerImpl(config);
}
