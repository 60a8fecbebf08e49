import { describe, expect, it } from 'vitest';
import { DataError, createRng, tf } from '@multichexnet/core';
import type { TrainableVariable } from '@multichexnet/model';
import { OptimizerConfigSchema, createOptimizer, learningRateAt, type Optimizer } from '../src/index';

const adamCfg = OptimizerConfigSchema.parse({ type: 'adam', learningRate: 0.1 });

function vars(seed: number): TrainableVariable[] {
  const rng = createRng(seed);
  return [
    { key: 'a/w', variable: tf.variable(tf.tensor1d(Array.from({ length: 4 }, () => rng.normal()))) },
    {
      key: 'b/w',
      variable: tf.variable(
        tf.tensor2d(
          Array.from({ length: 6 }, () => rng.normal()),
          [2, 3],
        ),
      ),
    },
  ];
}

/** Gradients of sum(w^2 * c) for each variable. */
function grads(vs: TrainableVariable[], only?: string): Map<string, tf.Tensor> {
  const m = new Map<string, tf.Tensor>();
  for (const v of vs) if (only === undefined || v.key === only) m.set(v.key, tf.mul(v.variable, 2));
  return m;
}

/** One optimizer step on the gradients of {@link grads} (of the variable `only`, when given), freed after it. */
function step(opt: Optimizer, vs: TrainableVariable[], learningRate: number, only?: string): void {
  const g = grads(vs, only);
  opt.apply(vs, g, learningRate);
  tf.dispose([...g.values()]);
}

describe('createOptimizer (adam)', () => {
  it('follows the Adam update of Kingma and Ba, in float64 up to float32 rounding', () => {
    const vs = vars(1);
    const opt = createOptimizer(adamCfg);
    const w = Array.from(vs[0]!.variable.dataSync(), Number);
    const m = w.map(() => 0);
    const v = w.map(() => 0);
    for (let t = 1; t <= 5; t++) {
      step(opt, vs, 0.1);
      for (let i = 0; i < w.length; i++) {
        const gi = 2 * w[i]!;
        m[i] = 0.9 * m[i]! + 0.1 * gi;
        v[i] = 0.999 * v[i]! + 0.001 * gi * gi;
        const mh = m[i]! / (1 - 0.9 ** t);
        const vh = v[i]! / (1 - 0.999 ** t);
        w[i] = w[i]! - (0.1 * mh) / (Math.sqrt(vh) + 1e-7);
      }
    }
    Array.from(vs[0]!.variable.dataSync()).forEach((x, i) => expect(x).toBeCloseTo(w[i]!, 5));
    opt.dispose();
    tf.dispose(vs.map((x) => x.variable));
  });

  it('matches tf.train.adam when every variable has a gradient', () => {
    const a = vars(2);
    const b = vars(2);
    const ours = createOptimizer(adamCfg);
    const theirs = tf.train.adam(0.1, 0.9, 0.999, 1e-7);
    for (let t = 0; t < 4; t++) {
      step(ours, a, 0.1);
      theirs.minimize(
        () => tf.addN(b.map((x) => tf.sum(tf.square(x.variable)))) as tf.Scalar,
        false,
        b.map((x) => x.variable),
      );
    }
    a.forEach((x, i) =>
      Array.from(x.variable.dataSync()).forEach((y, j) => expect(y).toBeCloseTo(b[i]!.variable.dataSync()[j]!, 5)),
    );
    ours.dispose();
    theirs.dispose();
    tf.dispose([...a, ...b].map((x) => x.variable));
  });

  it('leaves a variable without a gradient and its moments untouched', () => {
    const vs = vars(3);
    const opt = createOptimizer(adamCfg);
    step(opt, vs, 0.1);
    const before = opt.getState();
    const bBefore = Float32Array.from(vs[1]!.variable.dataSync());
    step(opt, vs, 0.1, 'a/w');
    const after = opt.getState();
    expect(Array.from(vs[1]!.variable.dataSync())).toEqual(Array.from(bBefore));
    expect(after.steps).toEqual({ 'a/w': 2, 'b/w': 1 });
    const slot = (s: typeof after, key: string, name: string) =>
      Array.from(s.slots.find((x) => x.key === key && x.slot === name)!.values);
    expect(slot(after, 'b/w', 'm')).toEqual(slot(before, 'b/w', 'm'));
    expect(slot(after, 'a/w', 'm')).not.toEqual(slot(before, 'a/w', 'm'));
    opt.dispose();
    tf.dispose(vs.map((x) => x.variable));
  });

  it('continues exactly from a saved state', () => {
    const a = vars(4);
    const b = vars(4);
    const one = createOptimizer(adamCfg);
    for (let t = 0; t < 6; t++) {
      step(one, a, 0.05);
    }
    const first = createOptimizer(adamCfg);
    for (let t = 0; t < 3; t++) {
      step(first, b, 0.05);
    }
    const state = JSON.parse(
      JSON.stringify({
        ...first.getState(),
        slots: first.getState().slots.map((s) => ({ ...s, values: Array.from(s.values) })),
      }),
    );
    first.dispose();
    const second = createOptimizer(adamCfg);
    second.setState({
      ...state,
      slots: state.slots.map((s: { values: number[] }) => ({ ...s, values: Float32Array.from(s.values) })),
    });
    second.checkAgainst(b);
    for (let t = 0; t < 3; t++) {
      step(second, b, 0.05);
    }
    a.forEach((x, i) => expect(Array.from(x.variable.dataSync())).toEqual(Array.from(b[i]!.variable.dataSync())));
    for (const o of [one, second]) o.dispose();
    tf.dispose([...a, ...b].map((x) => x.variable));
  });

  it('refuses a state of another optimizer or of the wrong shape', () => {
    const opt = createOptimizer(adamCfg);
    expect(() => opt.setState({ type: 'sgd', steps: {}, slots: [] })).toThrow(DataError);
    expect(() =>
      opt.setState({
        type: 'adam',
        steps: {},
        slots: [{ key: 'a/w', slot: 'm', shape: [3], values: new Float32Array(2) }],
      }),
    ).toThrow(/wrong size/);
    opt.setState({
      type: 'adam',
      steps: {},
      slots: [{ key: 'a/w', slot: 'm', shape: [3], values: new Float32Array(3) }],
    });
    const vs = vars(5);
    expect(() => opt.checkAgainst(vs)).toThrow(/does not fit/);
    opt.dispose();
    tf.dispose(vs.map((x) => x.variable));
  });

  it('does not leak tensors per step', () => {
    const vs = vars(6);
    const opt = createOptimizer(adamCfg);
    step(opt, vs, 0.1);
    const n = tf.memory().numTensors;
    step(opt, vs, 0.1);
    expect(tf.memory().numTensors).toBe(n);
    opt.dispose();
    tf.dispose(vs.map((x) => x.variable));
  });
});

