import { beforeAll, describe, expect, it } from 'vitest';
import { PATHOLOGIES, type Batch } from '@multichexnet/data';
import { createRng, initBackend, tf } from '@multichexnet/core';
import { createTeacherForcing } from '@multichexnet/gating';
import { createEncoder } from '@multichexnet/core-encoder';
import { createClsHead } from '@multichexnet/head-cls';
import { createMultiCheXNet, type MultiCheXNet } from '@multichexnet/model';
import {
  BatchRecipeSchema,
  PhaseSchema,
  createLossWeighting,
  createOptimizer,
  trainStep,
  type GradientWeighting,
  type PhaseInput,
  type StepContext,
  type TaskGradients,
} from '../src/index';
import { differing, smallModel, snapshot } from './helpers';

beforeAll(async () => {
  await initBackend('wasm');
});

const S = 64;
const C = PATHOLOGIES.length;
const PNA = PATHOLOGIES.indexOf('Pneumonia');
const PTX = PATHOLOGIES.indexOf('Pneumothorax');

/**
 * A batch as the batch stream delivers it: samples 0-3 from RSNA (0 and 1 with boxes), 4-7 from SIIM (4 and 5
 * with a pneumothorax mask).
 */
function batch(seed: number): Batch {
  const rng = createRng(seed);
  const B = 8;
  const images = Float32Array.from({ length: B * S * S }, () => rng.normal());
  const labels = new Float32Array(B * C).fill(Number.NaN);
  const masks = new Uint8Array(B * S * S);
  const boxes: Batch['boxes'] = [];
  const tasks = { cls: new Uint8Array(B).fill(1), det: new Uint8Array(B), seg: new Uint8Array(B) };
  for (let b = 0; b < 4; b++) {
    labels[b * C + PNA] = b < 2 ? 1 : 0;
    tasks.det[b] = 1;
    boxes.push(b < 2 ? [{ label: 'Pneumonia', x: 8 + 4 * b, y: 10, width: 20, height: 24 }] : []);
  }
  for (let b = 4; b < 8; b++) {
    labels[b * C + PTX] = b < 6 ? 1 : 0;
    tasks.seg[b] = 1;
    boxes.push([]);
    if (b < 6) for (let y = 10; y < 30; y++) for (let x = 5; x < 20; x++) masks[b * S * S + y * S + x] = 1;
  }
  return {
    size: B,
    imageSize: S,
    images,
    labels,
    classes: PATHOLOGIES,
    boxes,
    masks,
    tasks,
    ids: [],
    patientIds: [],
    sources: ['rsna', 'rsna', 'rsna', 'rsna', 'siim', 'siim', 'siim', 'siim'],
  };
}

function context(
  model: MultiCheXNet,
  p: number,
  trainable: ('encoder' | 'cls' | 'det' | 'seg')[],
  extra: Partial<PhaseInput> = {},
): StepContext {
  const phase = PhaseSchema.parse({
    name: 'joint',
    trainable,
    batches: [{ datasets: ['rsna', 'siim'], tasks: ['cls', 'det', 'seg'] }],
    steps: 10,
    routing: { type: 'teacher-forcing', p },
    ...extra,
  });
  model.setTrainable(
    Object.fromEntries([...model.blocks()].map(([name]) => [name, (trainable as string[]).includes(name)])),
  );
  const weighting = createLossWeighting(phase.lossWeighting, ['cls', 'det', 'seg'], { seed: 1 });
  return {
    model,
    phase,
    recipe: BatchRecipeSchema.parse(phase.batches[0]),
    step: 0,
    teacherForcing: createTeacherForcing({ p, seed: 1 }),
    weighting,
    optimizer: createOptimizer(phase.optimizer),
    variables: [...model.trainableVariables(), ...weighting.variables],
    learningRate: 1e-3,
    gateClasses: ['Pneumonia', 'Pneumothorax'],
  };
}

/** Counts the encoder's forward passes from now on (the real encoder still runs). */
function countEncoderPasses(model: MultiCheXNet): { count: number } {
  const counter = { count: 0 };
  const apply = model.encoder.apply.bind(model.encoder);
  (model.encoder as unknown as { apply: typeof apply }).apply = ((...a: Parameters<typeof apply>) => {
    counter.count++;
    return apply(...a);
  }) as typeof apply;
  return counter;
}

