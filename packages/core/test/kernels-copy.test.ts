// The copy kernels (Slice, SplitV, Concat, Cast) of the wasm backend against the cpu backend: values, gradients
// (Concat's gradient is SplitV, Slice's is a pad), dtypes, ranks, empty pieces and tensor leaks.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/index';
import { collapseSlice } from '../src/backend/kernels/slice-concat';
import { randomValues } from './helpers/numeric';

async function on(
  backend: 'cpu' | 'wasm',
  fn: () => tf.Tensor[],
): Promise<{ values: number[]; shape: number[]; dtype: string }[]> {
  await tf.setBackend(backend);
  return tf.tidy(fn).map((t) => {
    const r = { values: Array.from(t.dataSync() as ArrayLike<number>), shape: t.shape, dtype: t.dtype };
    t.dispose();
    return r;
  });
}

async function expectSame(fn: () => tf.Tensor[]): Promise<void> {
  const ref = await on('cpu', fn);
  const before = tf.memory().numTensors;
  const ids = tf.backend().numDataIds();
  const got = await on('wasm', fn);
  expect(tf.memory().numTensors).toBe(before);
  expect(tf.backend().numDataIds()).toBe(ids);
  expect(got.length).toBe(ref.length);
  got.forEach((g, i) => {
    expect(g.shape).toEqual(ref[i]!.shape);
    expect(g.dtype).toBe(ref[i]!.dtype);
    // Pure copies: bit-exact (NaN included, compared as NaN).
    expect(g.values.map((v) => (Number.isNaN(v) ? 'NaN' : v))).toEqual(
      ref[i]!.values.map((v) => (Number.isNaN(v) ? 'NaN' : v)),
    );
  });
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('collapseSlice', () => {
  it('merges axes taken whole into the axis before them', () => {
    expect(collapseSlice([2, 3, 4, 5], [0, 0, 0, 1], [2, 3, 4, 3])).toEqual({
      shape: [24, 5],
      begin: [0, 1],
      size: [24, 3],
    });
    expect(collapseSlice([2, 3, 4], [1, 0, 0], [1, 3, 4])).toEqual({ shape: [24], begin: [12], size: [12] });
    expect(collapseSlice([2, 3, 4], [0, 1, 0], [2, 1, 4])).toEqual({ shape: [2, 12], begin: [0, 4], size: [2, 4] });
  });
});

describe('Slice vs cpu', () => {
  const cases: { shape: number[]; begin: number[]; size: number[] }[] = [
    { shape: [3, 5, 4, 10], begin: [0, 0, 0, 3], size: [-1, -1, -1, 5] }, // channel slice of NHWC
    { shape: [3, 5, 4, 10], begin: [1, 2, 1, 0], size: [2, 3, 2, 10] }, // spatial crop
    { shape: [3, 5, 4, 10], begin: [1, 0, 0, 0], size: [1, -1, -1, -1] }, // one image: contiguous
    { shape: [2, 3, 4, 5, 6], begin: [0, 1, 0, 2, 1], size: [2, 2, 4, 3, 4] }, // rank 5
    { shape: [17], begin: [3], size: [9] },
    { shape: [4, 6], begin: [1, 5], size: [3, 1] },
    { shape: [4, 6], begin: [1, 2], size: [0, 3] }, // empty
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.shape)} begin ${JSON.stringify(c.begin)} size ${JSON.stringify(c.size)}`, async () => {
      const xv = randomValues(c.shape, c.shape.length);
      xv[2] = Number.NaN;
      await expectSame(() => {
        const x = tf.tensor(xv, c.shape);
        return [tf.slice(x, c.begin, c.size), tf.slice(tf.cast(x, 'int32'), c.begin, c.size)];
      });
    });
  }

  it('gradient of a slice (a pad) matches cpu', async () => {
    const xv = randomValues([2, 4, 4, 6], 3);
    await expectSame(() => [
      tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.slice(x, [0, 1, 0, 2], [2, 2, 4, 3]), 3)))(
        tf.tensor(xv, [2, 4, 4, 6]),
      ),
    ]);
  });

  it('hands bool tensors to the stock kernel', async () => {
    await expectSame(() => [
      tf.slice(tf.tensor([true, false, true, true, false, false], [2, 3], 'bool'), [0, 1], [2, 2]),
    ]);
  });
});

describe('SplitV and Concat vs cpu', () => {
  for (const axis of [3, 1, 0, -1]) {
    it(`concat and split along axis ${axis}, with gradients`, async () => {
      const a = randomValues([2, 3, 4, 5], 10);
      const b = randomValues([2, 3, 4, 5], 11);
      const c = randomValues([2, 3, 4, 5], 12);
      await expectSame(() => {
        const ta = tf.tensor(a, [2, 3, 4, 5]);
        const tb = tf.tensor(b, [2, 3, 4, 5]);
        const tc = tf.tensor(c, [2, 3, 4, 5]);
        const joined = tf.concat([ta, tb, tc], axis);
        const k = joined.shape[axis < 0 ? 4 + axis : axis]! / 3;
        const parts = tf.split(joined, [k, 2 * k - 1, 1], axis);
        const grads = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
          tf.sum(tf.mul(tf.concat([x, y], axis), tf.onesLike(tf.concat([x, y], axis)).mul(2))),
        )([ta, tb]);
        return [joined, ...parts, ...grads];
      });
    });
  }

  it('concatenates DenseNet style (growing channel counts) and int32', async () => {
    const base = randomValues([2, 4, 4, 7], 20);
    await expectSame(() => {
      let x = tf.tensor(base, [2, 4, 4, 7]);
      for (let i = 0; i < 4; i++) x = tf.concat([x, tf.mul(tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, 3]), i + 1)], -1);
      return [x, tf.concat([tf.tensor([1, 2], [2], 'int32'), tf.tensor([3], [1], 'int32')])];
    });
  });

  it('skips empty inputs', async () => {
    await expectSame(() => [tf.concat([tf.zeros([2, 0]), tf.ones([2, 3]), tf.zeros([2, 0])], 1)]);
  });
});

describe('Cast', () => {
  it('shares the buffer for a same-dtype cast and converts otherwise', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor([1.5, -2.25, 3]);
    const ids = tf.backend().numDataIds();
    const y = tf.cast(x, 'float32');
    expect(tf.backend().numDataIds()).toBe(ids);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1.5, -2.25, 3]);
    y.dispose();
    await expectSame(() => [
      tf.cast(tf.tensor([1.7, -2.2, 0]), 'int32'),
      tf.cast(tf.tensor([1.7, 0, -3, Number.NaN]), 'bool'),
      tf.cast(tf.tensor([1, 0], [2], 'bool'), 'float32'),
    ]);
  });
});
