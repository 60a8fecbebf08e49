import { describe, expect, it } from 'vitest';
import { DataError, createRng, tf } from '@multichexnet/core';
import { createEncoderCache, createGate, createGateHead, gatherRows, type EncoderCache } from '../src/index';
import { SMALL_FEATURE_CHANNELS as CHANNELS, disposeFeatures, randomFeatures } from '@multichexnet/core/testing';
import { countingEncoder } from './helpers';

function images(batch: number, seed: number): tf.Tensor4D {
  const rng = createRng(seed);
  return tf.tensor4d(
    Float32Array.from({ length: batch * 64 * 64 }, () => rng.normal()),
    [batch, 64, 64, 1],
  );
}

/** Runs `body` on a counting encoder, its cache and `batch` seeded images; frees the images and the encoder after. */
function withCache(
  batch: number,
  seed: number,
  body: (cache: EncoderCache, x: tf.Tensor4D, enc: ReturnType<typeof countingEncoder>) => void,
): void {
  const enc = countingEncoder();
  const x = images(batch, seed);
  try {
    body(createEncoderCache(enc), x, enc);
  } finally {
    x.dispose();
    enc.model.dispose();
  }
}

describe('EncoderCache', () => {
  it('runs the encoder once per batch for the gate and the heads', () => {
    const enc = countingEncoder();
    const cache = createEncoderCache(enc);
    const gate = createGate({ kind: 'binary-head', head: { featureChannels: CHANNELS, seed: 1 }, threshold: 0 });
    const head = createGateHead({ featureChannels: CHANNELS, seed: 2, name: 'det_standin' });
    const x = images(4, 1);
    const decisions = gate.decide(cache.features(x));
    const positives = decisions.flatMap((d, i) => (d.positive ? [i] : []));
    expect(positives).toEqual([0, 1, 2, 3]);
    const rows = cache.rows(positives);
    const out = head.apply(rows);
    expect(out.shape).toEqual([4, 1]);
    cache.features(x);
    expect(enc.calls).toBe(1);
    expect(cache.passes).toBe(1);
    // A new batch is a new pass; the same batch in training mode is too.
    const y = images(2, 2);
    cache.features(y);
    cache.features(y, { training: true });
    expect(enc.calls).toBe(3);
    tf.dispose([x, y, out]);
    disposeFeatures(rows);
    cache.clear();
    gate.dispose();
    head.dispose();
    enc.model.dispose();
  });

  it('recomputes an entry that an enclosing scope freed', () => {
    withCache(2, 3, (cache, x, enc) => {
      tf.tidy(() => {
        cache.features(x);
      });
      expect(() => cache.rows([0])).toThrow(DataError);
      const f = cache.features(x);
      expect(f.c5.isDisposed).toBe(false);
      expect(enc.calls).toBe(2);
      cache.clear();
      expect(f.c5.isDisposed).toBe(true);
    });
  });

  it('leaves no tensor behind after clear', () => {
    withCache(3, 4, (cache, x) => {
      cache.features(x);
      const before = tf.memory().numTensors;
      const f = cache.features(x);
      const r = cache.rows([2]);
      disposeFeatures(r);
      expect(tf.memory().numTensors).toBe(before);
      cache.clear();
      expect(f.c2.isDisposed && f.c3.isDisposed && f.c4.isDisposed && f.c5.isDisposed).toBe(true);
    });
  });
});

describe('gatherRows', () => {
  it('picks rows of every level in the given order', () => {
    const f = randomFeatures(4, 64, 7);
    const g = gatherRows(f, [3, 1]);
    for (const level of ['c2', 'c3', 'c4', 'c5'] as const) {
      const src = f[level].arraySync();
      expect(g[level].shape).toEqual([2, ...f[level].shape.slice(1)]);
      expect(g[level].arraySync()).toEqual([src[3], src[1]]);
    }
    disposeFeatures(g);
    disposeFeatures(f);
  });

  it('passes the gradient back to the chosen rows only', () => {
    const f = randomFeatures(3, 64, 8);
    const grad = tf.grad(
      (c5: tf.Tensor) => tf.sum(gatherRows({ ...f, c5: c5 as tf.Tensor4D }, [2, 2]).c5) as tf.Scalar,
    )(f.c5);
    const g = grad.arraySync() as number[][][][];
    expect(g[0]!.flat(2).every((v) => v === 0)).toBe(true);
    expect(g[1]!.flat(2).every((v) => v === 0)).toBe(true);
    // Row 2 taken twice: gradient 2 everywhere.
    expect(g[2]!.flat(2).every((v) => v === 2)).toBe(true);
    grad.dispose();
    disposeFeatures(f);
  });

  it('gives zero-row features for no indices, and refuses out-of-range rows', () => {
    const f = randomFeatures(2, 64, 9);
    const before = tf.memory().numTensors;
    const g = gatherRows(f, []);
    expect(g.c5.shape[0]).toBe(0);
    disposeFeatures(g);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => gatherRows(f, [2])).toThrow(/outside the batch/);
    expect(() => gatherRows(f, [0.5])).toThrow(DataError);
    disposeFeatures(f);
  });
});
