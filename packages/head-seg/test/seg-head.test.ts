import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DataError, initBackend, inputImageSpace, tf, type BinaryMask } from '@multichexnet/core';
import { createSegHead, encodeSegTargets, SEG_HEAD_CLASS_NAME, segDecoder, segLoss } from '../src/index';
import {
  SMALL_FEATURE_CHANNELS as CHANNELS,
  disposeFeatures,
  headLeak,
  maxGradError,
  randomFeatures,
  randomTensor,
  blockContract,
  blockContractHolds,
} from '@multichexnet/core/testing';

const small = { featureChannels: CHANNELS, decoderChannels: 8, seed: 3 };
let dir: string;

beforeAll(async () => {
  await initBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'chexseg-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sig = (v: number): number => 1 / (1 + Math.exp(-v));

/** The README's loss formula with plain loops, as an independent reference. */
function referenceLoss(
  target: tf.Tensor4D,
  logits: tf.Tensor4D,
  w: { bce: number; dice: number; s: number },
  mask?: number[],
): number {
  const [B, H, W] = logits.shape;
  const t = target.dataSync();
  const x = logits.dataSync();
  let total = 0;
  let count = 0;
  for (let b = 0; b < B; b++) {
    let n = 0;
    let bce = 0;
    let inter = 0;
    let sp = 0;
    let st = 0;
    for (let i = b * H * W; i < (b + 1) * H * W; i++) {
      if (Number.isNaN(t[i]!)) continue;
      n++;
      const p = sig(x[i]!);
      bce += -(t[i]! * Math.log(p) + (1 - t[i]!) * Math.log(1 - p));
      inter += p * t[i]!;
      sp += p;
      st += t[i]!;
    }
    if (n === 0 || (mask !== undefined && mask[b] === 0)) continue;
    count++;
    total += w.bce * (bce / n) + w.dice * (1 - (2 * inter + w.s) / (sp + st + w.s));
  }
  return total / Math.max(1, count);
}

describe('createSegHead', () => {
  it('maps {c2..c5} to full-resolution logits [B, 4 x H2, 4 x W2, 1], both upsampling modes', () => {
    for (const upsampling of ['bilinear', 'nearest'] as const) {
      const head = createSegHead({ ...small, upsampling });
      expect(head.className).toBe(SEG_HEAD_CLASS_NAME);
      expect(head.task).toBe('seg');
      const f = randomFeatures(2, 64, 1);
      const out = head.apply(f);
      expect(out.shape).toEqual([2, 64, 64, 1]);
      tf.dispose(out);
      disposeFeatures(f);
      head.dispose();
    }
  });

  it('builds symbolically and uses only add skips (no concatenate)', () => {
    const head = createSegHead(small);
    const sym = head.apply({
      c2: tf.input({ shape: [16, 16, CHANNELS.c2] }),
      c3: tf.input({ shape: [8, 8, CHANNELS.c3] }),
      c4: tf.input({ shape: [4, 4, CHANNELS.c4] }),
      c5: tf.input({ shape: [2, 2, CHANNELS.c5] }),
    });
    expect(sym.shape).toEqual([null, 64, 64, 1]);
    const kinds = new Set(head.layersModel.layers.map((l) => l.getClassName()));
    expect(kinds.has('Concatenate')).toBe(false);
    expect(kinds.has('Add')).toBe(true);
    head.dispose();
  });

  it('starts every pixel near the prior probability', () => {
    const head = createSegHead({ ...small, priorProbability: 0.2 });
    const f = randomFeatures(1, 64, 2);
    const out = head.apply(f);
    const v = out.dataSync();
    expect(Math.max(...Array.from(v, (z) => Math.abs(sig(z) - 0.2)))).toBeLessThan(0.05);
    tf.dispose(out);
    disposeFeatures(f);
    head.dispose();
  });

  it('rejects bad configs with a ConfigError naming the field', () => {
    expect(() => createSegHead({ featureChannels: CHANNELS, upsampling: 'cubic' as 'nearest' })).toThrow(
      /upsampling: must be one of "nearest", "bilinear"/,
    );
    expect(() => createSegHead({ featureChannels: CHANNELS, decoderChannels: 0 })).toThrow(/decoderChannels/);
    expect(() => createSegHead({ featureChannels: CHANNELS, loss: { diceSmooth: 0 } })).toThrow(/loss\.diceSmooth/);
    expect(() => createSegHead({ featureChannels: CHANNELS, extra: 1 } as never)).toThrow(ConfigError);
  });

  it('rejects features of the wrong width or of inconsistent sizes with a DataError', () => {
    const head = createSegHead(small);
    const f = randomFeatures(1, 64, 3, { channels: { ...CHANNELS, c3: 7 } });
    expect(() => head.apply(f)).toThrow(/features\.c3/);
    const g = randomFeatures(1, 64, 3);
    const bad = { ...g, c2: tf.zeros([1, 10, 16, CHANNELS.c2]) as tf.Tensor4D };
    expect(() => head.apply(bad)).toThrow(DataError);
    tf.dispose(bad.c2);
    disposeFeatures(f);
    disposeFeatures(g);
    head.dispose();
  });

  it('is deterministic per seed and round-trips its config (registry) and weights (.safetensors file, bytes)', async () => {
    const f = randomFeatures(1, 64, 5);
    const create = (seed: number) => createSegHead({ ...small, seed, upsampling: 'nearest' });
    const facts = await blockContract(create, f, join(dir, 'seg.safetensors'), { shift: 0.25 });
    expect(facts).toEqual(blockContractHolds('head-seg/SegHead'));
    disposeFeatures(f);
  });

  it('does not leak in apply, loss, gradient and decode', () => {
    const head = createSegHead(small);
    const f = randomFeatures(2, 64, 7);
    const target = tf.tidy(() => tf.cast(tf.greater(randomTensor([2, 64, 64, 1], 8), 1), 'float32')) as tf.Tensor4D;
    expect(headLeak(head, f, target)).toBe(0);
    tf.dispose(target);
    disposeFeatures(f);
    head.dispose();
  });
});

describe('segLoss', () => {
  const settings = { loss: { bceWeight: 0.7, diceWeight: 1.3, diceSmooth: 1 } };
  const w = { bce: 0.7, dice: 1.3, s: 1 };

  it('equals the formula computed with plain loops', () => {
    const target = tf.tidy(() => tf.cast(tf.greater(randomTensor([3, 8, 8, 1], 30), 0.3), 'float32')) as tf.Tensor4D;
    const logits = randomTensor([3, 8, 8, 1], 31, 2) as tf.Tensor4D;
    expect(segLoss(target, logits, settings).dataSync()[0]).toBeCloseTo(referenceLoss(target, logits, w), 4);
    const mask = tf.tensor1d([1, 0, 1]);
    expect(segLoss(target, logits, settings, mask).dataSync()[0]).toBeCloseTo(
      referenceLoss(target, logits, w, [1, 0, 1]),
      4,
    );
    tf.dispose([target, logits, mask]);
  });

  it('has the gradient of its finite differences', () => {
    const target = tf.tidy(() => tf.cast(tf.greater(randomTensor([2, 4, 4, 1], 32), 0), 'float32'));
    const logits = randomTensor([2, 4, 4, 1], 33);
    expect(maxGradError((x) => segLoss(target as tf.Tensor4D, x as tf.Tensor4D, settings), logits)).toBeLessThan(5e-3);
    const mask = tf.tensor1d([0, 1]);
    expect(maxGradError((x) => segLoss(target as tf.Tensor4D, x as tf.Tensor4D, settings, mask), logits)).toBeLessThan(
      5e-3,
    );
    tf.dispose([target, logits, mask]);
  });

  it('empty truth: a valid negative whose loss falls as the logits go down', () => {
    const target = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
    const hi = tf.fill([1, 4, 4, 1], 2) as tf.Tensor4D;
    const lo = tf.fill([1, 4, 4, 1], -6) as tf.Tensor4D;
    const lHi = segLoss(target, hi, settings).dataSync()[0]!;
    const lLo = segLoss(target, lo, settings).dataSync()[0]!;
    expect(lLo).toBeLessThan(lHi);
    expect(lLo).toBeCloseTo(referenceLoss(target, lo, w), 5);
    tf.dispose([target, hi, lo]);
  });

  it('all-masked batch and all-NaN targets: loss 0 with finite zero gradients', () => {
    const target = tf.concat([tf.fill([1, 4, 4, 1], Number.NaN), tf.ones([1, 4, 4, 1])]) as tf.Tensor4D;
    const logits = randomTensor([2, 4, 4, 1], 34) as tf.Tensor4D;
    const mask = tf.tensor1d([1, 0]);
    expect(segLoss(target, logits, settings, mask).dataSync()[0]).toBe(0);
    const g = tf.grad((x: tf.Tensor) => segLoss(target, x as tf.Tensor4D, settings, mask))(logits);
    expect(Array.from(g.dataSync()).every((v) => v === 0)).toBe(true);
    tf.dispose([target, logits, mask, g]);
  });

  it('ignores NaN pixels: same loss as the image without them', () => {
    const t = new Float32Array(16).fill(0);
    t[3] = 1;
    t[5] = 1;
    const withNaN = t.slice();
    withNaN[0] = Number.NaN;
    withNaN[15] = Number.NaN;
    const target = tf.tensor4d(withNaN, [1, 4, 4, 1]);
    const logits = randomTensor([1, 4, 4, 1], 35) as tf.Tensor4D;
    const loss = segLoss(target, logits, settings).dataSync()[0]!;
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeCloseTo(referenceLoss(target, logits, w), 5);
    const g = tf
      .grad((x: tf.Tensor) => segLoss(target, x as tf.Tensor4D, settings))(logits)
      .dataSync();
    expect(g[0]).toBe(0);
    expect(g[15]).toBe(0);
    expect(Array.from(g).every(Number.isFinite)).toBe(true);
    tf.dispose([target, logits]);
  });

  it('NaN logits give a NaN loss; shapes must agree', () => {
    const target = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
    const nan = tf.fill([1, 4, 4, 1], Number.NaN) as tf.Tensor4D;
    expect(segLoss(target, nan, settings).dataSync()[0]).toBeNaN();
    const other = tf.zeros([1, 8, 8, 1]) as tf.Tensor4D;
    expect(() => segLoss(target, other, settings)).toThrow(/seg target/);
    tf.dispose([target, nan, other]);
  });
});

describe('encodeSegTargets and decode', () => {
  it('stacks masks, fills unlabelled images with NaN, and checks sizes', () => {
    const m: BinaryMask = { width: 3, height: 2, data: Uint8Array.of(0, 255, 0, 1, 0, 0) };
    const t = encodeSegTargets([m, null]);
    expect(t.shape).toEqual([2, 2, 3, 1]);
    const v = Array.from(t.dataSync());
    expect(v.slice(0, 6)).toEqual([0, 1, 0, 1, 0, 0]);
    expect(v.slice(6).every(Number.isNaN)).toBe(true);
    t.dispose();
    const onlyNull = encodeSegTargets([null], { width: 2, height: 2 });
    expect(onlyNull.shape).toEqual([1, 2, 2, 1]);
    onlyNull.dispose();
    expect(() => encodeSegTargets([m, { width: 2, height: 2, data: new Uint8Array(4) }])).toThrow(/row 2/);
    expect(() => encodeSegTargets([null])).toThrow(DataError);
  });

  it('thresholds probabilities into BinaryMasks through the plain decoder', () => {
    const head = createSegHead(small);
    const logits = tf.tensor4d([-2, 0.1, 3, -0.1, 0, 0.5, 1, 2], [2, 2, 2, 1]);
    const [a, b] = head.decode(logits);
    expect(Array.from(a!.data)).toEqual([0, 1, 1, 0]);
    expect(Array.from(b!.data)).toEqual([0, 1, 1, 1]); // p = 0.5 exactly is not > 0.5
    const [c] = head.decode(logits, 0.8); // logit(0.8) = 1.386
    expect(Array.from(c!.data)).toEqual([0, 0, 1, 0]);
    expect(a!.width).toBe(2);
    expect(() => head.decode(logits, 1)).toThrow(DataError);
    // the same decoder on plain probabilities, as onnxruntime returns them
    const probs = { seg_mask: { data: tf.tidy(() => tf.sigmoid(logits).dataSync()), dims: logits.shape } };
    const image = inputImageSpace({ width: 2, height: 2 });
    const settings = segDecoder.settings({ threshold: 0.5 });
    expect([0, 1].map((index) => segDecoder.decode(probs, { index, settings, image }).mask)).toEqual(
      head.decode(logits),
    );
    expect(() =>
      segDecoder.decode({ seg_mask: { data: new Float32Array(3), dims: [1, 2, 2, 1] } }, { index: 0, settings, image }),
    ).toThrow(DataError);
    expect(
      segDecoder
        .decode(probs, { index: 0, settings: segDecoder.settings({ threshold: 0.5 }, { minArea: 3 }), image })
        .mask!.data.every((v) => v === 0),
    ).toBe(true);
    expect(() => segDecoder.settings({}, { minArea: -1 })).toThrow(/seg.minArea/);
    expect(() => segDecoder.settings({}, { area: 3 })).toThrow(/Unknown decode setting/);
    logits.dispose();
    head.dispose();
  });

  it('decode of a fresh head gives empty masks (prior 0.1 < 0.5)', () => {
    const head = createSegHead(small);
    const f = randomFeatures(1, 32, 9);
    const out = head.apply(f);
    const [m] = head.decode(out);
    expect(m!.data.every((v) => v === 0)).toBe(true);
    tf.dispose(out);
    disposeFeatures(f);
    head.dispose();
  });
});
