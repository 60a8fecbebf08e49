import { describe, expect, it } from 'vitest';
import { DataError, createRng, tf, type Rng } from '@multichexnet/core';
import {
  createLossWeighting,
  type GradientMap,
  type GradientWeighting,
  type LossTask,
  type TaskGradients,
} from '../src/index';
import { projectConflicting } from '../src/losses/pcgrad';
import { gradNormStep } from '../src/losses/gradnorm';

const vec = (values: number[]): tf.Tensor1D => tf.tensor1d(values);
const values = (t: tf.Tensor): number[] => Array.from(t.dataSync());
const dot = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + v * b[i]!, 0);

function gradientWeighting(
  config: Parameters<typeof createLossWeighting>[0],
  tasks: LossTask[],
  seed = 0,
): GradientWeighting {
  const w = createLossWeighting(config, tasks, { seed });
  if (!w.needsTaskGradients) throw new Error(`${config.type} should need task gradients`);
  return w;
}

function randomVector(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => rng.normal());
}

/** PCGrad written out in float64 from the paper's definition, for one task order. */
function pcgradReference(g: number[][], orderOf: (i: number) => number[]): number[][] {
  return g.map((gi, i) => {
    let p = [...gi];
    for (const j of orderOf(i)) {
      const d = dot(p, g[j]!);
      const n = dot(g[j]!, g[j]!);
      if (d < 0 && n > 0) p = p.map((v, k) => v - (d / n) * g[j]![k]!);
    }
    return p;
  });
}