describe('trainStep', () => {
  it('ground-truth routing trains det / seg on the true positives only, with one encoder pass', () => {
    const model = smallModel(1);
    const passes = countEncoderPasses(model);
    const ctx = context(model, 1, ['encoder', 'cls', 'det', 'seg']);
    const out = trainStep(ctx, batch(1));
    expect(passes.count).toBe(1);
    expect(out.applied).toBe(true);
    expect(out.routing).toBe('ground-truth');
    expect(out.routed).toEqual({
      det: { samples: 2, falsePositives: 0, falseNegatives: 0 },
      seg: { samples: 2, falsePositives: 0, falseNegatives: 0 },
    });
    expect(Object.keys(out.losses).sort()).toEqual(['cls', 'det', 'seg']);
    expect(out.total).toBeCloseTo(out.losses.cls! + out.losses.det! + out.losses.seg!, 4);
    ctx.optimizer.dispose();
    model.dispose();
  });

  it('gate routing: false positives train as negatives, false negatives add no loss', () => {
    const model = smallModel(2);
    const open = context(model, 0, ['det', 'seg']);
    model.gate!.setThreshold(0);
    const all = trainStep(open, batch(2));
    expect(all.routing).toBe('gate');
    // Every labeled sample passes a gate at 0: 2 of 4 RSNA and 2 of 4 SIIM samples are false positives.
    expect(all.routed).toEqual({
      det: { samples: 4, falsePositives: 2, falseNegatives: 0 },
      seg: { samples: 4, falsePositives: 2, falseNegatives: 0 },
    });
    model.gate!.setThreshold(1);
    const closed = trainStep({ ...open, step: 1 }, batch(2));
    expect(closed.routed).toEqual({
      det: { samples: 0, falsePositives: 0, falseNegatives: 2 },
      seg: { samples: 0, falsePositives: 0, falseNegatives: 2 },
    });
    // The frozen cls head still reports its loss; with det and seg starved nothing trainable is reached: no update.
    expect(closed.losses.cls).toBeGreaterThan(0);
    expect(closed.applied).toBe(false);
    expect(closed.losses.det).toBeUndefined();
    expect(closed.losses.seg).toBeUndefined();
    open.optimizer.dispose();
    model.dispose();
  });

  it('updates the trainable blocks only and leaks nothing from one step to the next', () => {
    const model = smallModel(3);
    const ctx = context(model, 1, ['det']);
    const before = snapshot(model);
    trainStep(ctx, batch(3));
    const n = tf.memory().numTensors;
    trainStep({ ...ctx, step: 1 }, batch(4));
    expect(tf.memory().numTensors).toBe(n);
    const changed = differing(before, snapshot(model));
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.every((k) => k.startsWith('det#'))).toBe(true);
    ctx.optimizer.dispose();
    model.dispose();
  });

  it('does not apply an update when a loss is not finite', () => {
    const model = smallModel(4);
    const ctx = context(model, 1, ['encoder', 'cls', 'det', 'seg']);
    const w = model.heads.cls!.trainableWeights[0]!;
    const poisoned = tf.fill(w.shape as number[], Number.NaN);
    w.write(poisoned);
    poisoned.dispose();
    const keys = ctx.variables.filter((v) => !v.key.startsWith('cls/')).map((v) => v.key);
    const before = new Map(ctx.variables.map((v) => [v.key, Float32Array.from(v.variable.dataSync())]));
    const out = trainStep(ctx, batch(5));
    expect(out.applied).toBe(false);
    expect(out.losses.cls).toBeNaN();
    for (const v of ctx.variables)
      if (keys.includes(v.key)) expect(Array.from(v.variable.dataSync())).toEqual(Array.from(before.get(v.key)!));
    ctx.optimizer.dispose();
    model.dispose();
  });

  it('gradient accumulation: the mean of 4 micro-batch gradients is the full-batch gradient of a BatchNorm-free net (1e-5)', () => {
    // A frozen encoder runs in inference mode, so what trains (the cls head: pooling, hidden dense + ReLU, logits)
    // has no batch statistics; every sample carries every cls label, so the masked BCE is a plain mean.
    const build = () => {
      const encoder = createEncoder({ preset: 'densenet-tiny', initFeatures: 8, growthRate: 4, seed: 7 });
      const cls = createClsHead({
        classes: ['Pneumonia', 'Pneumothorax'],
        featureChannels: encoder.featureChannels,
        hidden: 8,
        seed: 8,
      });
      return createMultiCheXNet({ encoder, heads: { cls } });
    };
    const b = batch(6);
    for (let i = 0; i < b.size; i++) {
      b.labels[i * C + PNA] = i % 2;
      b.labels[i * C + PTX] = (i >> 1) % 2;
    }
    const sgd = {
      optimizer: { type: 'sgd' as const, learningRate: 1, momentum: 0 },
      batches: [{ datasets: ['rsna' as const, 'siim' as const], tasks: ['cls' as const] }],
      routing: { type: 'all' as const },
    };
    const deltas = (accumulate: number): Map<string, Float32Array> => {
      const model = build();
      const ctx = context(model, 1, ['cls'], { ...sgd, accumulate });
      const before = new Map(ctx.variables.map((v) => [v.key, Float32Array.from(v.variable.dataSync())]));
      const out = trainStep({ ...ctx, learningRate: 1 }, b);
      expect(out.applied).toBe(true);
      // SGD with learning rate 1 and no momentum: the update is minus the gradient.
      const g = new Map(
        ctx.variables.map((v) => [
          v.key,
          Float32Array.from(v.variable.dataSync(), (x, i) => before.get(v.key)![i]! - x),
        ]),
      );
      ctx.optimizer.dispose();
      model.dispose();
      return g;
    };
    const full = deltas(1);
    const micro = deltas(4);
    expect([...micro.keys()]).toEqual([...full.keys()]);
    expect(full.size).toBeGreaterThan(2);
    for (const [key, g] of full) {
      const scale = Math.max(...Array.from(g, Math.abs));
      expect(scale, key).toBeGreaterThan(0);
      const diff = Math.max(...Array.from(g, (v, i) => Math.abs(v - micro.get(key)![i]!)));
      expect(diff / scale, key).toBeLessThan(1e-5);
    }
  });

  it('gradient accumulation: one encoder pass per micro-batch, one update, losses averaged, routing summed, no leak', () => {
    const model = smallModel(5);
    const passes = countEncoderPasses(model);
    const ctx = context(model, 1, ['encoder', 'cls', 'det', 'seg'], { batchSize: 8, accumulate: 2 });
    expect(ctx.phase.accumulate).toBe(2);
    const out = trainStep(ctx, batch(7));
    expect(passes.count).toBe(2);
    expect(out.applied).toBe(true);
    // Micro-batch 1 holds the RSNA samples (det only), micro-batch 2 the SIIM samples (seg only); cls in both.
    expect(out.routed).toEqual({
      det: { samples: 2, falsePositives: 0, falseNegatives: 0 },
      seg: { samples: 2, falsePositives: 0, falseNegatives: 0 },
    });
    expect(Object.keys(out.losses).sort()).toEqual(['cls', 'det', 'seg']);
    expect(Object.values(ctx.optimizer.getState().steps).every((n) => n === 1)).toBe(true);
    // total = mean over the 2 micro-batches of (cls + det) and (cls + seg) = mean cls + (det + seg) / 2
    expect(out.total).toBeCloseTo(out.losses.cls! + (out.losses.det! + out.losses.seg!) / 2, 4);
    const n = tf.memory().numTensors;
    trainStep({ ...ctx, step: 1 }, batch(8));
    expect(tf.memory().numTensors).toBe(n);
    ctx.optimizer.dispose();
    model.dispose();
  });

  it('per-task weightings (pcgrad, gradnorm): one pass per task, the same losses and BatchNorm statistics as one combined pass, no leak', () => {
    const movingStats = (m: MultiCheXNet) => new Map([...snapshot(m)].filter(([k]) => k.includes('moving')));
    const reference = smallModel(9);
    const plain = context(reference, 1, ['encoder', 'cls', 'det', 'seg']);
    const expected = trainStep(plain, batch(9));
    for (const lossWeighting of [{ type: 'pcgrad' as const }, { type: 'gradnorm' as const }]) {
      const model = smallModel(9);
      const passes = countEncoderPasses(model);
      const ctx = context(model, 1, ['encoder', 'cls', 'det', 'seg'], { lossWeighting });
      expect(ctx.weighting.needsTaskGradients).toBe(true);
      const out = trainStep(ctx, batch(9));
      expect(out.applied).toBe(true);
      expect(passes.count, lossWeighting.type).toBe(3); // cls, det, seg
      expect(out.losses).toEqual(expected.losses);
      expect(out.total).toBeCloseTo(out.losses.cls! + out.losses.det! + out.losses.seg!, 4); // weights start at 1
      const stats = movingStats(model);
      expect(stats.size).toBeGreaterThan(0);
      expect(differing(movingStats(reference), stats)).toEqual([]);
      const n = tf.memory().numTensors;
      trainStep({ ...ctx, step: 1 }, batch(10));
      expect(tf.memory().numTensors).toBe(n);
      ctx.optimizer.dispose();
      model.dispose();
    }
    plain.optimizer.dispose();
    reference.dispose();
  });

  it('the per-task gradients a weighting receives sum to the combined gradient; shared = the encoder weights', () => {
    const sgd = { optimizer: { type: 'sgd' as const, learningRate: 1, momentum: 0 } };
    const reference = smallModel(12);
    const plain = context(reference, 1, ['encoder', 'cls', 'det', 'seg'], sgd);
    const before = new Map(plain.variables.map((v) => [v.key, Float32Array.from(v.variable.dataSync())]));
    trainStep({ ...plain, learningRate: 1 }, batch(14));
    // SGD with learning rate 1: the update is minus the gradient of cls + det + seg.
    const combined = new Map(
      plain.variables.map((v) => [
        v.key,
        Float32Array.from(v.variable.dataSync(), (x, i) => before.get(v.key)![i]! - x),
      ]),
    );
    const model = smallModel(12);
    const ctx = context(model, 1, ['encoder', 'cls', 'det', 'seg'], { ...sgd, lossWeighting: { type: 'pcgrad' } });
    const pcgrad = ctx.weighting as GradientWeighting;
    let seen: { sums: Map<string, Float32Array>; shared: string[]; tasks: string[] } | null = null;
    const spy: GradientWeighting = {
      ...pcgrad,
      combineGradients: (g: TaskGradients) => {
        const sums = new Map<string, Float32Array>();
        for (const m of Object.values(g.byTask)) {
          for (const [k, t] of m!) {
            const v = t.dataSync();
            sums.set(
              k,
              Float32Array.from(v, (x, i) => x + (sums.get(k)?.[i] ?? 0)),
            );
          }
        }
        seen = { sums, shared: [...g.shared], tasks: Object.keys(g.byTask).sort() };
        return pcgrad.combineGradients(g);
      },
    };
    trainStep({ ...ctx, weighting: spy, learningRate: 1 }, batch(14));
    expect(seen).not.toBeNull();
    const got = seen!;
    expect(got.tasks).toEqual(['cls', 'det', 'seg']);
    expect(got.shared.length).toBeGreaterThan(0);
    expect(got.shared.every((k) => k.startsWith('encoder/'))).toBe(true);
    expect(got.shared.length).toBe(ctx.variables.filter((v) => v.key.startsWith('encoder/')).length);
    expect([...got.sums.keys()].sort()).toEqual(
      [...combined.keys()].filter((k) => combined.get(k)!.some((x) => x !== 0)).sort(),
    );
    // Float32 sums in another order: compared against the largest gradient entry of the step (tiny gradients,
    // such as a BatchNorm gamma's where the tasks cancel, carry rounding noise of that absolute size).
    const largest = Math.max(...[...combined.values()].map((g) => Math.max(...Array.from(g, Math.abs))));
    for (const [k, g] of got.sums) {
      const ref = combined.get(k)!;
      const diff = Math.max(...Array.from(g, (v, i) => Math.abs(v - ref[i]!)));
      expect(diff / largest, k).toBeLessThan(1e-5);
    }
    plain.optimizer.dispose();
    ctx.optimizer.dispose();
    reference.dispose();
    model.dispose();
  });

  it('per-task weightings with one task give the plain gradient, byte for byte', () => {
    const cls = {
      batches: [{ datasets: ['rsna' as const, 'siim' as const], tasks: ['cls' as const] }],
      routing: { type: 'all' as const },
    };
    const after = (lossWeighting: PhaseInput['lossWeighting']): Map<string, Float32Array> => {
      const model = smallModel(10);
      const ctx = context(model, 1, ['encoder', 'cls'], { ...cls, lossWeighting });
      expect(trainStep(ctx, batch(11)).applied).toBe(true);
      const s = snapshot(model);
      ctx.optimizer.dispose();
      model.dispose();
      return s;
    };
    const equal = after({ type: 'equal' });
    expect(differing(equal, after({ type: 'pcgrad' }))).toEqual([]);
    expect(differing(equal, after({ type: 'gradnorm' }))).toEqual([]);
  });

  it('per-task weightings with gradient accumulation: one pass per task and micro-batch, one update, no leak', () => {
    const model = smallModel(11);
    const passes = countEncoderPasses(model);
    const ctx = context(model, 1, ['encoder', 'cls', 'det', 'seg'], {
      batchSize: 8,
      accumulate: 2,
      lossWeighting: { type: 'pcgrad' },
    });
    const out = trainStep(ctx, batch(12));
    expect(out.applied).toBe(true);
    // Micro-batch 1: cls and det; micro-batch 2: cls and seg.
    expect(passes.count).toBe(4);
    expect(Object.values(ctx.optimizer.getState().steps).every((n) => n === 1)).toBe(true);
    const n = tf.memory().numTensors;
    trainStep({ ...ctx, step: 1 }, batch(13));
    expect(tf.memory().numTensors).toBe(n);
    ctx.optimizer.dispose();
    model.dispose();
  });
});
