import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHESTXRAY14_CLASSES,
  ConfigError,
  DataError,
  createRng,
  deserializeBlock,
  initBackend,
  serializeBlock,
  tf,
  type EncoderFeatures,
  type FeatureChannels,
} from '@multichexnet/core';
import { blockContract, blockContractHolds, disposeFeatures, randomFeatures } from '@multichexnet/core/testing';
import { CLS_HEAD_CLASS_NAME, createClsHead, maskedBinaryCrossEntropy, type ClsHead } from '../src/index';

const CHANNELS: FeatureChannels = { c2: 6, c3: 8, c4: 10, c5: 12 };
const CLASSES = [...CHESTXRAY14_CLASSES];

/** Seeded stand-in for encoder output (non-negative, as post-ReLU features), 128 px input. */
const features = (seed: number, batch: number, channels: FeatureChannels = CHANNELS): EncoderFeatures =>
  randomFeatures(batch, 128, seed, { channels, nonNegative: true });

let dir = '';
beforeAll(async () => {
  await initBackend('wasm');
  dir = await mkdtemp(join(tmpdir(), 'mcx-cls-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createClsHead: outputs', () => {
  it('maps features to logits [B, C], one per class, from c5 by default', () => {
    const head = createClsHead({ classes: CLASSES, featureChannels: CHANNELS, seed: 1 });
    const f = features(1, 3);
    const logits = head.apply(f);
    expect(logits.shape).toEqual([3, 14]);
    expect(head.task).toBe('cls');
    // GAP -> dense: the logits are an affine map of the c5 channel means.
    const manual = tf.tidy(() => {
      const [kernel, bias] = head.layersModel.getLayer('cls_logits').getWeights();
      return tf.add(tf.matMul(tf.mean(f.c5, [1, 2]), kernel!), bias!);
    });
    expect(
      Array.from(logits.dataSync())
        .map((v, i) => v - manual.dataSync()[i]!)
        .every((d) => Math.abs(d) < 1e-5),
    ).toBe(true);
    for (const t of [logits, manual]) t.dispose();
    disposeFeatures(f);
    head.dispose();
  });

  it('pools another level when asked, and adds a hidden layer with the expected parameter count', () => {
    const head = createClsHead({
      classes: ['a', 'b', 'c'],
      featureChannels: CHANNELS,
      level: 'c4',
      hidden: 5,
      seed: 2,
    });
    expect(head.countParams()).toBe(CHANNELS.c4 * 5 + 5 + 5 * 3 + 3);
    const plain = createClsHead({ classes: CLASSES, featureChannels: CHANNELS });
    expect(plain.countParams()).toBe(CHANNELS.c5 * 14 + 14);
    plain.dispose();
    const f = features(2, 2);
    const logits = head.apply(f);
    expect(logits.shape).toEqual([2, 3]);
    logits.dispose();
    disposeFeatures(f);
    head.dispose();
  });

  it('decodes probabilities = sigmoid(logits) by class name without disposing the logits', () => {
    const head = createClsHead({ classes: ['Effusion', 'Mass'], featureChannels: CHANNELS });
    const logits = tf.tensor2d([
      [0, 2],
      [-3, 40],
    ]);
    const out = head.decode(logits);
    expect(out).toHaveLength(2);
    expect(out[0]!.probabilities.Effusion).toBe(0.5);
    expect(out[0]!.probabilities.Mass).toBeCloseTo(1 / (1 + Math.exp(-2)), 6);
    expect(out[1]!.probabilities.Effusion).toBeCloseTo(1 / (1 + Math.exp(3)), 6);
    expect(out[1]!.probabilities.Mass).toBe(1);
    expect(Object.keys(out[0]!.probabilities)).toEqual(['Effusion', 'Mass']);
    expect(logits.isDisposed).toBe(false);
    expect(head.decode(tf.zeros([0, 2]) as tf.Tensor2D)).toEqual([]);
    logits.dispose();
    head.dispose();
  });

  it('refuses features without its level or with the wrong channel count', () => {
    const head = createClsHead({ classes: CLASSES, featureChannels: CHANNELS });
    const f = features(3, 1, { ...CHANNELS, c5: 7 });
    expect(() => head.apply(f)).toThrow(DataError);
    expect(() => head.apply(f)).toThrow(/field cls features\.c5\): expected \[\?, \?, \?, 12\], found \[1, 4, 4, 7\]/);
    expect(() => head.apply({ c2: f.c2 } as unknown as EncoderFeatures)).toThrow(
      /expected features with c5, found keys c2/,
    );
    expect(() => head.decode(tf.zeros([1, 3]) as tf.Tensor2D)).toThrow(/expected \[\?, 14\], found \[1, 3\]/);
    disposeFeatures(f);
    head.dispose();
  });
});

describe('createClsHead: loss', () => {
  it('is the masked BCE with the configured class weights', () => {
    const pos = CLASSES.map((_, i) => 1 + i / 7);
    const neg = CLASSES.map((_, i) => 1 - i / 20);
    const head = createClsHead({
      classes: CLASSES,
      featureChannels: CHANNELS,
      posWeights: pos,
      negWeights: neg,
      seed: 4,
    });
    const rng = createRng('head-loss');
    const labels = tf.tensor2d(
      Float32Array.from({ length: 3 * 14 }, () => (rng.bernoulli(0.2) ? NaN : rng.bernoulli(0.3) ? 1 : 0)),
      [3, 14],
    );
    const logits = tf.tensor2d(
      Float32Array.from({ length: 3 * 14 }, () => rng.normal()),
      [3, 14],
    );
    const mask = tf.tensor1d([1, 0, 1]);
    const a = head.loss(labels, logits, mask);
    const b = maskedBinaryCrossEntropy(labels, logits, { posWeights: pos, negWeights: neg, mask });
    expect(a.dataSync()[0]).toBe(b.dataSync()[0]);
    const plain = maskedBinaryCrossEntropy(labels, logits, { mask });
    expect(plain.dataSync()[0]).not.toBe(a.dataSync()[0]);
    for (const t of [labels, logits, mask, a, b, plain]) t.dispose();
    head.dispose();
  });

  it('back-propagates into its weights: kernel gradient agrees with finite differences', () => {
    const head = createClsHead({ classes: ['a', 'b', 'c'], featureChannels: CHANNELS, hidden: 4, seed: 5 });
    const f = features(5, 4);
    const labels = tf.tensor2d([
      [1, 0, NaN],
      [0, 0, 1],
      [1, 1, 0],
      [NaN, 0, 1],
    ]);
    const lossOf = () => head.loss(labels, head.apply(f, { training: true }));
    const variable = head.trainableWeights.find((w) => w.name.includes('cls_hidden') && w.name.includes('kernel'))!;
    const shape = variable.shape as number[];
    // Without a list, variableGrads differentiates every trainable variable alive: they are keyed by name.
    const { value, grads } = tf.variableGrads(lossOf);
    const g = grads[variable.name]!.dataSync();
    const base = variable.read().dataSync().slice();
    const eps = 1e-2;
    for (const i of [0, 7, 13, 30]) {
      const at = (delta: number) => {
        const v = base.slice();
        v[i]! += delta;
        const t = tf.tensor(v, shape);
        variable.write(t);
        t.dispose();
        return tf.tidy(() => lossOf().dataSync()[0]!);
      };
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      expect(Math.abs(g[i]! - fd), `kernel[${i}]`).toBeLessThan(2e-3 + 2e-2 * Math.abs(fd));
    }
    const restore = tf.tensor(base, shape);
    variable.write(restore);
    for (const t of [restore, labels, value, ...Object.values(grads)]) t.dispose();
    disposeFeatures(f);
    head.dispose();
  });
});

describe('createClsHead: config', () => {
  it('names field, rule and value of each wrong field', () => {
    const cases: [unknown, RegExp][] = [
      [{ classes: [], featureChannels: CHANNELS }, /classes: must be >= 1 items; received \[\]/],
      [
        { classes: ['a', 'a'], featureChannels: CHANNELS },
        /classes\.1: must be unique \("a" appears twice\); received "a"/,
      ],
      [{ classes: ['a'], featureChannels: { ...CHANNELS, c5: 0 } }, /featureChannels\.c5: must be > 0; received 0/],
      [{ classes: ['a'] }, /featureChannels: must be of type object; received undefined/],
      [
        { classes: ['a'], featureChannels: CHANNELS, level: 'c6' },
        /level: must be one of "c2", "c3", "c4", "c5"; received "c6"/,
      ],
      [{ classes: ['a'], featureChannels: CHANNELS, hidden: -1 }, /hidden: must be >= 0; received -1/],
      [{ classes: ['a'], featureChannels: CHANNELS, dropout: 1 }, /dropout: must be < 1; received 1/],
      [
        { classes: ['a', 'b'], featureChannels: CHANNELS, posWeights: [1] },
        /posWeights: must hold one weight per class \(2\); received \[1\]/,
      ],
      [{ classes: ['a'], featureChannels: CHANNELS, negWeights: [-1] }, /negWeights\.0: must be >= 0; received -1/],
      [{ classes: ['a'], featureChannels: CHANNELS, name: '1cls' }, /name: must start with a letter/],
      [{ classes: ['a'], featureChannels: CHANNELS, hiden: 3 }, /unknown key\(s\) "hiden"/],
    ];
    for (const [input, message] of cases) {
      const create = () => createClsHead(input as never);
      expect(create, JSON.stringify(input)).toThrow(ConfigError);
      expect(create, JSON.stringify(input)).toThrow(/Invalid classification head config/);
      expect(create, JSON.stringify(input)).toThrow(message);
    }
  });
});

describe('createClsHead: determinism, dropout, memory', () => {
  it('same seed, same weights; another seed, other weights', () => {
    const w = (seed: number) => {
      const h = createClsHead({ classes: CLASSES, featureChannels: CHANNELS, hidden: 8, seed });
      const out = h.namedWeights().map(({ variable }) => Array.from(variable.read().dataSync()));
      h.dispose();
      return out;
    };
    expect(w(3)).toEqual(w(3));
    expect(w(3)[0]).not.toEqual(w(4)[0]);
  });

  it('draws new dropout masks per training call, reproducibly, and none at inference', () => {
    const run = () => {
      const head = createClsHead({ classes: CLASSES, featureChannels: CHANNELS, hidden: 32, dropout: 0.5, seed: 6 });
      const f = features(6, 2);
      const train = [0, 1].map(() => tf.tidy(() => Array.from(head.apply(f, { training: true }).dataSync())));
      const infer = [0, 1].map(() => tf.tidy(() => Array.from(head.apply(f).dataSync())));
      disposeFeatures(f);
      head.dispose();
      return { train, infer };
    };
    const a = run();
    expect(a.train[0]).not.toEqual(a.train[1]);
    expect(a.infer[0]).toEqual(a.infer[1]);
    expect(run()).toEqual(a);
  });

  it('prefixes layers with its name so two heads compose into one graph', () => {
    const a = createClsHead({ classes: ['x'], featureChannels: CHANNELS, name: 'clsA' });
    const b = createClsHead({ classes: ['x', 'y'], featureChannels: CHANNELS, name: 'clsB' });
    expect(a.layersModel.layers.every((l) => l.name.startsWith('clsA_'))).toBe(true);
    const c5 = tf.input({ shape: [4, 4, CHANNELS.c5] });
    const sym = { c2: c5, c3: c5, c4: c5, c5 } as EncoderFeatures<tf.SymbolicTensor>;
    const joint = tf.model({ inputs: c5, outputs: [a.apply(sym), b.apply(sym)] });
    expect(joint.outputs.map((o) => o.shape)).toEqual([
      [null, 1],
      [null, 2],
    ]);
    a.dispose();
    b.dispose();
  });

  it('does not leak tensors in apply, loss and decode', () => {
    const head = createClsHead({ classes: CLASSES, featureChannels: CHANNELS, hidden: 8, dropout: 0.3 });
    const f = features(7, 2);
    const labels = tf.zeros([2, 14]) as tf.Tensor2D;
    tf.tidy(() => {
      head.apply(f, { training: true });
    });
    const before = tf.memory().numTensors;
    const logits = head.apply(f, { training: true });
    head.loss(labels, logits, tf.tensor1d([1, 0])).dispose();
    head.decode(logits);
    logits.dispose();
    tf.tidy(() => {
      head.loss(labels, head.apply(f));
    });
    // the mask tensor1d above was created outside a tidy: it is the only extra tensor
    expect(tf.memory().numTensors).toBe(before + 1);
    disposeFeatures(f);
    labels.dispose();
    head.dispose();
  });
});

describe('createClsHead: registry and weights', () => {
  it('round-trips its config through the registry', () => {
    const head = createClsHead({
      classes: CLASSES,
      featureChannels: CHANNELS,
      hidden: 6,
      dropout: 0.2,
      posWeights: CLASSES.map(() => 2),
      seed: 8,
    });
    const spec = serializeBlock(head);
    expect(spec.className).toBe(CLS_HEAD_CLASS_NAME);
    const again = deserializeBlock<ClsHead>(JSON.parse(JSON.stringify(spec)));
    expect(again.config).toEqual(head.config);
    expect(again.countParams()).toBe(head.countParams());
    head.dispose();
    again.dispose();
  });

  it('is deterministic per seed and saves and loads its weights (file and bytes) with identical outputs', async () => {
    const f = features(9, 2);
    const create = (seed: number) => createClsHead({ classes: CLASSES, featureChannels: CHANNELS, hidden: 6, seed });
    const facts = await blockContract(create, f, join(dir, 'cls.safetensors'), { roundTripSeed: 9 });
    expect(facts).toEqual(blockContractHolds(CLS_HEAD_CLASS_NAME));
    disposeFeatures(f);
  });
});
