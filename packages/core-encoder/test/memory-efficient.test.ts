import { beforeAll, describe, expect, it } from 'vitest';
import {
  FEATURE_LEVELS,
  createRng,
  deserializeBlock,
  encodeBlockWeights,
  initBackend,
  loadBlockWeightsFromBytes,
  serializeBlock,
  tf,
  type EncoderFeatures,
} from '@multichexnet/core';
import { EncoderConfigSchema, createEncoder, type Encoder, type EncoderConfigInput } from '../src/index';
import { image } from './images';

/** A scalar that depends on every feature through fixed random weights, so every gradient is exercised. */
function probeLoss(f: EncoderFeatures, seed: number): tf.Scalar {
  const rng = createRng(seed);
  const terms = FEATURE_LEVELS.map((k) => {
    const c = f[k].shape[3];
    const w = tf.tensor1d(Float32Array.from({ length: c }, () => rng.normal()));
    return tf.sum(tf.mul(f[k], w));
  });
  return tf.addN(terms) as tf.Scalar;
}

interface StepResult {
  features: Float32Array[];
  loss: number;
  grads: Map<string, Float32Array>;
  weights: Map<string, Float32Array>;
}

/** One training-mode forward + backward: features, loss, gradient per weight name and (after) every weight. */
function trainingStep(enc: Encoder, x: tf.Tensor4D): StepResult {
  const features: Float32Array[] = [];
  const named = enc.namedWeights();
  const trainable = named.filter(({ variable }) => variable.trainable);
  const vars = trainable.map(({ variable }) => variable.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => {
    const f = enc.apply(x, { training: true });
    for (const k of FEATURE_LEVELS) features.push(f[k].dataSync() as Float32Array);
    return probeLoss(f, 5);
  }, vars);
  const out: StepResult = { features, loss: value.dataSync()[0]!, grads: new Map(), weights: new Map() };
  for (const { name, variable } of trainable)
    out.grads.set(name, grads[(variable.read() as tf.Variable).name]!.dataSync() as Float32Array);
  for (const { name, variable } of named) out.weights.set(name, variable.read().dataSync() as Float32Array);
  value.dispose();
  tf.dispose(Object.values(grads));
  return out;
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let scale = 1e-6;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d / scale;
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('memoryEfficient encoder', () => {
  const variants: [string, EncoderConfigInput][] = [
    ['densenet-tiny', { preset: 'densenet-tiny', seed: 3 }],
    [
      'no bottleneck, dropout',
      { preset: 'densenet-tiny', bottleneckWidth: 0, dropRate: 0.2, growthRate: 6, blockLayers: [3, 2, 2, 1], seed: 4 },
    ],
  ];
  for (const [label, config] of variants) {
    it(`gives the features, gradients and BatchNorm statistics of the normal path (${label}), to 1e-5`, () => {
      const plain = createEncoder(config);
      const lean = createEncoder({ ...config, memoryEfficient: true });
      expect(lean.config.memoryEfficient).toBe(true);
      const x = image(1, [2, 64, 64, 1]);
      const a = trainingStep(plain, x);
      const b = trainingStep(lean, x);
      expect(Math.abs(a.loss - b.loss) / Math.abs(a.loss)).toBeLessThan(1e-5);
      a.features.forEach((f, i) => expect(maxRelDiff(b.features[i]!, f)).toBeLessThan(1e-5));
      expect([...b.grads.keys()]).toEqual([...a.grads.keys()]);
      for (const [name, g] of a.grads) expect(maxRelDiff(b.grads.get(name)!, g), name).toBeLessThan(1e-5);
      // Moving statistics moved once (momentum 0.9 from 0 / 1): a second update in the recomputation would differ.
      const stats = [...a.weights.keys()].filter((k) => /moving_(mean|variance)/.test(k));
      expect(stats.length).toBeGreaterThan(10);
      for (const name of stats) {
        expect(maxRelDiff(b.weights.get(name)!, a.weights.get(name)!), name).toBeLessThan(1e-5);
        expect(
          Array.from(a.weights.get(name)!).some((v) => v !== 0 && v !== 1),
          name,
        ).toBe(true);
      }
      x.dispose();
      plain.dispose();
      lean.dispose();
    });
  }

  it('holds fewer tensor bytes at the end of the forward pass than the normal path', () => {
    // What the backward pass will need: the tensors the tape saved plus those the open scopes still hold, each
    // buffer counted once (saved tensors are clones that share their buffer).
    const liveBytes = (): number => {
      const state = tf.engine().state;
      const buffers = new Map<object, number>();
      const add = (t: tf.Tensor) => {
        if (!t.isDisposed) buffers.set(t.dataId, t.size * 4);
      };
      for (const scope of state.scopeStack) scope.track.forEach(add);
      for (const node of state.activeTape) node.saved?.forEach(add);
      return [...buffers.values()].reduce((a, b) => a + b, 0);
    };
    const config: EncoderConfigInput = { preset: 'densenet-small', blockLayers: [6, 2, 2, 2], seed: 2 };
    const atEndOfForward = (enc: Encoder): number => {
      const x = image(2, [2, 64, 64, 1]);
      let live = 0;
      const vars = enc.trainableWeights.map((w) => w.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(() => {
        const loss = probeLoss(enc.apply(x, { training: true }), 1);
        live = liveBytes();
        return loss;
      }, vars);
      tf.dispose([value, x, ...Object.values(grads)]);
      return live;
    };
    const plain = createEncoder(config);
    const lean = createEncoder({ ...config, memoryEfficient: true });
    const a = atEndOfForward(plain);
    const b = atEndOfForward(lean);
    expect(a).toBeGreaterThan(0);
    expect(b).toBeLessThan(0.5 * a);
    plain.dispose();
    lean.dispose();
  });

  it('is on by default for densenet121 only, and recorded in the resolved config', () => {
    expect(EncoderConfigSchema.parse({ preset: 'densenet121' }).memoryEfficient).toBe(true);
    expect(EncoderConfigSchema.parse({ preset: 'densenet121', memoryEfficient: false }).memoryEfficient).toBe(false);
    expect(EncoderConfigSchema.parse({ preset: 'densenet-small' }).memoryEfficient).toBe(false);
    expect(EncoderConfigSchema.parse({ preset: 'densenet-tiny', memoryEfficient: true }).memoryEfficient).toBe(true);
  });

  it('shares weight names and weight files with the normal path, and keeps the option through the registry', async () => {
    const plain = createEncoder({ preset: 'densenet-tiny', seed: 8 });
    const lean = createEncoder({ preset: 'densenet-tiny', seed: 9, memoryEfficient: true });
    expect(lean.namedWeights().map((w) => w.name)).toEqual(plain.namedWeights().map((w) => w.name));
    const x = image(3, [2, 64, 64, 1]);
    // Train the plain one a step so that its BN statistics are not the initial ones, then move its weights across.
    trainingStep(plain, x);
    await loadBlockWeightsFromBytes(lean, await encodeBlockWeights(plain));
    const fa = tf.tidy(() => plain.apply(x).c5);
    const fb = tf.tidy(() => lean.apply(x).c5);
    expect(Array.from(fb.dataSync())).toEqual(Array.from(fa.dataSync()));
    // ... and back: weights trained in memory-efficient mode load into a plain encoder.
    trainingStep(lean, x);
    await loadBlockWeightsFromBytes(plain, await encodeBlockWeights(lean));
    const ga = tf.tidy(() => plain.apply(x).c5);
    const gb = tf.tidy(() => lean.apply(x).c5);
    expect(Array.from(ga.dataSync())).toEqual(Array.from(gb.dataSync()));
    const again = deserializeBlock<Encoder>(JSON.parse(JSON.stringify(serializeBlock(lean))));
    expect(again.config.memoryEfficient).toBe(true);
    expect(again.config).toEqual({ ...lean.config });
    tf.dispose([x, fa, fb, ga, gb]);
    for (const e of [plain, lean, again]) e.dispose();
  });

  it('trains without leaking tensors (optimizer steps, tensor count constant from step 1 to step 3)', () => {
    const enc = createEncoder({ preset: 'densenet-tiny', seed: 6, memoryEfficient: true });
    const x = image(4, [2, 64, 64, 1]);
    const optimizer = tf.train.adam(1e-2);
    const counts: number[] = [];
    const losses: number[] = [];
    for (let step = 0; step < 3; step++) {
      const loss = optimizer.minimize(
        () => tf.square(probeLoss(enc.apply(x, { training: true }), 2)).div(1e4) as tf.Scalar,
        true,
      )!;
      losses.push(loss.dataSync()[0]!);
      loss.dispose();
      counts.push(tf.memory().numTensors);
    }
    expect(counts[2]).toBe(counts[0]);
    expect(losses[2]!).toBeLessThan(losses[0]!);
    optimizer.dispose();
    x.dispose();
    const before = tf.memory().numTensors;
    enc.dispose();
    expect(tf.memory().numTensors).toBeLessThan(before);
  });
});
