import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DataError,
  decodeWeightsFile,
  deserializeBlock,
  encodeBlockWeights,
  loadBlockWeightsFromBytes,
  serializeBlock,
  tf,
} from '@multichexnet/core';
import { GATE_HEAD_CLASS_NAME, createGateHead, gateBinaryCrossEntropy, type GateHead } from '../src/index';
import {
  SMALL_FEATURE_CHANNELS as CHANNELS,
  disposeFeatures,
  maxGradError,
  randomFeatures,
} from '@multichexnet/core/testing';

/** BCE written as the textbook formula on probabilities, in float64, as an independent reference. */
function referenceBce(target: number[], logits: number[]): number {
  let sum = 0;
  let n = 0;
  target.forEach((y, i) => {
    if (Number.isNaN(y)) return;
    const p = 1 / (1 + Math.exp(-logits[i]!));
    sum += -(y * Math.log(p) + (1 - y) * Math.log(1 - p));
    n++;
  });
  return n === 0 ? 0 : sum / n;
}

describe('createGateHead', () => {
  it('maps features to one logit per image and starts at the prior', () => {
    const head = createGateHead({ featureChannels: CHANNELS, priorProbability: 0.2, seed: 3 });
    const f = randomFeatures(3, 64, 1);
    const logits = head.apply(f);
    expect(logits.shape).toEqual([3, 1]);
    // The bias holds logit(prior); the mean pooled features are ~0, so the probabilities sit near the prior.
    const bias = head.weights
      .find((w) => w.name.includes('logit') && w.name.includes('bias'))!
      .read()
      .dataSync()[0]!;
    expect(1 / (1 + Math.exp(-bias))).toBeCloseTo(0.2, 6);
    expect(head.decode(logits)).toHaveLength(3);
    logits.dispose();
    disposeFeatures(f);
    head.dispose();
  });

  it('reads the configured level and rejects features without it', () => {
    const head = createGateHead({ featureChannels: CHANNELS, level: 'c4', hidden: 5 });
    const f = randomFeatures(2, 64, 2);
    const out = head.apply(f);
    expect(out.shape).toEqual([2, 1]);
    out.dispose();
    expect(() => head.apply({ c2: f.c2, c3: f.c3, c5: f.c5 } as never)).toThrow(DataError);
    expect(() => head.apply({ ...f, c4: f.c5 })).toThrow(/wrong shape/);
    disposeFeatures(f);
    head.dispose();
  });

  it('names the field of a bad config', () => {
    expect(() => createGateHead({ featureChannels: CHANNELS, hidden: -1 })).toThrow(ConfigError);
    expect(() => createGateHead({ featureChannels: CHANNELS, hidden: -1 })).toThrow(
      /hidden: must be >= 0; received -1/,
    );
    expect(() => createGateHead({ featureChannels: { ...CHANNELS, c5: 0 } })).toThrow(/featureChannels\.c5/);
  });

  it('builds the same symbolic graph it runs eagerly', () => {
    const head = createGateHead({ featureChannels: CHANNELS, seed: 9 });
    const sym = {
      c2: tf.input({ shape: [16, 16, 4] }),
      c3: tf.input({ shape: [8, 8, 6] }),
      c4: tf.input({ shape: [4, 4, 8] }),
      c5: tf.input({ shape: [2, 2, 12] }),
    };
    const out = head.apply(sym);
    expect(out.shape).toEqual([null, 1]);
    head.dispose();
  });

  it('does not leak tensors', () => {
    const head = createGateHead({ featureChannels: CHANNELS, hidden: 4 });
    const f = randomFeatures(2, 64, 4);
    const target = tf.tensor1d([1, Number.NaN]);
    const before = tf.memory().numTensors;
    const logits = head.apply(f);
    head.decode(logits);
    head.loss(target, logits).dispose();
    logits.dispose();
    expect(tf.memory().numTensors).toBe(before);
    target.dispose();
    disposeFeatures(f);
    head.dispose();
  });

  it('round-trips through the registry and the weights file', async () => {
    const head = createGateHead({ featureChannels: CHANNELS, hidden: 3, seed: 11, name: 'mygate' });
    const spec = serializeBlock(head);
    expect(spec.className).toBe(GATE_HEAD_CLASS_NAME);
    const rebuilt = deserializeBlock<GateHead>(JSON.parse(JSON.stringify(spec)));
    expect(rebuilt.config).toEqual(head.config);
    const bytes = await encodeBlockWeights(head);
    const { header } = await decodeWeightsFile(bytes);
    expect(header.block.className).toBe(GATE_HEAD_CLASS_NAME);
    // A rebuilt block with another seed gets the saved weights back exactly.
    const other = createGateHead({ ...head.config, seed: 99 });
    await loadBlockWeightsFromBytes(other, bytes);
    const f = randomFeatures(2, 64, 5);
    const a = head.apply(f);
    const b = other.apply(f);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([a, b]);
    disposeFeatures(f);
    for (const h of [head, rebuilt, other]) h.dispose();
  });
});

