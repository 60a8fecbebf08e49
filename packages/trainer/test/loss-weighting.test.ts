import { describe, expect, it } from 'vitest';
import { ConfigError, DataError, tf } from '@multichexnet/core';
import { createLossWeighting, createOptimizer, OptimizerConfigSchema } from '../src/index';

const s = (v: number): tf.Scalar => tf.scalar(v);
const value = (t: tf.Scalar): number => {
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
};

describe('equal and fixed weighting', () => {
  it('equal sums the losses present', () => {
    const w = createLossWeighting({ type: 'equal' }, ['cls', 'det', 'seg']);
    expect(value(w.combine({ cls: s(0.5), seg: s(2) }))).toBeCloseTo(2.5, 6);
    expect(w.weights()).toEqual({ cls: 1, det: 1, seg: 1 });
  });

  it('fixed multiplies by the weights (1 for a task without one)', () => {
    const w = createLossWeighting({ type: 'fixed', weights: { det: 0.1, seg: 3 } }, ['cls', 'det', 'seg']);
    expect(value(w.combine({ cls: s(1), det: s(10), seg: s(2) }))).toBeCloseTo(1 + 1 + 6, 6);
  });

  it('refuses an unknown task and an empty step', () => {
    const w = createLossWeighting({ type: 'equal' }, ['cls']);
    expect(() => w.combine({ det: s(1) })).toThrow(DataError);
    expect(() => w.combine({})).toThrow(/No task loss/);
  });

  it('names the field of a bad config', () => {
    expect(() => createLossWeighting({ type: 'fixed', weights: { cls: -1 } }, ['cls'])).toThrow(ConfigError);
    expect(() => createLossWeighting({ type: 'fixed', weights: { cls: -1 } }, ['cls'])).toThrow(
      /weights\.cls: must be >= 0/,
    );
    expect(() => createLossWeighting({ type: 'dwa', temperature: 0 }, ['cls'])).toThrow(/temperature/);
    expect(() => createLossWeighting({ type: 'mgda' } as never, ['cls'])).toThrow(/type/);
    expect(() => createLossWeighting({ type: 'gradnorm', alpha: -1 }, ['cls'])).toThrow(/alpha/);
    expect(() => createLossWeighting({ type: 'pcgrad', seed: 0.5 }, ['cls'])).toThrow(/seed/);
  });
});

describe('uncertainty weighting (Kendall et al.)', () => {
  it('computes sum exp(-s) L + s and its gradient in s matches finite differences', () => {
    const w = createLossWeighting({ type: 'uncertainty', initLogVariance: 0.3 }, ['cls', 'seg']);
    expect(w.variables.map((v) => v.key)).toEqual(['weighting/log_variance/cls', 'weighting/log_variance/seg']);
    const L = { cls: 0.7, seg: 1.9 };
    const total = value(w.combine({ cls: s(L.cls), seg: s(L.seg) }));
    expect(total).toBeCloseTo(Math.exp(-0.3) * 0.7 + 0.3 + Math.exp(-0.3) * 1.9 + 0.3, 5);
    const vars = w.variables.map((v) => v.variable);
    const { grads } = tf.variableGrads(() => w.combine({ cls: s(L.cls), seg: s(L.seg) }), vars);
    const eps = 1e-3;
    const f = (sv: number, l: number): number => Math.exp(-sv) * l + sv;
    for (const [task, l] of Object.entries(L)) {
      const key = w.variables.find((v) => v.key.endsWith(task))!.variable.name;
      const numeric = (f(0.3 + eps, l) - f(0.3 - eps, l)) / (2 * eps);
      expect(grads[key]!.dataSync()[0]).toBeCloseTo(numeric, 3);
    }
    tf.dispose(Object.values(grads));
    w.dispose();
  });

  it('learns s toward log L (the optimum of exp(-s) L + s)', () => {
    const w = createLossWeighting({ type: 'uncertainty' }, ['det']);
    const opt = createOptimizer(OptimizerConfigSchema.parse({ type: 'adam', learningRate: 0.05 }));
    for (let i = 0; i < 400; i++) {
      const { value: v, grads } = tf.variableGrads(
        () => w.combine({ det: s(4) }),
        w.variables.map((x) => x.variable),
      );
      v.dispose();
      opt.apply(w.variables, new Map([[w.variables[0]!.key, grads[w.variables[0]!.variable.name]!]]), 0.05);
      tf.dispose(Object.values(grads));
    }
    expect(w.getState().logVariances!.det).toBeCloseTo(Math.log(4), 1);
    expect(w.weights().det).toBeCloseTo(0.25, 1);
    opt.dispose();
    w.dispose();
  });

  it('restores its log-variances from a state', () => {
    const a = createLossWeighting({ type: 'uncertainty' }, ['cls', 'det']);
    a.variables[1]!.variable.assign(tf.scalar(1.25));
    const b = createLossWeighting({ type: 'uncertainty' }, ['cls', 'det']);
    b.setState(JSON.parse(JSON.stringify(a.getState())));
    expect(b.getState()).toEqual(a.getState());
    expect(() => b.setState({ type: 'dwa' })).toThrow(DataError);
    a.dispose();
    b.dispose();
  });
});

describe('dynamic weight average (Liu et al.)', () => {
  it('keeps weights 1 for two windows, then K softmax(r / T) from the window means', () => {
    const w = createLossWeighting({ type: 'dwa', temperature: 2, window: 2 }, ['cls', 'det', 'seg']);
    // Window 1: means cls 1, det 2, seg 4. Window 2: cls 0.5, det 2, seg 2.
    for (const step of [
      { cls: 1, det: 2, seg: 4 },
      { cls: 1, det: 2, seg: 4 },
    ])
      w.update(step);
    expect(w.weights()).toEqual({ cls: 1, det: 1, seg: 1 });
    for (const step of [
      { cls: 0.25, det: 1, seg: 2 },
      { cls: 0.75, det: 3, seg: 2 },
    ])
      w.update(step);
    const r = [0.5, 1, 0.5];
    const e = r.map((x) => Math.exp(x / 2));
    const sum = e.reduce((a, b) => a + b, 0);
    const expected = e.map((x) => (3 * x) / sum);
    const got = w.weights();
    expect(got.cls).toBeCloseTo(expected[0]!, 12);
    expect(got.det).toBeCloseTo(expected[1]!, 12);
    expect(got.seg).toBeCloseTo(expected[2]!, 12);
    expect(value(w.combine({ cls: s(1), det: s(1) }))).toBeCloseTo(expected[0]! + expected[1]!, 5);
  });

  it('gives a task missing from a window the neutral ratio, and resumes from its state', () => {
    const w = createLossWeighting({ type: 'dwa', temperature: 1, window: 1 }, ['cls', 'seg']);
    w.update({ cls: 1 });
    w.update({ cls: 2, seg: 5 });
    const e = [Math.exp(2), Math.exp(1)];
    expect(w.weights().cls).toBeCloseTo((2 * e[0]!) / (e[0]! + e[1]!), 12);
    const copy = createLossWeighting({ type: 'dwa', temperature: 1, window: 1 }, ['cls', 'seg']);
    copy.setState(JSON.parse(JSON.stringify(w.getState())));
    w.update({ cls: 1, seg: 1 });
    copy.update({ cls: 1, seg: 1 });
    expect(copy.weights()).toEqual(w.weights());
  });
});
