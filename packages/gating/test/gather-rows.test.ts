import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '@multichexnet/core';
import { disposeFeatures, randomFeatures } from '@multichexnet/core/testing';
import { gatherRows } from '../src/index';

// On wasm, where the trainer runs, tfjs's own gradient of gather is missing a kernel (UnsortedSegmentSum); cpu is
// the reference.
describe.each(['cpu', 'wasm'] as const)('gatherRows on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it('back-propagates to the chosen rows, repeated rows summed', () => {
    expect(tf.getBackend()).toBe(backend);
    const f = randomFeatures(3, 64, 12);
    const w = tf.randomNormal([2, 2, 12], 0, 1, 'float32', 5);
    const grad = tf.grad(
      (c5: tf.Tensor) => tf.sum(tf.mul(gatherRows({ ...f, c5: c5 as tf.Tensor4D }, [2, 0, 2]).c5, w)) as tf.Scalar,
    )(f.c5);
    const g = grad.arraySync() as number[][][][];
    const wv = w.arraySync() as number[][][];
    const twice = wv.map((r) => r.map((c) => c.map((v) => 2 * v)));
    expect(g[1]!.flat(2).every((v) => v === 0)).toBe(true);
    expect(g[0]!.flat(2)).toEqual(wv.flat(2).map((v) => Math.fround(v)));
    g[2]!.flat(2).forEach((v, i) => expect(v).toBeCloseTo(twice.flat(2)[i]!, 5));
    tf.dispose([grad, w]);
    disposeFeatures(f);
  });
});
