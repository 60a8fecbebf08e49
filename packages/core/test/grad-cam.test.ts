import { beforeAll, describe, expect, it } from 'vitest';
import { DataError, createRng, gradCam, gradCamOfBlock, initBackend, tf, type EncoderFeatures } from '../src/index';

beforeAll(async () => {
  await initBackend('wasm');
});

const seeded = (seed: number, shape: number[], relu = false): tf.Tensor => {
  const rng = createRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => (relu ? Math.max(0, rng.normal()) : rng.normal())),
    shape,
  );
};

/** Global average pooling + dense [K, C]: the CheXCls shape, written with plain ops. */
const poolDense = (w: tf.Tensor2D, b: tf.Tensor1D) => (a: tf.Tensor4D) => tf.add(tf.matMul(tf.mean(a, [1, 2]), w), b);

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

describe('gradCam', () => {
  it('gives [B, h, w] maps that equal the class activation map / (h w) for pooling + a linear layer', () => {
    const a = seeded(1, [2, 3, 4, 5], true) as tf.Tensor4D;
    const w = seeded(2, [5, 3]) as tf.Tensor2D;
    const b = seeded(3, [3]) as tf.Tensor1D;
    for (let c = 0; c < 3; c++) {
      const signed = gradCam(poolDense(w, b), a, c, { relu: false });
      expect(signed.shape).toEqual([2, 3, 4]);
      // alpha_k = W[k, c] / (h w): the map is the CAM scaled by 1 / (h w)
      const cam = tf.tidy(() => tf.div(tf.sum(tf.mul(a, tf.reshape(tf.slice(w, [0, c], [5, 1]), [5])), 3), 12));
      expect(maxAbsDiff(signed, cam)).toBeLessThan(1e-6);
      const relu = gradCam(poolDense(w, b), a, c);
      expect(maxAbsDiff(relu, tf.relu(cam))).toBeLessThan(1e-6);
      expect(Math.min(...relu.dataSync())).toBeGreaterThanOrEqual(0);
      for (const t of [signed, cam, relu]) t.dispose();
    }
    for (const t of [a, w, b]) t.dispose();
  });

  it('sums every position of a dense output channel (a seg-like map)', () => {
    const a = seeded(4, [1, 4, 4, 3], true) as tf.Tensor4D;
    const kernel = seeded(5, [3, 3, 3, 2]) as tf.Tensor4D;
    const conv = (x: tf.Tensor4D) => tf.conv2d(x, kernel, 1, 'same');
    const map = gradCam(conv, a, 1, { relu: false });
    // finite differences of the summed channel-1 output along the Grad-CAM weights' definition
    const eps = 1e-2;
    const score = (x: tf.Tensor4D): number =>
      tf.tidy(() => tf.sum(tf.slice(conv(x), [0, 0, 0, 1], [-1, -1, -1, 1])).dataSync()[0]!);
    const grads = new Float32Array(4 * 4 * 3);
    const base = a.dataSync();
    for (let i = 0; i < grads.length; i++) {
      const up = base.slice();
      const down = base.slice();
      up[i]! += eps;
      down[i]! -= eps;
      const tu = tf.tensor4d(up, a.shape);
      const td = tf.tensor4d(down, a.shape);
      grads[i] = (score(tu) - score(td)) / (2 * eps);
      tu.dispose();
      td.dispose();
    }
    const alpha = [0, 1, 2].map((k) => grads.filter((_, i) => i % 3 === k).reduce((s, v) => s + v, 0) / 16);
    const expected = Array.from({ length: 16 }, (_, p) => alpha.reduce((s, al, k) => s + al * base[p * 3 + k]!, 0));
    const got = Array.from(map.dataSync());
    got.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 2));
    for (const t of [a, kernel, map]) t.dispose();
  });

  it('explains a block at one feature level (gradCamOfBlock) and leaves no tensor behind', () => {
    const f: EncoderFeatures = {
      c2: seeded(6, [1, 8, 8, 2], true) as tf.Tensor4D,
      c3: seeded(7, [1, 4, 4, 2], true) as tf.Tensor4D,
      c4: seeded(8, [1, 2, 2, 2], true) as tf.Tensor4D,
      c5: seeded(9, [1, 1, 1, 2], true) as tf.Tensor4D,
    };
    const w = seeded(10, [2, 4]) as tf.Tensor2D;
    const b = seeded(11, [4]) as tf.Tensor1D;
    const block = { apply: (x: EncoderFeatures) => poolDense(w, b)(x.c3) };
    const before = tf.memory().numTensors;
    const map = gradCamOfBlock(block, f, 'c3', 2);
    expect(map.shape).toEqual([1, 4, 4]);
    map.dispose();
    expect(tf.memory().numTensors).toBe(before);
    // a level the block does not read is refused by name, without leaking
    expect(() => gradCamOfBlock(block, f, 'c4', 2)).toThrow(/does not depend on the activation.*level it reads/);
    expect(tf.memory().numTensors).toBe(before);
    for (const t of [...Object.values(f), w, b]) t.dispose();
  });

  it('refuses a class index outside the output and a non-map activation by name, without leaking', () => {
    const a = seeded(12, [1, 2, 2, 3]) as tf.Tensor4D;
    const w = seeded(13, [3, 2]) as tf.Tensor2D;
    const b = seeded(14, [2]) as tf.Tensor1D;
    const before = tf.memory().numTensors;
    expect(() => gradCam(poolDense(w, b), a, 2)).toThrow(DataError);
    expect(() => gradCam(poolDense(w, b), a, 2)).toThrow(/classIndex.*\[0, 1\].*found 2/);
    expect(() => gradCam(poolDense(w, b), a, -1)).toThrow(DataError);
    const flat = tf.zeros([2, 3]);
    expect(() => gradCam(poolDense(w, b), flat as unknown as tf.Tensor4D, 0)).toThrow(
      /\[B, h, w, K\].*found shape \[2, 3\]/,
    );
    flat.dispose();
    expect(tf.memory().numTensors).toBe(before);
    for (const t of [a, w, b]) t.dispose();
  });

  it('gives NaN maps for NaN activations rather than a made-up map', () => {
    const a = tf.fill([1, 2, 2, 2], NaN) as tf.Tensor4D;
    const w = tf.ones([2, 1]) as tf.Tensor2D;
    const b = tf.zeros([1]) as tf.Tensor1D;
    const map = gradCam(poolDense(w, b), a, 0, { relu: false });
    expect(Array.from(map.dataSync()).every(Number.isNaN)).toBe(true);
    for (const t of [a, w, b, map]) t.dispose();
  });
});
