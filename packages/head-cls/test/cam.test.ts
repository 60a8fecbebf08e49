import { beforeAll, describe, expect, it } from 'vitest';
import {
  DataError,
  createRng,
  gradCam,
  initBackend,
  tf,
  type EncoderFeatures,
  type FeatureChannels,
} from '@multichexnet/core';
import { classActivationMaps, createClsHead, type ClsHead, type ClsHeadConfigInput } from '../src/index';

const CHANNELS: FeatureChannels = { c2: 6, c3: 8, c4: 10, c5: 12 };
const CLASSES = ['Mass', 'Nodule', 'Effusion'];

/** Seeded stand-in for encoder output (non-negative, as post-ReLU features) of a 128 x 96 input. */
function features(seed: number, batch: number): EncoderFeatures {
  const rng = createRng(seed);
  const make = (h: number, w: number, c: number) =>
    tf.tensor4d(
      Float32Array.from({ length: batch * h * w * c }, () => Math.max(0, rng.normal())),
      [batch, h, w, c],
    );
  return {
    c2: make(32, 24, CHANNELS.c2),
    c3: make(16, 12, CHANNELS.c3),
    c4: make(8, 6, CHANNELS.c4),
    c5: make(4, 3, CHANNELS.c5),
  };
}

const dispose = (f: EncoderFeatures): void => Object.values(f).forEach((t) => t.dispose());
const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

/** Runs `body` on a CheXCls of `config` (over CLASSES and CHANNELS) and seeded features, then disposes both. */
function withHead(
  config: Omit<ClsHeadConfigInput, 'classes' | 'featureChannels'>,
  featureSeed: number,
  batch: number,
  body: (head: ClsHead, f: EncoderFeatures) => void,
): void {
  const head = createClsHead({ classes: CLASSES, featureChannels: CHANNELS, ...config });
  const f = features(featureSeed, batch);
  try {
    body(head, f);
  } finally {
    dispose(f);
    head.dispose();
  }
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('class activation maps of CheXCls', () => {
  it('are [B, h, w, C] maps whose spatial mean plus the bias is the logit (exact for pooling + linear)', () => {
    for (const level of ['c5', 'c4'] as const) {
      withHead({ level, dropout: 0.3, seed: 4 }, 1, 2, (head, f) => {
        const cam = head.cam(f);
        expect(cam.shape).toEqual([2, f[level].shape[1], f[level].shape[2], 3]);
        const logits = head.apply(f);
        const bias = head.layersModel.getLayer('cls_logits').getWeights()[1]!;
        const fromCam = tf.tidy(() => tf.add(tf.mean(cam, [1, 2]), bias));
        expect(maxAbsDiff(fromCam, logits)).toBeLessThan(1e-5);
        for (const t of [cam, logits, fromCam]) t.dispose();
      });
    }
  });

  it('equal Grad-CAM at the pooled level times h w (the identity for a linear head)', () => {
    withHead({ seed: 5 }, 2, 3, (head, f) => {
      const cam = classActivationMaps(head, f);
      const [, h, w] = cam.shape;
      for (let c = 0; c < CLASSES.length; c++) {
        const signed = gradCam((c5) => head.apply({ ...f, c5 }), f.c5, c, { relu: false });
        const relu = gradCam((c5) => head.apply({ ...f, c5 }), f.c5, c);
        const camC = tf.tidy(() => tf.squeeze(tf.slice(cam, [0, 0, 0, c], [-1, -1, -1, 1]), [3]));
        const scaled = tf.tidy(() => tf.mul(signed, h * w));
        const scaledRelu = tf.tidy(() => tf.mul(relu, h * w));
        const camRelu = tf.relu(camC);
        expect(maxAbsDiff(scaled, camC)).toBeLessThan(1e-4);
        expect(maxAbsDiff(scaledRelu, camRelu)).toBeLessThan(1e-4);
        for (const t of [signed, relu, camC, scaled, scaledRelu, camRelu]) t.dispose();
      }
      cam.dispose();
    });
  });

  it('give the same values through the graph layer (what the ONNX export writes) as eagerly', () => {
    const head = createClsHead({ classes: CLASSES, featureChannels: CHANNELS, seed: 6 });
    const inputs = {
      c2: tf.input({ shape: [null, null, 6] }),
      c3: tf.input({ shape: [null, null, 8] }),
      c4: tf.input({ shape: [null, null, 10] }),
      c5: tf.input({ shape: [null, null, 12] }),
    };
    const model = tf.model({ inputs: inputs.c5, outputs: head.cam(inputs) });
    const f = features(3, 2);
    const graph = model.predict(f.c5) as tf.Tensor;
    const eager = head.cam(f);
    expect(graph.shape).toEqual(eager.shape);
    expect(maxAbsDiff(graph, eager)).toBeLessThan(1e-5);
    // the layer holds a copy of the kernel and no bias: 12 x 3 weights
    expect(model.countParams()).toBe(12 * 3);
    for (const t of [graph, eager]) t.dispose();
    dispose(f);
    model.dispose();
    head.dispose();
  });

  it('leave no tensor behind', () => {
    withHead({ seed: 7 }, 4, 1, (head, f) => {
      head.cam(f).dispose();
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) head.cam(f).dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  });

  it('are refused by name for a head with a hidden layer, and for features without its level', () => {
    withHead({ hidden: 4, seed: 8, name: 'diag' }, 5, 1, (head, f) => {
      expect(() => head.cam(f)).toThrow(DataError);
      expect(() => head.cam(f)).toThrow(/diag\.hidden.*expected 0.*found 4.*gradCam/);
      const plain = createClsHead({ classes: CLASSES, featureChannels: CHANNELS, seed: 9 });
      expect(() => plain.cam({ c2: f.c2 } as unknown as EncoderFeatures)).toThrow(/c5/);
      plain.dispose();
    });
  });

  it('carry NaN features through as NaN maps', () => {
    withHead({ seed: 10 }, 6, 1, (head, f) => {
      const nan = { ...f, c5: tf.fill([1, 4, 3, 12], NaN) as tf.Tensor4D };
      const cam = head.cam(nan);
      expect(Array.from(cam.dataSync()).every(Number.isNaN)).toBe(true);
      cam.dispose();
      nan.c5.dispose();
    });
  });
});