describe('gateBinaryCrossEntropy', () => {
  it('equals the textbook BCE over the known targets', () => {
    const t = [1, 0, Number.NaN, 1, 0];
    const z = [2.5, -0.3, 7, -1.2, 0.4];
    const loss = gateBinaryCrossEntropy(tf.tensor1d(t), tf.tensor2d(z, [5, 1]));
    expect(loss.dataSync()[0]).toBeCloseTo(referenceBce(t, z), 5);
  });

  it('applies the sample mask', () => {
    const t = [1, 0, 1];
    const z = [0.5, 1.5, -2];
    const loss = gateBinaryCrossEntropy(tf.tensor1d(t), tf.tensor2d(z, [3, 1]), tf.tensor1d([1, 0, 1]));
    expect(loss.dataSync()[0]).toBeCloseTo(referenceBce([1, Number.NaN, 1], z), 5);
  });

  it('is 0 with zero gradients when no target is known', () => {
    const z = tf.tensor2d([1, -1], [2, 1]);
    const g = tf.grad((x: tf.Tensor) =>
      gateBinaryCrossEntropy(tf.tensor1d([Number.NaN, Number.NaN]), x as tf.Tensor2D),
    )(z);
    expect(gateBinaryCrossEntropy(tf.tensor1d([Number.NaN, Number.NaN]), z).dataSync()[0]).toBe(0);
    expect(Array.from(g.dataSync())).toEqual([0, 0]);
  });

  it('stays finite for huge logits', () => {
    const loss = gateBinaryCrossEntropy(tf.tensor1d([1, 0]), tf.tensor2d([-80, 80], [2, 1]));
    expect(loss.dataSync()[0]).toBeCloseTo(80, 3);
  });

  it('has the gradient of finite differences', () => {
    const target = tf.tensor1d([1, 0, Number.NaN, 1]);
    const z = tf.tensor2d([0.3, -0.7, 1.1, 2.0], [4, 1]);
    expect(maxGradError((x) => gateBinaryCrossEntropy(target, x as tf.Tensor2D), z, 1e-2)).toBeLessThan(2e-3);
  });

  it('rejects mismatched shapes', () => {
    expect(() => gateBinaryCrossEntropy(tf.tensor1d([1, 0, 1]), tf.tensor2d([1, 2], [2, 1]))).toThrow(DataError);
    expect(() => gateBinaryCrossEntropy(tf.tensor1d([1, 0]), tf.tensor2d([1, 2, 3, 4], [2, 2]))).toThrow(/gate logits/);
  });
});

describe('gate head training', () => {
  it('learns a separable gate from pooled features in a few Adam steps', () => {
    const head = createGateHead({ featureChannels: CHANNELS, seed: 2 });
    const f = randomFeatures(8, 64, 6);
    // Positives get a shifted c5 so pooling separates them.
    const labels = [1, 0, 1, 0, 1, 0, 0, 1];
    const shift = tf.tensor4d(
      labels.flatMap((y) => Array(2 * 2 * 12).fill(y * 1.5)),
      [8, 2, 2, 12],
    );
    const c5 = tf.add(f.c5, shift) as tf.Tensor4D;
    const feats = { ...f, c5 };
    const target = tf.tensor1d(labels);
    const opt = tf.train.adam(0.05);
    const vars = head.trainableWeights.map((w) => w.read() as tf.Variable);
    const losses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const l = opt.minimize(() => head.loss(target, head.apply(feats, { training: true })), true, vars)!;
      losses.push(l.dataSync()[0]!);
      l.dispose();
    }
    expect(losses.at(-1)!).toBeLessThan(0.5 * losses[0]!);
    const logits = head.apply(feats);
    const probs = head.decode(logits);
    expect(probs.map((p) => (p >= 0.5 ? 1 : 0))).toEqual(labels);
    tf.dispose([logits, shift, c5, target]);
    opt.dispose();
    disposeFeatures(f);
    head.dispose();
  });
});