describe('PCGrad: projecting conflicting gradients', () => {
  it('removes the conflicting component: each projected gradient is orthogonal to the other conflicting one', () => {
    const rng = createRng('pcgrad-conflict');
    let conflicts = 0;
    for (let trial = 0; trial < 20; trial++) {
      const a = randomVector(rng, 12);
      const b = randomVector(rng, 12);
      if (dot(a, b) >= 0) continue;
      conflicts++;
      const [pa, pb] = projectConflicting([vec(a), vec(b)], (i) => [1 - i]);
      // Before: a . b < 0. After: pa . b = 0 and pb . a = 0 (non-negative up to float32 rounding).
      expect(dot(values(pa!), b)).toBeGreaterThan(-1e-4);
      expect(dot(values(pb!), a)).toBeGreaterThan(-1e-4);
      expect(Math.abs(dot(values(pa!), b))).toBeLessThan(1e-4);
      tf.dispose([pa!, pb!]);
    }
    expect(conflicts).toBeGreaterThan(5);
  });

  it('passes non-conflicting gradients unchanged', () => {
    const a = [1, 2, 0.5];
    const b = [0.5, -0.1, 3];
    expect(dot(a, b)).toBeGreaterThan(0);
    const [pa, pb] = projectConflicting([vec(a), vec(b)], (i) => [1 - i]);
    expect(values(pa!)).toEqual(values(vec(a)));
    expect(values(pb!)).toEqual(values(vec(b)));
    tf.dispose([pa!, pb!]);
  });

  it('for two tasks the summed gradient lowers neither loss to first order, unlike the plain sum', () => {
    const a = [3, 0];
    const b = [-2, 0.5];
    const plain = a.map((v, i) => v + b[i]!);
    expect(dot(plain, b)).toBeLessThan(0); // the plain sum would increase task b's loss
    const projected = projectConflicting([vec(a), vec(b)], (i) => [1 - i]);
    const sum = values(projected[0]!).map((v, i) => v + values(projected[1]!)[i]!);
    expect(dot(sum, a)).toBeGreaterThanOrEqual(-1e-6);
    expect(dot(sum, b)).toBeGreaterThanOrEqual(-1e-6);
    tf.dispose(projected);
  });

  it('three tasks: the projections follow the given order, as a float64 reference of the definition', () => {
    const rng = createRng('pcgrad-three');
    const g = [randomVector(rng, 20), randomVector(rng, 20), randomVector(rng, 20)];
    g[2] = g[2]!.map((v, k) => v - 1.5 * g[0]![k]!); // make task 2 conflict with task 0
    const orders = [
      [2, 1],
      [0, 2],
      [1, 0],
    ];
    const ours = projectConflicting(g.map(vec), (i) => orders[i]!);
    const ref = pcgradReference(g, (i) => orders[i]!);
    ours.forEach((t, i) => values(t).forEach((v, k) => expect(v).toBeCloseTo(ref[i]![k]!, 4)));
    tf.dispose(ours);
  });

  it('combineGradients: surgery on the shared weights, the plain sum on a head, a seeded order per step, no leak', () => {
    const w = gradientWeighting({ type: 'pcgrad' }, ['cls', 'seg'], 7);
    const rng = createRng('pcgrad-combine');
    const a = randomVector(rng, 6);
    const b = a.map((v) => -0.5 * v + 0.1); // conflicts with a
    const grads = (): TaskGradients => ({
      byTask: {
        cls: new Map<string, tf.Tensor>([
          ['encoder/w', tf.tensor2d(a, [2, 3])],
          ['cls/k', tf.tensor1d([1, 2])],
        ]),
        seg: new Map<string, tf.Tensor>([
          ['encoder/w', tf.tensor2d(b, [2, 3])],
          ['seg/k', tf.tensor1d([5])],
        ]),
      },
      losses: { cls: 1, seg: 2 },
      shared: new Set(['encoder/w']),
      step: 3,
    });
    const va = vec(a);
    const vb = vec(b);
    const [pa, pb] = projectConflicting([va, vb], (i) => [1 - i]);
    const before = tf.memory().numTensors;
    const input = grads();
    const out = w.combineGradients(input);
    expect([...out.keys()].sort()).toEqual(['cls/k', 'encoder/w', 'seg/k']);
    expect(out.get('encoder/w')!.shape).toEqual([2, 3]);
    values(out.get('encoder/w')!).forEach((v, k) => expect(v).toBeCloseTo(values(pa!)[k]! + values(pb!)[k]!, 5));
    expect(values(out.get('cls/k')!)).toEqual([1, 2]);
    expect(values(out.get('seg/k')!)).toEqual([5]);
    for (const m of [...Object.values(input.byTask), out] as GradientMap[]) tf.dispose([...m.values()]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([va, vb, pa!, pb!]);
    expect(w.weights()).toEqual({ cls: 1, seg: 1 });
    expect(w.getState()).toEqual({ type: 'pcgrad' });
  });

  it('resumes byte-identically: the order is a pure function of (seed, step), and another seed may draw another', () => {
    const rng = createRng('pcgrad-resume');
    const g = Array.from({ length: 4 }, () => randomVector(rng, 30));
    g[1] = g[1]!.map((v, k) => v - g[0]![k]!);
    g[3] = g[3]!.map((v, k) => v - g[2]![k]! - g[1]![k]!);
    const tasks: LossTask[] = ['cls', 'det', 'seg', 'gate'];
    const at = (w: GradientWeighting, step: number): number[] => {
      const byTask = Object.fromEntries(
        tasks.map((t, i) => [t, new Map([['encoder/w', vec(g[i]!)]])]),
      ) as TaskGradients['byTask'];
      const out = w.combineGradients({ byTask, losses: {}, shared: new Set(['encoder/w']), step });
      const v = values(out.get('encoder/w')!);
      for (const m of [...Object.values(byTask), out] as GradientMap[]) tf.dispose([...m.values()]);
      return v;
    };
    const first = gradientWeighting({ type: 'pcgrad' }, tasks, 11);
    const resumed = gradientWeighting({ type: 'pcgrad' }, tasks, 11);
    resumed.setState(JSON.parse(JSON.stringify(first.getState())));
    const steps = [0, 1, 2, 3, 4, 5, 6, 7];
    const a = steps.map((s) => at(first, s));
    expect(steps.map((s) => at(resumed, s))).toEqual(a);
    // With 4 tasks the order matters: some step draws a different result than another.
    expect(new Set(a.map((v) => v.join(','))).size).toBeGreaterThan(1);
    // The config's seed overrides the trainer's.
    expect(at(gradientWeighting({ type: 'pcgrad', seed: 3 }, tasks, 11), 0)).toEqual(
      at(gradientWeighting({ type: 'pcgrad', seed: 3 }, tasks, 99), 0),
    );
    expect(() => first.setState({ type: 'dwa' })).toThrow(DataError);
  });
});

/**
 * A toy problem with a shared vector theta [8] and two losses of very different scales: L1 = 100 |theta - a|^2,
 * L2 = 0.01 |theta - b|^2. Each step computes the per-task gradients, lets the weighting combine them, applies SGD
 * to theta and reports the losses. Returns the ratio G1 / G2 of the weighted gradient norms before each step, and
 * the weights after it.
 */
function toyGradNorm(
  w: GradientWeighting,
  steps: number,
  from: { theta?: Float32Array; step?: number; scales?: [number, number] } = {},
): { ratios: number[]; weights: Record<string, number>[]; theta: Float32Array } {
  const lr = 1e-4;
  const rng = createRng('gradnorm-toy');
  const a = tf.tensor1d(randomVector(rng, 8));
  const b = tf.tensor1d(randomVector(rng, 8));
  const theta = tf.variable(from.theta ? tf.tensor1d(from.theta) : tf.zeros([8]));
  const [s1, s2] = from.scales ?? [100, 0.01];
  const scales: Record<'cls' | 'seg', [number, tf.Tensor1D]> = { cls: [s1, a], seg: [s2, b] };
  const ratios: number[] = [];
  const weights: Record<string, number>[] = [];
  for (let s = from.step ?? 0; s < (from.step ?? 0) + steps; s++) {
    const byTask: TaskGradients['byTask'] = {};
    const losses: Record<string, number> = {};
    const norms: Record<string, number> = {};
    for (const [task, [scale, target]] of Object.entries(scales)) {
      const { value, grads } = tf.variableGrads(
        () => tf.mul(scale, tf.sum(tf.square(tf.sub(theta, target)))) as tf.Scalar,
        [theta],
      );
      losses[task] = value.dataSync()[0]!;
      value.dispose();
      const g = grads[theta.name]!;
      norms[task] = Math.hypot(...values(g));
      byTask[task as LossTask] = new Map([['encoder/theta', g]]);
    }
    const before = w.weights();
    ratios.push((before.cls! * norms.cls!) / (before.seg! * norms.seg!));
    const out = w.combineGradients({ byTask, losses, shared: new Set(['encoder/theta']), step: s });
    theta.assign(tf.tidy(() => tf.sub(theta, tf.mul(out.get('encoder/theta')!, lr))));
    w.update(losses);
    weights.push(w.weights());
    for (const m of [...Object.values(byTask), out] as GradientMap[]) tf.dispose([...m.values()]);
  }
  const out = { ratios, weights, theta: Float32Array.from(theta.dataSync()) };
  tf.dispose([a, b, theta]);
  return out;
}

describe('GradNorm', () => {
  it('moves the weights toward equal weighted gradient norms when the losses differ in scale by 10^2 and 10^4', () => {
    const meanAbsLog = (r: number[]) => r.reduce((s, v) => s + Math.abs(Math.log(v)), 0) / r.length;
    for (const [scales, bound] of [
      [[10, 0.1], 0.3],
      [[100, 0.01], 2],
    ] as const) {
      const w = gradientWeighting({ type: 'gradnorm', alpha: 0, learningRate: 0.025 }, ['cls', 'seg']);
      const { ratios, weights } = toyGradNorm(w, 250, { scales: [...scales] });
      // G_cls / G_seg starts at the scale ratio times the distance ratio; over the last 100 steps its log stays
      // near 0 (Adam moves a weight by about learningRate a step, so a tiny weight oscillates around its target).
      expect(Math.abs(Math.log(ratios[0]!))).toBeGreaterThan(2 * bound + 3);
      expect(meanAbsLog(ratios.slice(-100))).toBeLessThan(bound);
      expect(weights.at(-1)!.seg!).toBeGreaterThan(weights.at(-1)!.cls! * 10);
      for (const wt of weights) expect(wt.cls! + wt.seg!).toBeCloseTo(2, 12);
    }
  });

  it('with alpha > 0 the slower task gets the larger target; weights always sum to the task count', () => {
    const tasks: LossTask[] = ['cls', 'det', 'seg'];
    const init = {
      weights: { cls: 1, det: 1, seg: 1 },
      initialLosses: { cls: 1, det: 1, seg: 1 },
      m: {},
      v: {},
      steps: 0,
    };
    // Equal norms (G equal); det trains slowest (its loss still 1, the others halved): its target is highest, so
    // its weight goes up, the others down.
    const next = gradNormStep(
      init,
      { cls: 2, det: 2, seg: 2 },
      { cls: 0.5, det: 1, seg: 0.5 },
      { alpha: 1.5, learningRate: 0.1, tasks },
    );
    expect(next.weights.det!).toBeGreaterThan(1);
    expect(next.weights.cls!).toBeLessThan(1);
    expect(next.weights.cls! + next.weights.det! + next.weights.seg!).toBeCloseTo(3, 12);
    // A task absent from a step keeps its weight up to the renormalisation; one task alone changes nothing.
    const alone = gradNormStep(init, { cls: 2 }, { cls: 0.5 }, { alpha: 1.5, learningRate: 0.1, tasks });
    expect(alone.weights).toEqual(init.weights);
    // The first loss of each task is recorded as L(0).
    expect(
      gradNormStep(
        { ...init, initialLosses: {} },
        { cls: 1, det: 2 },
        { cls: 3, det: 4 },
        { alpha: 1, learningRate: 0.1, tasks },
      ).initialLosses,
    ).toEqual({ cls: 3, det: 4 });
  });

  it('the step gradient is sum_t w_t grad L_t; the logged total sum_t w_t L_t', () => {
    const w = gradientWeighting({ type: 'gradnorm' }, ['cls', 'seg']);
    w.setState({
      type: 'gradnorm',
      gradnorm: { weights: { cls: 0.5, seg: 1.5 }, initialLosses: {}, m: {}, v: {}, steps: 0 },
    });
    const byTask = {
      cls: new Map([
        ['encoder/w', vec([1, 2])],
        ['cls/b', vec([4])],
      ]),
      seg: new Map([['encoder/w', vec([3, -1])]]),
    };
    const out = w.combineGradients({ byTask, losses: { cls: 1, seg: 1 }, shared: new Set(['encoder/w']), step: 0 });
    expect(values(out.get('encoder/w')!)).toEqual([0.5 * 1 + 1.5 * 3, 0.5 * 2 - 1.5]);
    expect(values(out.get('cls/b')!)).toEqual([2]);
    const total = w.combine({ cls: tf.scalar(2), seg: tf.scalar(4) });
    expect(total.dataSync()[0]).toBeCloseTo(0.5 * 2 + 1.5 * 4, 6);
    for (const m of [...Object.values(byTask), out]) tf.dispose([...m.values()]);
    total.dispose();
    expect(() =>
      w.setState({ type: 'gradnorm', gradnorm: { weights: { cls: 1 }, initialLosses: {}, m: {}, v: {}, steps: 0 } }),
    ).toThrow(/gradnorm\.weights\.seg/);
  });

  it('resumes byte-identically from its state (weights, L(0), Adam moments)', () => {
    const config = { type: 'gradnorm' as const, alpha: 1.5, learningRate: 0.05 };
    const whole = toyGradNorm(gradientWeighting(config, ['cls', 'seg']), 12);
    const before = gradientWeighting(config, ['cls', 'seg']);
    const first = toyGradNorm(before, 6);
    // A new process: a fresh weighting given the saved state, theta from the checkpoint.
    const after = gradientWeighting(config, ['cls', 'seg']);
    after.setState(JSON.parse(JSON.stringify(before.getState())));
    const second = toyGradNorm(after, 6, { theta: first.theta, step: 6 });
    expect([...first.weights, ...second.weights]).toEqual(whole.weights);
    expect(Array.from(second.theta)).toEqual(Array.from(whole.theta));
    expect(whole.weights.at(-1)).not.toEqual({ cls: 1, seg: 1 });
    expect(() => after.setState({ type: 'pcgrad' })).toThrow(DataError);
  });
});
