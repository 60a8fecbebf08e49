import { DataError, tf } from '@multichexnet/core';
import type { TrainableVariable } from '@multichexnet/model';
import type { Optimizer } from '@multichexnet/trainer';

/**
 * Wraps a trainer optimizer so each variable learns at `learningRate * multiplierOf(key)`: discriminative
 * fine-tuning, where transferred parameters move more slowly than a new decoder. The wrapped optimizer's state is
 * keyed per variable, so updating groups of variables in separate calls is the same as one call per group's rate;
 * state, checkpoints and the trainer's `trainStep` work unchanged (pass the wrapper as `optimizer`).
 *
 * @example
 * const opt = scaleLearningRates(createOptimizer(adam), (key) => (key.startsWith('encoder/') ? 0.1 : 1));
 * opt.apply(vars, grads, 1e-3);   // encoder at 1e-4, the rest at 1e-3
 */
export function scaleLearningRates(optimizer: Optimizer, multiplierOf: (key: string) => number): Optimizer {
  const cache = new Map<string, number>();
  const multiplier = (key: string): number => {
    let m = cache.get(key);
    if (m === undefined) {
      m = multiplierOf(key);
      if (!(m >= 0) || !Number.isFinite(m)) {
        throw new DataError('Learning-rate multiplier must be a finite number >= 0', {
          field: key,
          expected: 'a finite number >= 0',
          found: String(m),
        });
      }
      cache.set(key, m);
    }
    return m;
  };
  return {
    get config() {
      return optimizer.config;
    },
    apply(vars: readonly TrainableVariable[], grads: ReadonlyMap<string, tf.Tensor>, learningRate: number): void {
      const groups = new Map<number, TrainableVariable[]>();
      for (const v of vars) {
        const m = multiplier(v.key);
        // A multiplier of 0 freezes the variable without touching its optimizer state.
        if (m === 0) continue;
        const g = groups.get(m) ?? [];
        g.push(v);
        groups.set(m, g);
      }
      for (const [m, group] of groups) optimizer.apply(group, grads, learningRate * m);
    },
    getState: () => optimizer.getState(),
    setState: (state) => optimizer.setState(state),
    dispose: () => optimizer.dispose(),
  };
}