describe('createOptimizer (sgd)', () => {
  it('applies momentum as PyTorch does (buffer = g at the first step)', () => {
    const vs = vars(7);
    const opt = createOptimizer(OptimizerConfigSchema.parse({ type: 'sgd', learningRate: 0.1, momentum: 0.5 }));
    const w = Array.from(vs[0]!.variable.dataSync(), Number);
    const buf = w.map(() => 0);
    for (let t = 1; t <= 4; t++) {
      step(opt, vs, 0.1);
      for (let i = 0; i < w.length; i++) {
        const gi = 2 * w[i]!;
        buf[i] = t === 1 ? gi : 0.5 * buf[i]! + gi;
        w[i] = w[i]! - 0.1 * buf[i]!;
      }
    }
    Array.from(vs[0]!.variable.dataSync()).forEach((x, i) => expect(x).toBeCloseTo(w[i]!, 5));
    opt.dispose();
    tf.dispose(vs.map((x) => x.variable));
  });
});

describe('learningRateAt', () => {
  it('constant, step and cosine with warm-up', () => {
    expect(learningRateAt({ type: 'constant' }, 0.1, 50, 100)).toBe(0.1);
    expect(learningRateAt({ type: 'step', stepSize: 10, gamma: 0.5 }, 0.1, 25, 100)).toBeCloseTo(0.025, 12);
    const cos = { type: 'cosine' as const, warmupSteps: 10, minFactor: 0.1 };
    expect(learningRateAt(cos, 1, 0, 110)).toBeCloseTo(0.1, 12);
    expect(learningRateAt(cos, 1, 9, 110)).toBeCloseTo(1, 12);
    expect(learningRateAt(cos, 1, 10, 110)).toBeCloseTo(1, 12);
    expect(learningRateAt(cos, 1, 60, 110)).toBeCloseTo(0.1 + 0.9 * 0.5, 12);
    expect(learningRateAt(cos, 1, 110, 110)).toBeCloseTo(0.1, 12);
  });
});
